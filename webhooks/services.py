"""Writes for webhooks: manage them, hear announcements, fan out deliveries, send, retry.

Leads manage an event's webhooks through create/update/delete (API and settings page). The
retro, telemetry and reports apps announce what happens through retro.hooks.announce, which
`announce` below provides; the fan-out and every attempt run in Celery after the commit.
"""

import hashlib
import hmac
import logging
import secrets
import uuid
from datetime import timedelta

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from retro import audit
from retro.models import Entry, Event
from tally.celery import task_named

from . import addresses, payloads, sender
from .addresses import ForbiddenDestination
from .models import PING, Delivery, EventName, Webhook
from .notices import tell_leads_webhook_disabled
from .schedule import retry_delay

log = logging.getLogger(__name__)

FAN_OUT_TASK = "webhooks.tasks.fan_out"
DELIVER_TASK = "webhooks.tasks.deliver"
EDITABLE = ("url", "format", "events", "active")
STALLED_AFTER = timedelta(seconds=60)


def sign(body: bytes, secret: str) -> str:
    """The X-Tally-Signature header: sha256=<hex HMAC-SHA256 of the raw body>."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _check_fields(values: dict) -> None:
    errors = {}
    try:
        addresses.check(values["url"])
    except ForbiddenDestination as exc:
        errors["url"] = str(exc)
    if values["format"] not in Webhook.Format.values:
        errors["format"] = f"Unknown format {values['format']!r}; use json or slack."
    names = values["events"]
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        errors["events"] = 'List the events to send, e.g. ["entry.created"].'
    elif unknown := [n for n in names if n not in EventName.values]:
        errors["events"] = (
            f"Unknown event {', '.join(map(repr, unknown))}; use {', '.join(EventName.values)}."
        )
    if errors:
        raise ValidationError(errors)
    values["url"] = values["url"].strip()
    values["events"] = list(dict.fromkeys(names))


@transaction.atomic
def create_webhook(*, event: Event, actor, url: str, events: list, format: str = "json") -> Webhook:
    """Add a webhook with a new secret (shown to its creator once) and send it a ping."""
    values = {"url": url, "format": format or Webhook.Format.JSON, "events": events}
    _check_fields(values)
    webhook = Webhook.objects.create(
        event=event, created_by=actor, secret=secrets.token_urlsafe(32), **values
    )
    audit.record(
        actor=actor,
        action="webhook.create",
        obj=webhook,
        event=event,
        summary=f"Webhook to {addresses.split_url(webhook.url)[1]} added",
        changes={k: [None, v] for k, v in values.items()},
    )
    _queue_fan_out(PING, webhook.event, f"{PING}:{webhook.pk}", {"webhook": webhook.pk})
    return webhook


@transaction.atomic
def update_webhook(*, webhook: Webhook, actor, **changes) -> Webhook:
    """Change a webhook's URL, format, events or active flag; turning it on clears failures."""
    if unknown := set(changes) - set(EDITABLE):
        raise ValidationError({name: "This field cannot be changed." for name in sorted(unknown)})
    if "active" in changes and not isinstance(changes["active"], bool):
        raise ValidationError({"active": "true or false."})
    values = {name: changes.get(name, getattr(webhook, name)) for name in EDITABLE}
    _check_fields(values)
    diff = {k: [getattr(webhook, k), v] for k, v in values.items() if getattr(webhook, k) != v}
    if not diff:
        return webhook
    for name, value in values.items():
        setattr(webhook, name, value)
    if diff.get("active") == [False, True]:
        webhook.failing_since = webhook.disabled_at = None
        webhook.disabled_reason = ""
    webhook.save()
    audit.record(
        actor=actor,
        action="webhook.update",
        obj=webhook,
        event=webhook.event,
        summary="Webhook changed",
        changes=diff,
    )
    return webhook


@transaction.atomic
def delete_webhook(*, webhook: Webhook, actor) -> None:
    """Remove a webhook and its deliveries."""
    audit.record(
        actor=actor,
        action="webhook.delete",
        obj=webhook,
        event=webhook.event,
        summary=f"Webhook to {addresses.split_url(webhook.url)[1]} removed",
    )
    webhook.delete()


# --- Announcements --------------------------------------------------------------------------


def _event_id(obj) -> int:
    return obj.pk if isinstance(obj, Event) else obj.event_id


def announcement_key(name: str, obj, details: dict) -> str:
    """What makes two announcements the same (an entry's version, an action's due date)."""
    if name == EventName.ENTRY_CHANGED:
        return f"{name}:{obj.pk}:v{obj.version}"
    if name in (EventName.ACTION_DUE, EventName.ACTION_OVERDUE):
        return f"{name}:{obj.pk}:{obj.due.isoformat()}"
    if name == EventName.RETRO_FINALIZED:
        return f"{name}:{obj.pk}:{obj.retro_finalized_at.isoformat()}"
    return f"{name}:{obj.pk}"


