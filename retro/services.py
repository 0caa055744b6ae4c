"""Writes for events, their signal path and members. Views, API and tasks all call these."""

import uuid
from datetime import date, datetime, timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import prefetch_related_objects
from django.utils import timezone

from tally.celery import task_named
from tally.errors import ClosedForWrites
from tally.markdown import render_markdown

from . import audit, hooks
from .models import (
    FEED_FIELDS,
    Entry,
    EntryRevision,
    Event,
    Feed,
    Membership,
    Role,
    Session,
    Site,
    Stage,
)
from .selectors import can_change_site, events_using_site

User = get_user_model()

FEED_EDITABLE = set(FEED_FIELDS)
_UNCHANGED = object()


@transaction.atomic
def update_feed(*, feed: Feed, actor, **changes) -> Feed:
    """Change a feed's fields (e.g. its source ids) after the same checks as the admin."""
    unknown = set(changes) - FEED_EDITABLE
    if unknown:
        raise ValidationError({name: "This field cannot be changed." for name in unknown})
    upstreams = changes.pop("derived_from", _UNCHANGED)
    before = {name: _plain(getattr(feed, name)) for name in changes}
    for name, value in changes.items():
        setattr(feed, name, value)
    feed.full_clean()
    feed.save()
    after = {name: _plain(getattr(feed, name)) for name in changes}
    diff = {k: [before[k], after[k]] for k in changes if before[k] != after[k]}
    if upstreams is not _UNCHANGED:
        old, new = _set_upstreams(feed, upstreams)
        if old != new:
            diff["derived_from"] = [old, new]
    if diff:
        audit.record(
            actor=actor,
            action="feed.update",
            obj=feed,
            event=feed.event,
            summary=f"Feed {feed.slug} changed",
            changes=diff,
        )
    return feed


def upstream_list(value) -> list[Feed]:
    """derived_from as a list of feeds: None or one feed are accepted for compatibility."""
    if value is None:
        return []
    if isinstance(value, Feed):
        return [value]
    return list(dict.fromkeys(value))


def _upstream_names(feeds) -> list[str] | str | None:
    """derived_from for an audit line: the upstream's name, a sorted list of names, or None."""
    names = sorted(str(f) for f in feeds)
    return names[0] if len(names) == 1 else names or None


def _set_upstreams(feed: Feed, upstreams) -> tuple:
    """Link a saved feed to its upstream feeds after the loop and event checks; returns the
    old and new links as audit values."""
    upstreams = upstream_list(upstreams)
    error = feed.upstream_error(upstreams)
    if error:
        raise ValidationError({"derived_from": error})
    old = _upstream_names(feed.derived_from.all())
    feed.derived_from.set(upstreams)
    return old, _upstream_names(upstreams)


def _plain(value):
    """A JSON-friendly form of a field value for the audit log."""
    if hasattr(value, "pk"):
        return str(value)
    return value


@transaction.atomic
def set_membership(*, event: Event, user, role: str, actor) -> Membership:
    """Give a user a role on an event (adding them as a member if needed)."""
    if role not in Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}."})
    membership, created = Membership.objects.get_or_create(
        event=event, user=user, defaults={"role": role}
    )
    old = None if created else membership.role
    if not created and membership.role != role:
        membership.role = role
        membership.save(update_fields=["role"])
    if created or old != role:
        audit.record(
            actor=actor,
            action="membership.set",
            obj=membership,
            event=event,
            summary=f"{user.username} is now {role}",
            changes={"role": [old, role]},
        )
    return membership


@transaction.atomic
def remove_membership(*, event: Event, user, actor) -> None:
    """Take a user off an event; a lead cannot remove the last lead."""
    membership = Membership.objects.filter(event=event, user=user).first()
    if membership is None:
        return
    if membership.role == Role.LEAD and event.memberships.filter(role=Role.LEAD).count() == 1:
        raise ValidationError({"user": "An event needs at least one lead."})
    audit.record(
        actor=actor,
        action="membership.remove",
        obj=membership,
        event=event,
        summary=f"{user.username} removed",
        changes={"role": [membership.role, None]},
    )
    membership.delete()


