"""Writes of the learning loop across events: planning the next event from this one, and
linking a learning to the same problem at an earlier event. The API, the event page and
`manage.py plan_next_event` all call these."""

from collections.abc import Callable
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from . import audit, selectors
from .models import Entry, Event, Feed, Membership, RecurrenceLink, Role, Session

Progress = Callable[[str], None]


def shift_to(moment: datetime, event: Event, days: int) -> datetime:
    """The same time of day in the event's zone, `days` later (a DST change keeps 09:00)."""
    local = moment.astimezone(event.tz)
    return (local.replace(tzinfo=None) + timedelta(days=days)).replace(tzinfo=event.tz)


def _check_plan(event: Event, actor, *, slug: str, name: str, start, force: bool) -> dict:
    errors = {}
    if not slug:
        errors["slug"] = "Give the new event a slug."
    elif Event.objects.filter(slug=slug).exists():
        errors["slug"] = f"An event with the slug {slug!r} exists already."
    if not (name or "").strip():
        errors["name"] = "Give the new event a name."
    if not isinstance(start, datetime) or start.tzinfo is None:
        errors["start"] = "Give the start as a time with a zone."
    elif start < event.end:
        ends = event.end.astimezone(event.tz)
        errors["start"] = f"The next event starts after this one ends ({ends:%Y-%m-%d %H:%M %Z})."
    if not event.retro_finalized and not force:
        errors["force"] = (
            f"The retro of {event.name} is not finalized: finalize it first, "
            "or plan anyway with force (leads; it is recorded)."
        )
    return errors


@transaction.atomic
def plan_next_event(
    *,
    event: Event,
    actor,
    slug: str,
    name: str,
    start: datetime,
    force: bool = False,
    progress: Progress | None = None,
) -> Event:
    """Create the event that follows this one: its sessions and feeds copied with their
    times moved to the new start (same time of day in the event's zone), source ids kept,
    state planning, the planner as lead and the other members with their roles.

    Refused (nothing written) for a slug in use, a start before this event's end, someone
    below lead, or a retro not finalized unless a lead forces it (recorded in the audit).
    """
    if not selectors.can_plan_next_event(actor, event):
        raise PermissionDenied("Only a lead of the event plans the next one from it.")
    slug = (slug or "").strip()
    errors = _check_plan(event, actor, slug=slug, name=name, start=start, force=force)
    if errors:
        raise ValidationError(errors)
    report = progress or (lambda line: None)
    days = (start.astimezone(event.tz).date() - event.start.astimezone(event.tz).date()).days
    end = shift_to(event.end, event, days)
    nxt = Event(
        name=name.strip(),
        slug=slug,
        venue=event.venue,
        time_zone=event.time_zone,
        start=start,
        end=end if end > start else start + (event.end - event.start),
        state=Event.State.PLANNING,
        thresholds=event.thresholds,
        follows=event,
    )
    nxt.full_clean()
    nxt.save()
    sessions = _copy_sessions(event, nxt, days)
    report(f"{len(sessions)} sessions copied")
    feeds = _copy_feeds(event, nxt, sessions)
    report(f"{feeds} feeds copied")
    members = _copy_members(event, nxt, actor)
    report(f"{members} members copied")
    forced = not event.retro_finalized
    audit.record(
        actor=actor,
        action="event.plan_next",
        obj=nxt,
        event=nxt,
        summary=f"Planned from {event.slug}" + (" (forced: retro not finalized)" if forced else ""),
        changes={
            "follows": [None, event.slug],
            "sessions": [None, len(sessions)],
            "feeds": [None, feeds],
            "members": [None, members],
            "forced": [None, forced],
        },
    )
    if forced:
        audit.record(
            actor=actor,
            action="event.plan_next_forced",
            obj=event,
            event=event,
            summary=f"Next event {slug} planned before the retro was finalized",
        )
    return nxt


def _copy_sessions(event: Event, nxt: Event, days: int) -> dict[int, Session]:
    """Old session id -> its copy."""
    copies = {}
    for session in event.sessions.all():
        start = shift_to(session.scheduled_start, event, days)
        copies[session.pk] = Session(
            event=nxt,
            title=session.title,
            slug=session.slug,
            kind=session.kind,
            room=session.room,
            day=start.astimezone(event.tz).date(),
            scheduled_start=start,
            scheduled_end=shift_to(session.scheduled_end, event, days),
        )
    Session.objects.bulk_create(copies.values())
    return copies