def _listening(event_id: int, name: str) -> bool:
    # Compared in Python: JSON containment differs between PostgreSQL and SQLite.
    lists = Webhook.objects.filter(event_id=event_id, active=True).values_list("events", flat=True)
    return any(name in names for names in lists)


def announce(name: str, obj, **details) -> None:
    """retro.hooks.announce: when a webhook of the event listens, fan out after the commit."""
    event_id = _event_id(obj)
    if not _listening(event_id, name):
        return  # one indexed query: the writer's request pays nothing more
    _queue_fan_out(name, obj, announcement_key(name, obj, details), details)


def _queue_fan_out(name: str, obj, key: str, details: dict) -> None:
    kwargs = {"name": name, "model": obj._meta.label, "pk": str(obj.pk), "key": key}
    kwargs["details"] = details
    transaction.on_commit(lambda: task_named(FAN_OUT_TASK).delay(**kwargs))


def fan_out(*, name: str, model: str, pk: str, key: str, details: dict) -> int:
    """One delivery per listening webhook (once per key, however often this runs); returns
    how many were added, each queued for its first attempt."""
    obj = apps.get_model(model).objects.filter(pk=pk).first()
    if obj is None:
        return 0  # gone since (an anomaly merged into another): nothing to tell
    event = obj if isinstance(obj, Event) else obj.event
    webhooks = Webhook.objects.filter(event=event, active=True)
    if name == PING:
        webhooks = webhooks.filter(pk=details["webhook"])
    else:
        webhooks = [w for w in webhooks if name in w.events]
    if not webhooks:
        return 0
    subject = payloads.subject_of(name, obj, details)
    return sum(_add_delivery(w, name, key, event, subject) for w in webhooks)


def _add_delivery(webhook: Webhook, name: str, key: str, event: Event, subject) -> int:
    delivery_id = uuid.uuid4()
    if webhook.format == Webhook.Format.SLACK:
        body = payloads.as_slack(name, event, subject)
    else:
        body = payloads.as_json(name, event, subject, str(delivery_id))
    try:
        with transaction.atomic():
            delivery = Delivery.objects.create(
                webhook=webhook,
                uuid=delivery_id,
                event_name=name,
                key=key,
                body=body,
                next_attempt_at=timezone.now(),
            )
    except IntegrityError:
        return 0  # announced before: a redelivered fan-out adds nothing
    _queue_attempt(delivery.pk, 0)
    return 1


def _queue_attempt(delivery_id: int, attempts: int, countdown: float = 0) -> None:
    if countdown and settings.CELERY_TASK_ALWAYS_EAGER:
        # Embedded mode runs tasks inline and cannot wait: the retry stays pending (at its
        # next_attempt_at) for resend_stalled, instead of looping through the schedule now.
        return
    kwargs = {"delivery_id": delivery_id, "attempts": attempts}
    transaction.on_commit(
        lambda: task_named(DELIVER_TASK).apply_async(kwargs=kwargs, countdown=countdown)
    )


# --- Attempts -------------------------------------------------------------------------------


def _claim(delivery_id: int, attempts: int, now) -> bool:
    """Take attempt number attempts+1; a duplicate or stale task finds nothing to take."""
    timeout = settings.TALLY_WEBHOOK_TIMEOUT_SECONDS
    return bool(
        Delivery.objects.filter(
            pk=delivery_id, state=Delivery.State.PENDING, attempts=attempts
        ).update(
            attempts=attempts + 1,
            last_attempt_at=now,
            # If this worker dies mid-attempt, resend_stalled tries again after this.
            next_attempt_at=now + timedelta(seconds=2 * timeout) + STALLED_AFTER,
        )
    )


def headers_for(delivery: Delivery, secret: str) -> dict:
    body = bytes(delivery.body)
    return {
        "Content-Type": "application/json",
        "User-Agent": "Tally-Webhooks/1",
        "X-Tally-Event": delivery.event_name,
        "X-Tally-Delivery": str(delivery.uuid),
        "X-Tally-Signature": sign(body, secret),
    }


def attempt(*, delivery_id: int, attempts: int) -> Delivery | None:
    """Send a pending delivery once more: delivered, retried later, or failed for good."""
    now = timezone.now()
    if not _claim(delivery_id, attempts, now):
        return None
    delivery = Delivery.objects.select_related("webhook").get(pk=delivery_id)
    if delivery.first_attempt_at is None:
        Delivery.objects.filter(pk=delivery_id).update(first_attempt_at=now)
        delivery.first_attempt_at = now
    webhook = delivery.webhook
    if not webhook.active:
        _finish(delivery, None, "The webhook is disabled.", now, final=True)
        return delivery
    try:
        destination = addresses.check(webhook.url)
    except ForbiddenDestination as exc:
        _finish(delivery, None, str(exc), now, final=True)  # checked again: DNS rebinding
        return delivery
    answer = sender.post(
        destination,
        bytes(delivery.body),
        headers_for(delivery, webhook.secret),
        timeout=settings.TALLY_WEBHOOK_TIMEOUT_SECONDS,
    )
    if answer.ok:
        _delivered(delivery, answer.status, timezone.now())
    else:
        _finish(
            delivery, answer.status, answer.error, timezone.now(), final=not answer.worth_retrying
        )
    return delivery


