"""Mail about webhooks: a disabled webhook's leads are told why, in the event's zone and UTC."""

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from retro import notifications
from retro.models import Membership, Role

from .models import Webhook


def tell_leads_webhook_disabled(webhook_id: int) -> int:
    """Email each lead of the webhook's event who wants this kind of mail; returns mails sent."""
    webhook = Webhook.objects.select_related("event").filter(pk=webhook_id).first()
    if webhook is None:
        return 0
    event = webhook.event
    leads = [
        m.user
        for m in Membership.objects.filter(event=event, role=Role.LEAD).select_related("user")
        if notifications.wants_mail(m.user, notifications.Kind.WEBHOOK_DISABLED)
    ]
    context = {
        "webhook": webhook,
        "event": event,
        "base_url": settings.TALLY_BASE_URL,
        "settings_url": settings.TALLY_BASE_URL
        + reverse("event-settings", kwargs={"slug": event.slug}),
    }
    for lead in leads:
        send_mail(
            f"[Tally] Webhook of {event.name} disabled after failing",
            render_to_string("webhooks/disabled_email.txt", {**context, "lead": lead}),
            None,
            [lead.email],
        )
    return len(leads)