# --- Entries ---------------------------------------------------------------
# Every write of an entry goes through these functions: the board, the API, the retro
# meeting and the demo loader all call them, so the rules below are written once.

MAX_BODY = 20_000
# An entry's telemetry window (window_before + window_after around occurred_at) is at most
# this long; integrations freezes what it shows (integrations.tasks.snapshot_entry).
MAX_TELEMETRY_WINDOW = timedelta(hours=24)
TELEMETRY_WINDOW_FIELDS = {"created", "occurred_at", "feeds", "window_before", "window_after"}
FREEZE_TELEMETRY_TASK = "integrations.tasks.snapshot_entry"
OUTSIDE_EVENT_SLACK = timedelta(days=2)
ACTION_FIELDS = ("owner", "due", "status", "source_entry")
TRACKED_FIELDS = (
    "kind",
    "body",
    "occurred_at",
    "site",
    "session",
    "stage",
    "tags",
    "impact",
    "shareable",
    "window_before",
    "window_after",
    "owner",
    "due",
    "status",
    "source_entry",
    "feeds",
)


class StaleVersion(Exception):
    """A save based on an older version of the entry than the stored one."""

    def __init__(self, entry: Entry):
        super().__init__(
            f"This entry was changed by someone else (now version {entry.version}); "
            "reload it and apply your change again."
        )
        self.entry = entry


class RetroFinalized(ClosedForWrites):
    """The event's retro is finalized: entries are read-only except action status."""

    def __init__(self, event: Event):
        super().__init__(f"The retro of {event.name} is finalized; entries are read-only.")
        self.event = event


def _clean_body(body: str, errors: dict) -> str:
    body = (body or "").strip()
    if not body:
        errors["body"] = "Write something: the body is empty."
    elif len(body) > MAX_BODY:
        errors["body"] = f"The body is {len(body)} characters; the limit is {MAX_BODY}."
    elif "\x00" in body:
        errors["body"] = "The body contains a NUL character."
    return body


def _clean_tags(tags, errors: dict) -> list[str]:
    if tags is None:
        return []
    if isinstance(tags, str):
        tags = [t for t in (part.strip() for part in tags.split(",")) if t]
    if not isinstance(tags, list | tuple) or not all(isinstance(t, str) for t in tags):
        errors["tags"] = "Tags are a list of short words."
        return []
    cleaned = []
    for tag in tags:
        tag = tag.strip().lstrip("#").lower()
        if not tag:
            continue
        if len(tag) > 40 or "\x00" in tag:
            errors["tags"] = f"Tag {tag[:40]!r}… is too long (40 characters at most)."
        elif tag not in cleaned:
            cleaned.append(tag)
    if len(cleaned) > 20:
        errors["tags"] = "20 tags at most."
    return cleaned


def entry_window(event: Event) -> tuple[datetime, datetime]:
    """The times an entry of this event may carry: the event, and 2 days either side of it."""
    return event.start - OUTSIDE_EVENT_SLACK, event.end + OUTSIDE_EVENT_SLACK


def outside_window_message(event: Event, occurred: datetime, *, defaulted: bool = False):
    """Why `occurred` cannot be an entry's time (in the event's zone), or None when it can."""
    first, last = entry_window(event)
    if first <= occurred <= last:
        return None
    tz = event.tz
    rule = (
        f"entries fall within 2 days of the event, from {first.astimezone(tz):%a %d %b %Y %H:%M} "
        f"to {last.astimezone(tz):%a %d %b %Y %H:%M} {event.time_zone}"
    )
    if occurred > last:
        gap = f"{(occurred - event.end).days} days after {event.name} ended"
    else:
        gap = f"{(event.start - occurred).days} days before {event.name} starts"
    if defaulted:
        return f"No time was given, so now was used: that is {gap}. Give the time; {rule}."
    return f"{occurred.astimezone(tz):%a %d %b %Y %H:%M} is {gap}; {rule}."


