"""The webhooks and chat users section of an event's settings page (retro's template)."""

from django import template

from .. import selectors
from ..models import EventName, Webhook

register = template.Library()


@register.inclusion_tag("webhooks/_settings_section.html", takes_context=True)
def webhooks_section(context, event):
    return {
        "event": event,
        "webhooks": selectors.webhooks_of(event),
        "identities": selectors.chat_identities_of(event),
        "event_names": EventName.choices,
        "formats": Webhook.Format.choices,
        "memberships": event.memberships.select_related("user").order_by("user__username"),
        "csrf_token": context.get("csrf_token"),
    }
