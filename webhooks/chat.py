"""Log from chat: Slack's slash command `/tally learning kn1-asl: audio drifting 2 s`.

A request is trusted only with a valid Slack v0 signature made within the last 5 minutes;
the chat user must be mapped (by a lead) to a Tally user who may log entries on the event;
the entry is logged through retro.services.log_entry like every other entry.
"""

import hashlib
import hmac
import re
import time
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from retro import audit, selectors, services
from retro.models import Entry, Event, Feed, Membership, Role

from .models import ChatIdentity

MAX_AGE = 5 * 60
USAGE = (
    "Usage: `/tally <win|learning|action> [feed]: <what happened>`, e.g. "
    "`/tally learning kn1-asl: audio drifting 2 s`. Name the event too when you log on "
    "several: `summit/kn1-asl`."
)
COMMAND = re.compile(
    r"^\s*(?P<kind>[a-z]+)\s*(?::\s*|\s+(?:(?P<feed>[\w./-]+)\s*:\s*)?)(?P<body>.*)$",
    re.IGNORECASE | re.DOTALL,
)


class BadSignature(Exception):
    """The request is not from Slack, or is too old to be trusted (a replay)."""


class ChatError(Exception):
    """A mistake the chat user can fix: shown to them as an ephemeral message."""


def slack_signature(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's v0 scheme: 'v0=' + hex HMAC-SHA256(secret, 'v0:<timestamp>:<raw body>')."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def verify(*, body: bytes, timestamp: str | None, signature: str | None, now=None) -> None:
    """Raise BadSignature unless the request is signed with our secret within 5 minutes."""
    secret = settings.TALLY_SLACK_SIGNING_SECRET
    if not secret:
        raise BadSignature("Slack commands are not set up (TALLY_SLACK_SIGNING_SECRET).")
    if not timestamp or not signature:
        raise BadSignature("The Slack signature headers are missing.")
    try:
        age = abs((now or time.time()) - int(timestamp))
    except ValueError:
        raise BadSignature("X-Slack-Request-Timestamp is not a number.") from None
    if age > MAX_AGE:
        raise BadSignature("The request is more than 5 minutes old.")
    if not hmac.compare_digest(slack_signature(secret, timestamp, body), signature):
        raise BadSignature("The Slack signature does not match.")


@dataclass(frozen=True)
class Command:
    kind: str
    feed: str  # "", "kn1-asl" or "summit/kn1-asl"
    body: str


def parse(text: str) -> Command:
    """The kind, optional feed and body of the command's text; ChatError with usage if not."""
    match = COMMAND.match(text or "")
    if match is None or match["kind"].lower() == "help":
        raise ChatError(USAGE)
    kind = match["kind"].lower()
    if kind not in Entry.Kind.values:
        raise ChatError(f"Unknown kind {kind!r}: use win, learning or action. {USAGE}")
    body = match["body"].strip()
    if not body:
        raise ChatError(f"Say what happened after the kind. {USAGE}")
    return Command(kind=kind, feed=(match["feed"] or "").lower(), body=body)


def _mapped_events(team_id: str, chat_user_id: str) -> list[ChatIdentity]:
    """The mappings of this chat user whose Tally user may log entries on the event."""
    identities = ChatIdentity.objects.filter(team_id=team_id, chat_user_id=chat_user_id)
    return [
        i
        for i in identities.select_related("event", "user")
        if selectors.has_role(i.user, i.event, Role.OPERATOR)
    ]


def _choose(identities: list[ChatIdentity], feed_ref: str) -> tuple[ChatIdentity, Feed | None]:
    """The mapping (so the event) and the feed the command names."""
    slug_hint, _, feed_slug = feed_ref.rpartition("/")
    if slug_hint:
        identities = [i for i in identities if i.event.slug == slug_hint]
        if not identities:
            raise ChatError(f"You cannot log on an event {slug_hint!r} from chat.")
    if not feed_slug:
        live = [i for i in identities if i.event.state == Event.State.LIVE] or identities
        if len(live) > 1:
            names = ", ".join(i.event.slug for i in live)
            raise ChatError(f"Several events are live ({names}): name one, `event/feed: ...`.")
        return live[0], None
    found = [(i, i.event.feeds.filter(slug=feed_slug).first()) for i in identities]
    found = [(i, f) for i, f in found if f is not None]
    if not found:
        events = ", ".join(i.event.name for i in identities)
        raise ChatError(f"Unknown feed {feed_slug!r} in {events}.")
    live = [(i, f) for i, f in found if i.event.state == Event.State.LIVE] or found
    if len(live) > 1:
        slugs = ", ".join(i.event.slug for i, _ in live)
        raise ChatError(
            f"{feed_slug} is a feed of several events ({slugs}): write `event/{feed_slug}`."
        )
    return live[0]


def log_from_chat(*, team_id: str, chat_user_id: str, text: str, request_id: str) -> Entry:
    """Log the command's entry as the mapped Tally user (once per Slack request id)."""
    command = parse(text)
    identities = _mapped_events(team_id, chat_user_id)
    if not identities:
        raise ChatError(
            "Your chat user is not linked to a Tally user who may log entries: ask a lead "
            f"to map {team_id}/{chat_user_id} on the event's settings page."
        )
    identity, feed = _choose(identities, command.feed)
    client_id = uuid.uuid5(uuid.NAMESPACE_URL, f"slack:{team_id}:{request_id}")
    try:
        entry, _ = services.log_entry(
            event=identity.event,
            author=identity.user,
            kind=command.kind,
            body=command.body,
            client_id=client_id,
            feeds=[feed] if feed else [],
        )
    except ValidationError as exc:
        raise ChatError(" ".join(exc.messages)) from exc
    return entry


# --- Mappings (leads) -----------------------------------------------------------------------


@transaction.atomic
def map_chat_user(*, event: Event, actor, team_id: str, chat_user_id: str, user) -> ChatIdentity:
    """Let a chat user log entries of the event as `user` (a member of the event)."""
    errors = {}
    team_id, chat_user_id = (team_id or "").strip(), (chat_user_id or "").strip()
    if not re.fullmatch(r"[A-Z0-9]{2,40}", team_id):
        errors["team_id"] = "A Slack workspace id such as T0123ABCD."
    if not re.fullmatch(r"[A-Z0-9]{2,40}", chat_user_id):
        errors["chat_user_id"] = "A Slack user id such as U0123ABCD (from their profile)."
    if not Membership.objects.filter(event=event, user=user).exists():
        errors["user"] = f"{user.username} is not a member of {event.name}."
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            identity = ChatIdentity.objects.create(
                event=event, team_id=team_id, chat_user_id=chat_user_id, user=user, created_by=actor
            )
    except IntegrityError:
        raise ValidationError(
            {"chat_user_id": f"{team_id}/{chat_user_id} is already mapped on this event."}
        ) from None
    audit.record(
        actor=actor,
        action="chat_user.map",
        obj=identity,
        event=event,
        summary=f"Chat user {team_id}/{chat_user_id} logs as {user.username}",
    )
    return identity


@transaction.atomic
def unmap_chat_user(*, identity: ChatIdentity, actor) -> None:
    audit.record(
        actor=actor,
        action="chat_user.unmap",
        obj=identity,
        event=identity.event,
        summary=f"Chat user {identity.team_id}/{identity.chat_user_id} unmapped",
    )
    identity.delete()