def _check_entry(
    event: Event, values: dict, feeds, *, creating: bool, defaulted_time: bool = False
) -> None:
    """Validate an entry's fields against its event; raise ValidationError with every problem."""
    errors: dict[str, str] = {}
    values["body"] = _clean_body(values.get("body", ""), errors)
    values["tags"] = _clean_tags(values.get("tags"), errors)
    kind = values.get("kind")
    if kind not in Entry.Kind.values:
        errors["kind"] = f"Unknown kind {kind!r}; use win, learning or action."
    occurred = values.get("occurred_at")
    if occurred is None or occurred.tzinfo is None:
        errors["occurred_at"] = "A time with its zone is required."
    elif message := outside_window_message(event, occurred, defaulted=defaulted_time):
        errors["occurred_at"] = message
    session = values.get("session")
    if session is not None and session.event_id != event.pk:
        errors["session"] = "The session belongs to another event."
    foreign = [f.slug for f in feeds if f.event_id != event.pk]
    if foreign:
        errors["feeds"] = f"Feeds of another event: {', '.join(foreign)}."
    if values.get("stage") and values["stage"] not in Stage.values:
        errors["stage"] = f"Unknown stage {values['stage']!r}."
    if values.get("impact") and values["impact"] not in Entry.Impact.values:
        errors["impact"] = f"Unknown impact {values['impact']!r}."
    if values.get("impact") and kind != Entry.Kind.LEARNING:
        errors["impact"] = "Only learnings have an impact."
    _check_window(values, errors)
    _check_action_fields(event, values, errors, creating=creating)
    if errors:
        raise ValidationError(errors)


def _check_window(values: dict, errors: dict) -> None:
    """The one telemetry-window rule: whole seconds either side, 24 hours at most in all."""
    before, after = values.get("window_before", 300), values.get("window_after", 300)
    if not isinstance(before, int) or not isinstance(after, int) or before < 0 or after < 0:
        errors["window"] = "The window must end after it starts."
    elif before + after > MAX_TELEMETRY_WINDOW.total_seconds():
        errors["window"] = "A telemetry window covers at most 24 hours."


def _check_action_fields(event: Event, values: dict, errors: dict, *, creating: bool) -> None:
    if values.get("kind") != Entry.Kind.ACTION:
        given = [name for name in ACTION_FIELDS if values.get(name)]
        for name in given:
            errors[name] = "Only actions have an owner, due date, status or source learning."
        return
    status = values.get("status") or Entry.Status.OPEN
    if status not in Entry.Status.values:
        errors["status"] = f"Unknown status {status!r}."
    values["status"] = status
    owner = values.get("owner")
    if owner is not None and not Membership.objects.filter(event=event, user=owner).exists():
        errors["owner"] = f"{owner.username} is not a member of this event."
    due = values.get("due")
    if creating and due is not None and due < timezone.localdate(timezone=event.tz):
        errors["due"] = "The due date is in the past."
    source = values.get("source_entry")
    if source is not None and (source.event_id != event.pk or source.kind != Entry.Kind.LEARNING):
        errors["source_entry"] = "An action comes from a learning of the same event."


def _ensure_open(event: Event) -> None:
    if event.retro_finalized_at is not None:
        raise RetroFinalized(event)


def queue_telemetry_freeze(entry: Entry, fields: set[str], *, has_feeds: bool) -> None:
    """After commit, have the telemetry app freeze (or refreeze) the entry's window of its
    feeds' key metrics, when a change touched what the window shows. The task is queued by
    its registered name: retro sits below integrations and imports nothing of it."""
    if not fields & TELEMETRY_WINDOW_FIELDS or not (has_feeds or "feeds" in fields):
        return
    entry_id = str(entry.pk)
    transaction.on_commit(lambda: task_named(FREEZE_TELEMETRY_TASK).delay(entry_id=entry_id))


def _already_logged(event: Event, client_id) -> Entry | None:
    """The entry stored under this client id, if any; an id used in another event is refused."""
    existing = Entry.objects.filter(pk=client_id).first()
    if existing is not None and existing.event_id != event.pk:
        raise ValidationError({"id": "This id is already used by another entry."})
    return existing