def _delivered(delivery: Delivery, status: int, now) -> None:
    Delivery.objects.filter(pk=delivery.pk).update(
        state=Delivery.State.DELIVERED,
        status_code=status,
        delivered_at=now,
        next_attempt_at=None,
        last_error="",
    )
    Webhook.objects.filter(pk=delivery.webhook_id, failing_since__isnull=False).update(
        failing_since=None
    )


@transaction.atomic
def _finish(delivery: Delivery, status: int | None, error: str, now, *, final: bool) -> None:
    """Record a failed attempt; retry it later unless it is final or the window is over."""
    wait = None
    if not final:
        wait = retry_delay(
            attempts=delivery.attempts, first_attempt_at=delivery.first_attempt_at, now=now
        )
        if wait is None:
            error = f"{error} Gave up after {delivery.attempts} attempts."
    state = Delivery.State.PENDING if wait is not None else Delivery.State.FAILED
    Delivery.objects.filter(pk=delivery.pk).update(
        state=state,
        status_code=status,
        last_error=error[:500],
        next_attempt_at=now + timedelta(seconds=wait) if wait is not None else None,
    )
    if wait is not None:
        _queue_attempt(delivery.pk, delivery.attempts, countdown=wait)
    _note_failure(delivery.webhook, now, error)


def _note_failure(webhook: Webhook, now, error: str) -> None:
    """Remember when the failures began; a webhook failing for the whole window is disabled."""
    Webhook.objects.filter(pk=webhook.pk, failing_since__isnull=True).update(failing_since=now)
    webhook.refresh_from_db(fields=["failing_since", "active"])
    window = timedelta(seconds=settings.TALLY_WEBHOOK_GIVE_UP_SECONDS)
    if webhook.active and now - webhook.failing_since >= window:
        disable_webhook(webhook=webhook, now=now, last_error=error)


def disable_webhook(*, webhook: Webhook, now, last_error: str = "") -> bool:
    """Turn off a webhook that kept failing and tell the event's leads by email, once."""
    hours = settings.TALLY_WEBHOOK_GIVE_UP_SECONDS / 3600
    reason = f"Failing for {hours:g} h or more; last error: {last_error}"
    turned_off = Webhook.objects.filter(pk=webhook.pk, active=True).update(
        active=False, disabled_at=now, disabled_reason=reason[:300]
    )
    if not turned_off:
        return False  # another attempt disabled it first
    webhook.refresh_from_db()
    audit.record(
        actor=None,
        action="webhook.disable",
        obj=webhook,
        event=webhook.event,
        summary=f"Webhook disabled: {reason}"[:300],
    )
    webhook_id = webhook.pk
    transaction.on_commit(lambda: tell_leads_webhook_disabled(webhook_id))
    return True


def resend_stalled(*, now=None) -> int:
    """Queue again the pending deliveries whose attempt never reported back (a worker died,
    or the broker lost the delayed task)."""
    now = now or timezone.now()
    stalled = Delivery.objects.filter(
        state=Delivery.State.PENDING, next_attempt_at__lt=now - STALLED_AFTER
    ).values_list("pk", "attempts")[:1000]
    for pk, attempts in stalled:
        task_named(DELIVER_TASK).delay(delivery_id=pk, attempts=attempts)
    return len(stalled)


# --- Actions falling due --------------------------------------------------------------------

OVERDUE_FOR = timedelta(days=7)  # older overdue actions are not announced to a new webhook


def announce_actions(*, now=None) -> int:
    """Tell listening webhooks about open actions due today (action.due) and past their due
    date (action.overdue, for a week), each once per due date; returns deliveries added."""
    now = now or timezone.now()
    names = (EventName.ACTION_DUE, EventName.ACTION_OVERDUE)
    added = 0
    for event in _events_listening_for(names):
        today = timezone.localdate(now, timezone=event.tz)
        actions = Entry.objects.filter(
            event=event,
            kind=Entry.Kind.ACTION,
            status__in=[Entry.Status.OPEN, Entry.Status.IN_PROGRESS],
            deleted_at__isnull=True,
            merged_into__isnull=True,
            due__gte=today - OVERDUE_FOR,
            due__lte=today,
        ).select_related("event", "session", "author", "owner")
        for action in actions:
            name = EventName.ACTION_DUE if action.due == today else EventName.ACTION_OVERDUE
            key = announcement_key(name, action, {})
            with transaction.atomic():
                added += fan_out(name=name, model="retro.Entry", pk=action.pk, key=key, details={})
    return added


def _events_listening_for(names) -> list[Event]:
    ids = {
        event_id
        for event_id, events in Webhook.objects.filter(active=True).values_list(
            "event_id", "events"
        )
        if set(names) & set(events)
    }
    return list(Event.objects.filter(pk__in=ids))
