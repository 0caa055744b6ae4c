from django.urls import path

from . import notification_views

urlpatterns = [
    path(
        "account/notifications/",
        notification_views.notification_settings,
        name="notification-settings",
    ),
    path(
        "api/v1/me/notifications/",
        notification_views.MyNotificationsApi.as_view(),
        name="api-my-notifications",
    ),
]