def log_entry(
    *, event: Event, author, kind: str, body: str, client_id=None, feeds=(), **fields
) -> tuple[Entry, bool]:
    """Record an entry once, however often the client retries, even twice at the same
    moment: (entry, created)."""
    try:
        return _log_entry(
            event=event,
            author=author,
            kind=kind,
            body=body,
            client_id=client_id,
            feeds=feeds,
            **fields,
        )
    except IntegrityError:
        # The same id arrived at the same moment and its insert won. The transaction (or
        # savepoint) of ours was rolled back; return what the other request stored.
        if client_id is None or not (existing := _already_logged(event, client_id)):
            raise
        return existing, False


@transaction.atomic
def _log_entry(
    *,
    event: Event,
    author,
    kind: str,
    body: str,
    client_id: uuid.UUID | None = None,
    feeds=(),
    **fields,
) -> tuple[Entry, bool]:
    if client_id is not None and (existing := _already_logged(event, client_id)):
        return existing, False
    _ensure_open(event)
    feeds = list(feeds)
    occurred = fields.pop("occurred_at", None)
    values = {"kind": kind, "body": body, "occurred_at": occurred or timezone.now(), **fields}
    _check_entry(event, values, feeds, creating=True, defaulted_time=occurred is None)
    now = timezone.now()
    if values.get("stage", "") == "" and feeds:
        values["stage"] = feeds[0].stage
    entry = Entry(
        event=event,
        author=author,
        logged_at=now,
        updated_at=now,
        body_html=render_markdown(values["body"]),
        **values,
    )
    if client_id is not None:
        entry.pk = client_id
    # The related objects were checked against the event above; skip re-fetching them.
    entry.full_clean(
        exclude=["feeds", "author", "event", "site", "session", "owner", "source_entry"],
        validate_unique=False,
    )
    entry.save(force_insert=True)
    feeds = list(dict.fromkeys(feeds))
    if feeds:
        through = Entry.feeds.through
        through.objects.bulk_create([through(entry_id=entry.pk, feed_id=f.pk) for f in feeds])
    prefetch_related_objects([entry], "feeds")  # the API answer lists them without a query each
    queue_telemetry_freeze(entry, {"created"}, has_feeds=bool(feeds))
    hooks.announce("entry.created", entry)
    return entry, True


def _snapshot(entry: Entry) -> dict:
    data = {name: getattr(entry, name) for name in TRACKED_FIELDS if name != "feeds"}
    data["feeds"] = sorted(entry.feeds.values_list("slug", flat=True))
    return data


def _plain_value(value):
    if hasattr(value, "pk"):
        return str(value.pk) if not hasattr(value, "username") else value.username
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


@transaction.atomic
def edit_entry(*, entry: Entry, editor, version: int, feeds=None, **changes) -> Entry:
    """Change an entry; a save based on a stale version raises StaleVersion (HTTP 409)."""
    entry = Entry.objects.select_for_update().get(pk=entry.pk)
    if entry.version != version:
        raise StaleVersion(entry)
    only_status = set(changes) <= {"status"} and feeds is None
    if not only_status:
        _ensure_open(entry.event)
    unknown = set(changes) - set(TRACKED_FIELDS)
    if unknown:
        raise ValidationError({name: "This field cannot be changed." for name in unknown})
    before = _snapshot(entry)
    new_feeds = list(feeds) if feeds is not None else list(entry.feeds.all())
    values = {name: getattr(entry, name) for name in TRACKED_FIELDS if name != "feeds"}
    values.update(changes)
    _check_entry(entry.event, values, new_feeds, creating=False)
    for name in TRACKED_FIELDS:
        if name != "feeds":
            setattr(entry, name, values[name])
    entry.body_html = render_markdown(entry.body)
    if feeds is not None:
        entry.feeds.set(new_feeds)
    after = _snapshot(entry)
    diff = {
        k: [_plain_value(before[k]), _plain_value(after[k])] for k in after if before[k] != after[k]
    }
    if not diff:
        return entry
    if "due" in diff:
        entry.reminded_at = None  # a new due date deserves a new reminder
    entry.version += 1
    entry.updated_at = timezone.now()
    entry.save()
    EntryRevision.objects.create(
        entry=entry, version=entry.version, editor=editor, edited_at=entry.updated_at, changes=diff
    )
    audit.record(
        actor=editor,
        action="entry.update",
        obj=entry,
        event=entry.event,
        summary=f"{entry.get_kind_display()} edited",
        changes=diff,
    )
    queue_telemetry_freeze(entry, set(diff), has_feeds=bool(new_feeds))
    hooks.announce("entry.changed", entry, changes=diff)
    return entry


