from django.urls import path

from . import api

urlpatterns = [
    path("events/<slug:slug>/webhooks/", api.EventWebhooksApi.as_view(), name="api-webhooks"),
    path("webhooks/<int:pk>/", api.WebhookDetailApi.as_view(), name="api-webhook"),
    path(
        "webhooks/<int:pk>/deliveries/",
        api.WebhookDeliveriesApi.as_view(),
        name="api-webhook-deliveries",
    ),
    path("events/<slug:slug>/chat-users/", api.EventChatUsersApi.as_view(), name="api-chat-users"),
    path("chat-users/<int:pk>/", api.ChatUserDetailApi.as_view(), name="api-chat-user"),
]
