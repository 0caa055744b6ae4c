"""Outgoing webhooks of an event, their deliveries, and chat users mapped to Tally users."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class EventName(models.TextChoices):
    """What a webhook can be told about."""

    ENTRY_CREATED = "entry.created", "An entry was logged"
    ENTRY_CHANGED = "entry.changed", "An entry was edited"
    ANOMALY_OPENED = "anomaly.opened", "An anomaly opened"
    ANOMALY_CLOSED = "anomaly.closed", "An anomaly closed"
    ACTION_DUE = "action.due", "An action falls due today"
    ACTION_OVERDUE = "action.overdue", "An action is overdue"
    RETRO_FINALIZED = "retro.finalized", "The retro was finalized"
    REPORT_READY = "report.ready", "A report is ready"


# Sent once when a webhook is created, so its deliveries list shows at once whether the
# receiver answers (and does not redirect).
PING = "ping"


class Webhook(models.Model):
    """A URL that hears about some of an event's happenings, signed with its own secret."""

    class Format(models.TextChoices):
        JSON = "json", "JSON"
        SLACK = "slack", "Slack / Mattermost message"

    event = models.ForeignKey("retro.Event", on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=2000)
    format = models.CharField(max_length=8, choices=Format.choices, default=Format.JSON)
    events = models.JSONField(default=list)
    secret = models.CharField(max_length=80)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # The first failure since the last success; a webhook failing for a day is disabled.
    failing_since = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["event", "active"])]

    def __str__(self) -> str:
        return f"{self.url} ({self.format})"


class Delivery(models.Model):
    """One announcement to one webhook: its body is signed and sent as is on every attempt."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    uuid = models.UUIDField(default=uuid.uuid4, unique=True)
    event_name = models.CharField(max_length=32)
    # What was announced, e.g. "entry.changed:<id>:v3": a repeated announcement adds nothing.
    key = models.CharField(max_length=200)
    body = models.BinaryField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(fields=["webhook", "key"], name="one_delivery_per_key"),
        ]
        indexes = [models.Index(fields=["state", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.event_name} to webhook {self.webhook_id} ({self.state})"


class ChatIdentity(models.Model):
    """A chat user (Slack workspace + user id) who logs entries of an event as a Tally user."""

    event = models.ForeignKey(
        "retro.Event", on_delete=models.CASCADE, related_name="chat_identities"
    )
    team_id = models.CharField(max_length=40)
    chat_user_id = models.CharField(max_length=40)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_identities"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "chat identities"
        constraints = [
            models.UniqueConstraint(
                fields=["event", "team_id", "chat_user_id"], name="one_chat_identity_per_event"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.team_id}/{self.chat_user_id} is {self.user} on {self.event}"