@transaction.atomic
def set_action_status(*, entry: Entry, status: str, actor) -> Entry:
    """Move an action to a status (allowed even after the retro is finalized)."""
    if entry.kind != Entry.Kind.ACTION:
        raise ValidationError({"status": "Only actions have a status."})
    if status not in Entry.Status.values:
        raise ValidationError(
            {"status": f"Unknown status {status!r}; use one of {', '.join(Entry.Status.values)}."}
        )
    return edit_entry(entry=entry, editor=actor, version=entry.version, status=status)


def delete_entry(*, entry: Entry, actor) -> Entry:
    """Soft-delete: the entry disappears from the board and can be restored."""
    return _set_deleted(entry, actor, deleted=True)


def restore_entry(*, entry: Entry, actor) -> Entry:
    """Undo a soft delete."""
    return _set_deleted(entry, actor, deleted=False)


@transaction.atomic
def _set_deleted(entry: Entry, actor, *, deleted: bool) -> Entry:
    """Flip the soft-delete flag, with a history line and an audit line; no-op if already so."""
    _ensure_open(entry.event)
    if (entry.deleted_at is not None) == deleted:
        return entry
    now = timezone.now()
    entry.deleted_at = now if deleted else None
    entry.deleted_by = actor if deleted else None
    entry.version += 1
    entry.updated_at = now
    entry.save(update_fields=["deleted_at", "deleted_by", "version", "updated_at"])
    EntryRevision.objects.create(
        entry=entry,
        version=entry.version,
        editor=actor,
        changes={"deleted": [not deleted, deleted]},
    )
    verb = "deleted" if deleted else "restored"
    audit.record(
        actor=actor,
        action=f"entry.{'delete' if deleted else 'restore'}",
        obj=entry,
        event=entry.event,
        summary=f"{entry.get_kind_display()} {verb}",
    )
    return entry


@transaction.atomic
def create_event(*, actor, **fields) -> Event:
    """Create an event; its creator becomes its first lead."""
    event = Event(**fields)
    event.full_clean()
    event.save()
    if actor is not None and actor.is_authenticated:
        set_membership(event=event, user=actor, role=Role.LEAD, actor=actor)
    audit.record(actor=actor, action="event.create", obj=event, event=event, summary=event.name)
    return event


# What an event holds for the record, by reverse relation: its entries (deleted ones too),
# and, from the apps above retro (named here, not imported), its runbook runs, telemetry,
# anomalies and reports. An event holding any of them is closed, never deleted.
EVENT_RECORD = (
    ("entries", "entries"),
    ("runbook runs", "runbook_runs"),
    ("telemetry batches", "ingest_batches"),
    ("anomalies", "anomalies"),
    ("reports", "reports"),
)


def event_record(event: Event) -> dict[str, int]:
    """{kind: count} of what deleting the event would erase from the record; empty for an
    event that holds nothing yet (one created by mistake)."""
    counts = {}
    for label, relation in EVENT_RECORD:
        related = getattr(event, relation, None)
        count = related.count() if related is not None else 0
        if count:
            counts[label] = count
    return counts


# --- The signal path: events, sites, sessions and feeds ---------------------
# The API, the rundown import and the demo write events and their signal path through
# these and create_event / update_feed above: each checks the model (full_clean) and writes
# one audit line per object it creates or changes, with {field: [old, new]}.

EVENT_EDITABLE = ("name", "venue", "time_zone", "start", "end", "state")
SITE_EDITABLE = ("name", "role", "city", "time_zone")
SESSION_EDITABLE = ("title", "kind", "room", "day", "scheduled_start", "scheduled_end")


