"""Reads of webhooks, each behind the event's lead gate (retro.selectors.event_for_user)."""

from django.http import Http404

from retro import selectors as retro_selectors
from retro.models import Event, Role

from .models import ChatIdentity, Webhook


def webhooks_of(event: Event):
    return Webhook.objects.filter(event=event).select_related("created_by")


def webhook_for_user(user, webhook_id: int) -> Webhook:
    """The webhook if the user leads its event: 404 for outsiders, 403 for other members."""
    webhook = Webhook.objects.select_related("event").filter(pk=webhook_id).first()
    if webhook is None:
        raise Http404("No such webhook.")
    retro_selectors.event_for_user(user, webhook.event.slug, Role.LEAD)
    return webhook


def chat_identities_of(event: Event):
    return ChatIdentity.objects.filter(event=event).select_related("user").order_by("team_id")


def chat_identity_for_user(user, identity_id: int) -> ChatIdentity:
    """A chat mapping if the user leads its event (404 / 403 otherwise)."""
    identity = ChatIdentity.objects.select_related("event").filter(pk=identity_id).first()
    if identity is None:
        raise Http404("No such chat user.")
    retro_selectors.event_for_user(user, identity.event.slug, Role.LEAD)
    return identity
