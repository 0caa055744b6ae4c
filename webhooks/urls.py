from django.urls import path

from . import chat_views, views

urlpatterns = [
    path("integrations/slack/command/", chat_views.slack_command, name="slack-command"),
    path("events/<slug:slug>/webhooks/add/", views.add_webhook, name="webhook-add"),
    path("webhooks/<int:pk>/toggle/", views.toggle_webhook, name="webhook-toggle"),
    path("webhooks/<int:pk>/deliveries/", views.deliveries, name="webhook-deliveries"),
    # Removals last: the authorization matrix walks the URLs in this order.
    path("webhooks/<int:pk>/delete/", views.delete_webhook, name="webhook-delete"),
    path("events/<slug:slug>/chat-users/add/", views.add_chat_user, name="chat-user-add"),
    path("chat-users/<int:pk>/delete/", views.delete_chat_user, name="chat-user-delete"),
]