def _audit_value(value):
    """A JSON-friendly field value for an audit line: objects by name, times in ISO 8601."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return _plain(value)


def _refuse_unknown(fields, allowed) -> None:
    unknown = set(fields) - set(allowed)
    if unknown:
        raise ValidationError({name: "This field cannot be changed." for name in sorted(unknown)})


def _create(instance, *, actor, event: Event | None, fields: dict, m2m=()):
    """Check and save a new object, with one audit line holding its initial values (`m2m`
    names fields the caller sets after the save)."""
    instance.full_clean(exclude=list(m2m))
    instance.save()
    label = instance._meta.model_name
    audit.record(
        actor=actor,
        action=f"{label}.create",
        obj=instance,
        event=event,
        summary=f"{label.capitalize()} {instance.slug} created",
        changes={
            name: [None, _upstream_names(value) if name in m2m else _audit_value(value)]
            for name, value in fields.items()
        },
    )
    return instance


def _change(instance, *, actor, event: Event | None, allowed, changes: dict):
    """Apply the changes that differ after the model's checks; one audit line, or none."""
    _refuse_unknown(changes, allowed)
    before = {name: getattr(instance, name) for name in changes}
    diff = {
        name: [_audit_value(before[name]), _audit_value(value)]
        for name, value in changes.items()
        if before[name] != value
    }
    if not diff:
        return instance
    for name in diff:
        setattr(instance, name, changes[name])
    instance.full_clean()
    instance.save(update_fields=list(diff))
    label = instance._meta.model_name
    audit.record(
        actor=actor,
        action=f"{label}.update",
        obj=instance,
        event=event,
        summary=f"{label.capitalize()} {instance.slug} changed",
        changes=diff,
    )
    return instance


@transaction.atomic
def update_event(*, event: Event, actor, **changes) -> Event:
    """Change an event's name, venue, zone, times or state after the model's checks."""
    return _change(event, actor=actor, event=event, allowed=EVENT_EDITABLE, changes=changes)


@transaction.atomic
def create_site(*, actor, event: Event | None = None, **fields) -> Site:
    """Add a site; `event` is the event whose page or rundown added it, for its audit log."""
    _refuse_unknown(fields, ("slug", *SITE_EDITABLE))
    return _create(Site(**fields), actor=actor, event=event, fields=fields)


@transaction.atomic
def update_site(*, site: Site, actor, event: Event | None = None, **changes) -> Site:
    """Change a site's name, role, city or zone; `event` as for create_site. A site used by
    other events too changes only for someone who may change it for all of them."""
    if any(getattr(site, k) != v for k, v in changes.items()) and not can_change_site(actor, site):
        others = ", ".join(e.name for e in events_using_site(site) if e != event) or "other events"
        raise ValidationError(
            {
                "slug": f"Site {site.slug!r} is also used by {others}: only a lead of every "
                "event using it (or an admin) changes it. Give this event its own site slug."
            }
        )
    return _change(site, actor=actor, event=event, allowed=SITE_EDITABLE, changes=changes)


@transaction.atomic
def create_session(*, event: Event, actor, **fields) -> Session:
    """Add a session to an event; its day defaults to its start's date in the event's zone."""
    _refuse_unknown(fields, ("slug", *SESSION_EDITABLE))
    start = fields.get("scheduled_start")
    if "day" not in fields and isinstance(start, datetime):
        fields["day"] = start.astimezone(event.tz).date()
    return _create(Session(event=event, **fields), actor=actor, event=event, fields=fields)


@transaction.atomic
def update_session(*, session: Session, actor, **changes) -> Session:
    """Change a session's title, kind, room, day or times after the model's checks."""
    return _change(
        session, actor=actor, event=session.event, allowed=SESSION_EDITABLE, changes=changes
    )


@transaction.atomic
def create_feed(*, event: Event, actor, **fields) -> Feed:
    """Add a feed to an event after the same checks as update_feed."""
    _refuse_unknown(fields, ("slug", *FEED_EDITABLE))
    upstreams = upstream_list(fields.pop("derived_from", None))
    feed = Feed(event=event, **fields)
    error = feed.upstream_error(upstreams)
    if error:
        raise ValidationError({"derived_from": error})
    if upstreams:
        fields["derived_from"] = upstreams
    feed = _create(feed, actor=actor, event=event, fields=fields, m2m=("derived_from",))
    feed.derived_from.set(upstreams)
    return feed