FEED_COPIED = (
    "slug",
    "name",
    "kind",
    "language",
    "stage",
    "origin_id",
    "destination_id",
    "transport",
    "path",
    "source_ids",
)


def _copy_feeds(event: Event, nxt: Event, sessions: dict[int, Session]) -> int:
    """Copy the feeds (copies of checked feeds: the same rules hold) and their upstream
    links, which stay within the new event."""
    old = list(event.feeds.all())
    copies = {}
    for feed in old:
        copy = Feed(event=nxt, **{name: getattr(feed, name) for name in FEED_COPIED})
        copy.session = sessions.get(feed.session_id)
        copies[feed.pk] = copy
    Feed.objects.bulk_create(copies.values())
    links = Feed.derived_from.through
    links.objects.bulk_create(
        links(from_feed_id=copies[child].pk, to_feed_id=copies[parent].pk)
        for child, parent in links.objects.filter(from_feed__event=event).values_list(
            "from_feed_id", "to_feed_id"
        )
        if child in copies and parent in copies
    )
    return len(copies)


def _copy_members(event: Event, nxt: Event, actor) -> int:
    """The planner leads the new event; everyone else keeps their role and site."""
    members = [Membership(event=nxt, user=actor, role=Role.LEAD)]
    for membership in event.memberships.exclude(user=actor):
        members.append(
            Membership(
                event=nxt, user_id=membership.user_id, role=membership.role, site=membership.site
            )
        )
    Membership.objects.bulk_create(members)
    return len(members)


@transaction.atomic
def record_follows(*, event: Event, follows: Event, actor) -> Event:
    """Record that an event follows an earlier one it was not planned from (an event created
    before it, the demo). Leads of both, or the command line (no actor)."""
    if event.follows_id == follows.pk:
        return event
    if actor is not None and not (
        selectors.can_plan_next_event(actor, follows)
        and selectors.has_role(actor, event, Role.LEAD)
    ):
        raise PermissionDenied("Only a lead of both events links them.")
    if follows.pk == event.pk or follows.start >= event.start:
        raise ValidationError({"follows": "An event follows one that started before it."})
    old = event.follows.slug if event.follows_id else None
    Event.objects.filter(pk=event.pk).update(follows=follows)
    event.follows = follows
    audit.record(
        actor=actor,
        action="event.follows",
        obj=event,
        event=event,
        summary=f"Follows {follows.slug}",
        changes={"follows": [old, follows.slug]},
    )
    return event


@transaction.atomic
def link_recurrence(*, entry: Entry, earlier: Entry, actor) -> RecurrenceLink:
    """Link a learning to the same problem logged at an earlier event; linking twice is
    harmless. The earlier entry must be one the user may see."""
    if not selectors.has_role(actor, earlier.event, Role.VIEWER):
        raise ValidationError({"earlier": "No entry you can see has this id."})
    if not selectors.can_link_recurrence(actor, entry, earlier):
        raise PermissionDenied("Operators of the event link its learnings.")
    errors = {}
    if entry.kind != Entry.Kind.LEARNING:
        errors["entry"] = "Only a learning is linked as a recurrence."
    if earlier.pk == entry.pk or earlier.event_id == entry.event_id:
        errors["earlier"] = "Link an entry of an earlier event, not of this one."
    elif earlier.event.start >= entry.event.start:
        errors["earlier"] = "The earlier entry must belong to an event before this one."
    if earlier.deleted_at is not None:
        errors["earlier"] = "That entry is deleted."
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            link, created = RecurrenceLink.objects.get_or_create(
                entry=entry, earlier=earlier, defaults={"linked_by": actor}
            )
    except IntegrityError:  # the same link sent twice at once: the other request stored it
        return RecurrenceLink.objects.get(entry=entry, earlier=earlier)
    if created:
        audit.record(
            actor=actor,
            action="entry.recurrence",
            obj=entry,
            event=entry.event,
            summary=f"Recurs #{str(earlier.pk)[:8]} of {earlier.event.slug}",
            changes={"recurs": [None, str(earlier.pk)]},
        )
    return link
