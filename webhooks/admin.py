from django.contrib import admin

from .models import ChatIdentity, Delivery, Webhook


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    list_display = ["url", "event", "format", "active", "failing_since", "created_at"]
    list_filter = ["active", "format"]
    exclude = ["secret"]  # shown once to its creator, never again


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "uuid",
        "webhook",
        "event_name",
        "state",
        "status_code",
        "attempts",
        "created_at",
    ]
    list_filter = ["state", "event_name"]
    readonly_fields = [f.name for f in Delivery._meta.fields]


@admin.register(ChatIdentity)
class ChatIdentityAdmin(admin.ModelAdmin):
    list_display = ["team_id", "chat_user_id", "user", "event", "created_at"]
    list_filter = ["event"]
