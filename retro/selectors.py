"""Reads shared by views, API and tasks, and every access check: one gate per event."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, F, OuterRef, Prefetch, Q, QuerySet, Subquery, Window
from django.db.models.functions import Coalesce, RowNumber
from django.http import Http404
from django.utils import timezone

from tally.times import in_zone, parse_instant

from . import loop
from .loop import carried_over_actions
from .models import ROLE_RANK, Entry, Event, Feed, Membership, Role, Session, live_entries


def is_admin(user) -> bool:
    """Django staff are Tally admins."""
    return bool(user.is_authenticated and (user.is_staff or user.is_superuser))


def role_for(user, event: Event) -> str | None:
    """The user's role on the event; admins act as leads everywhere."""
    if not user.is_authenticated:
        return None
    if is_admin(user):
        return Role.LEAD
    cache = getattr(user, "_tally_roles", None)
    if cache is None:
        cache = user._tally_roles = {}
    if event.pk not in cache:
        # One query gives the role and the membership (with its site) for membership_for.
        membership = (
            Membership.objects.filter(event=event, user=user).select_related("site").first()
        )
        user.__dict__.setdefault("_tally_memberships", {})[event.pk] = membership
        cache[event.pk] = membership.role if membership else None
    return cache[event.pk]


def has_role(user, event: Event, minimum: str) -> bool:
    """True when the user's role on the event is at least `minimum`."""
    role = role_for(user, event)
    return role is not None and ROLE_RANK[role] >= ROLE_RANK[minimum]


def events_for_user(user) -> QuerySet[Event]:
    """Events the user may see: all for admins, their memberships otherwise."""
    if not user.is_authenticated:
        return Event.objects.none()
    if is_admin(user):
        return Event.objects.all()
    return Event.objects.filter(memberships__user=user)


def event_for_user(user, slug: str, minimum: str = Role.VIEWER) -> Event:
    """The event if the user may see it; 404 for outsiders, so nothing leaks.

    A member below `minimum` gets PermissionDenied (403): they know the event exists.
    """
    event = events_for_user(user).filter(slug=slug).first()
    if event is None:
        raise Http404("No such event.")
    if not has_role(user, event, minimum):
        raise PermissionDenied(f"This needs the {minimum} role on {event.name}.")
    return event


def events_with_counts(user) -> QuerySet[Event]:
    """The home page list: each event with its session, feed and entry counts."""

    # One subquery per count: joining sessions, feeds and entries at once multiplies the
    # rows (22 sessions x 550 feeds x 300 entries took 19 s on the demo).
    def count_of(model, **filters):
        rows = model.objects.filter(event=OuterRef("pk"), **filters).order_by().values("event")
        return Coalesce(Subquery(rows.annotate(n=Count("pk")).values("n")), 0)

    return events_for_user(user).annotate(
        session_count=count_of(Session),
        feed_count=count_of(Feed),
        entry_count=count_of(Entry, deleted_at__isnull=True),
    )


# --- The live board ---------------------------------------------------------
# Reads for the board, the entries API and the polling endpoint. Filters arrive as GET
# parameters (so a filtered board is a link) and are applied in one place.

BOARD_FILTERS = ("kind", "session", "stage", "feed", "site", "author", "q", "since", "until")
# A change is stamped (updated_at) inside its transaction, before it commits; a poll that
# runs meanwhile cannot see it. Re-reading this much history on every poll catches such
# late commits; the browser drops what it already has (same id and version).
CHANGES_OVERLAP = timedelta(seconds=10)
CHANGES_BATCH = 500


def membership_for(user, event: Event) -> Membership | None:
    """The user's membership of the event (None for admins who are not members)."""
    if not user.is_authenticated:
        return None
    cached = getattr(user, "_tally_memberships", {})
    if event.pk in cached:
        return cached[event.pk]
    return Membership.objects.filter(event=event, user=user).select_related("site").first()


def can_edit_entry(user, entry: Entry, role: str | None = None) -> bool:
    """Leads edit any entry; operators their own (and the actions they own)."""
    role = role if role is not None else role_for(user, entry.event)
    if role == Role.LEAD:
        return True
    return role == Role.OPERATOR and user.pk in (entry.author_id, entry.owner_id)


def events_using_site(site) -> QuerySet[Event]:
    """Events whose feeds start or end at the site, or whose members work there."""
    return Event.objects.filter(
        Q(feeds__origin=site) | Q(feeds__destination=site) | Q(memberships__site=site)
    ).distinct()


def can_change_site(user, site) -> bool:
    """A site is shared by events: admins change it, and leads of every event that uses it;
    the command line (no user) too."""
    if user is None or is_admin(user):
        return True
    return all(role_for(user, event) == Role.LEAD for event in events_using_site(site))


def can_change_action_status(user, action: Entry, role: str | None = None) -> bool:
    """Leads change any action's status; operators the actions they own."""
    role = role if role is not None else role_for(user, action.event)
    if role == Role.LEAD:
        return True
    return role == Role.OPERATOR and action.owner_id == user.pk


def can_finalize_retro(user, event: Event) -> bool:
    """Leads (and admins) finalize an event's retro."""
    return has_role(user, event, Role.LEAD)


def can_decide_learning(user, learning: Entry) -> bool:
    """Leads record a learning's "no change needed" decision (as they promote it to an action)."""
    return has_role(user, learning.event, Role.LEAD)


def can_plan_next_event(user, event: Event) -> bool:
    """Leads (and admins) plan the next event from this one."""
    return has_role(user, event, Role.LEAD)


def can_link_recurrence(user, entry: Entry, earlier: Entry) -> bool:
    """Operators of the entry's event link it to an earlier entry they may see."""
    return has_role(user, entry.event, Role.OPERATOR) and has_role(user, earlier.event, Role.VIEWER)


def entry_for_user(user, pk, minimum: str = Role.VIEWER) -> Entry:
    """An entry of an event the user may see (deleted ones too); 404 otherwise."""
    try:
        entry = (
            Entry.objects.select_related("event", "author", "site", "session", "owner")
            .filter(event__in=events_for_user(user))
            .get(pk=pk)
        )
    except (Entry.DoesNotExist, ValidationError, ValueError) as exc:
        raise Http404("No such entry.") from exc
    if not has_role(user, entry.event, minimum):
        raise PermissionDenied(f"This needs the {minimum} role on {entry.event.name}.")
    return entry


# A feed chip and its place for recurrences (retro.loop.place_keys).
DISPLAYED_FEED_FIELDS = (
    "id",
    "event_id",
    "slug",
    "name",
    "stage",
    "origin_id",
    "destination_id",
    "transport",
)


def for_display(entries: QuerySet[Entry]) -> QuerySet[Entry]:
    """Everything templates/retro/_entry.html reads, fetched in a fixed number of queries."""
    return entries.select_related("author", "site", "session", "owner", "event").prefetch_related(
        Prefetch("feeds", queryset=Feed.objects.only(*DISPLAYED_FEED_FIELDS))
    )


def board_filters(params) -> dict[str, str]:
    """The board/API filters present in a QueryDict, stripped, empty ones dropped."""
    return {k: params.get(k, "").strip() for k in BOARD_FILTERS if params.get(k, "").strip()}


def filter_entries(entries: QuerySet[Entry], filters: dict[str, str]) -> QuerySet[Entry]:
    """Apply board filters (slugs, usernames, text, time range) to an event's entries."""
    lookups = {
        "kind": "kind",
        "session": "session__slug",
        "stage": "stage",
        "feed": "feeds__slug",
        "site": "site__slug",
        "author": "author__username",
    }
    for name, lookup in lookups.items():
        if filters.get(name):
            entries = entries.filter(**{lookup: filters[name]})
    if filters.get("q"):
        entries = entries.filter(body__icontains=filters["q"])
    if filters.get("since"):
        entries = entries.filter(occurred_at__gte=parse_instant(filters["since"], "since"))
    if filters.get("until"):
        entries = entries.filter(occurred_at__lte=parse_instant(filters["until"], "until"))
    if filters.get("feed"):
        entries = entries.distinct()
    return entries


FEED_CHOICES = {
    name: [value for value, _ in Feed._meta.get_field(name).choices]
    for name in ("stage", "kind", "path")
}


def event_feeds(event: Event, params) -> QuerySet[Feed]:
    """The event's feeds filtered by ?stage=&kind=&path= (choices), ?session= (a slug of this
    event) and ?q= (words in the slug or name); a bad value is a 400 naming its parameter."""
    feeds = event.feeds.all()
    for name, allowed in FEED_CHOICES.items():
        value = params.get(name, "").strip()
        if value and value not in allowed:
            raise ValidationError({name: f"Use one of {', '.join(allowed)}."})
        if value:
            feeds = feeds.filter(**{name: value})
    session = params.get("session", "").strip()
    if session:
        found = event.sessions.filter(slug=session).first()
        if found is None:
            raise ValidationError({"session": f"No session {session[:80]!r} in this event."})
        feeds = feeds.filter(session=found)
    for word in params.get("q", "").split()[:10]:
        feeds = feeds.filter(Q(slug__icontains=word) | Q(name__icontains=word))
    return feeds.order_by("stage", "slug")


def event_entries(event: Event, filters: dict[str, str] | None = None) -> QuerySet[Entry]:
    """The event's live entries (not deleted, not merged), filtered, newest first."""
    entries = live_entries().filter(event=event)
    return filter_entries(entries, filters or {}).order_by("-occurred_at", "-logged_at")


def board_columns(event: Event, filters: dict[str, str], limit: int) -> list[dict]:
    """Wins, learnings and actions: the newest `limit` of each, and how many there are."""
    base = event_entries(event, filters)
    distinct = bool(filters.get("feed"))  # only the feed filter joins (and may repeat) rows
    counts = base.order_by().aggregate(
        **{kind: Count("id", filter=Q(kind=kind), distinct=distinct) for kind in Entry.Kind.values}
    )
    # The newest `limit` of every kind in one query: rank within each kind, keep the top.
    rank = Window(
        RowNumber(),
        partition_by=[F("kind")],
        order_by=[F("occurred_at").desc(), F("logged_at").desc()],
    )
    newest = for_display(base.annotate(rank=rank).filter(rank__lte=limit))
    by_kind: dict[str, list[Entry]] = {kind: [] for kind in Entry.Kind.values}
    for entry in newest:
        by_kind[entry.kind].append(entry)
    return [
        {"kind": kind, "label": label, "entries": by_kind[kind], "count": counts[kind]}
        for kind, label in Entry.Kind.choices
    ]


def visible_carried_over(user, event: Event) -> QuerySet[Entry]:
    """Open actions of earlier, closed events, limited to events the user may see."""
    return for_display(carried_over_actions(event).filter(event__in=events_for_user(user)))


def visible_from_last_event(user, event: Event) -> dict | None:
    """What the board opens with from the event this one follows (if the user may see it):
    learnings whose action is not done yet and the runbook revisions its learnings caused.
    Its open actions are the carried-over ones (visible_carried_over)."""
    if not event.follows_id or not has_role(user, event.follows, Role.VIEWER):
        return None
    return {
        "event": event.follows,
        "learnings": loop.learnings_awaiting_action(event),
        "changes": loop.changed_since_last_event(event),
    }


def entry_changes(event: Event, since: datetime | None, filters: dict[str, str]) -> dict:
    """What changed on the board since a cursor: entries to (re)draw and ids to remove."""
    now = timezone.now()
    changed = Entry.objects.filter(event=event)
    if since is not None:
        changed = changed.filter(updated_at__gte=since - CHANGES_OVERLAP)
    else:
        changed = changed.filter(updated_at__gte=now - CHANGES_OVERLAP)
    changed = list(
        changed.order_by("updated_at").values_list("id", "version", "updated_at")[:CHANGES_BATCH]
    )
    if len(changed) == CHANGES_BATCH:
        # A board back from a long sleep catches up in steps: the next poll starts at the
        # last change it got (its overlap window lands exactly there).
        now = changed[-1][2] + CHANGES_OVERLAP
    ids = [pk for pk, _, _ in changed]
    shown = list(for_display(event_entries(event, filters).filter(pk__in=ids)))
    shown_ids = {e.pk for e in shown}
    removed = [{"id": str(pk), "version": v} for pk, v, _ in changed if pk not in shown_ids]
    return {"cursor": now, "entries": shown, "removed": removed}


TIMELINE_TOP = 28  # px below the hour labels
TIMELINE_BAND = 26
TIMELINE_LANE = 30


def _day_bounds(event: Event, day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=event.tz)
    return start, start + timedelta(days=1)


def event_days(event: Event) -> list[date]:
    """The event's days in its own zone."""
    first = event.start.astimezone(event.tz).date()
    last = event.end.astimezone(event.tz).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


@dataclass(frozen=True)
class TimelineSpan:
    """The shown part of a timeline day; positions on it are percentages of its width."""

    start: datetime
    end: datetime

    @classmethod
    def around(cls, day_start: datetime, day_end: datetime, moments: list[datetime]):
        """The day's moments plus an hour either side (07:00-20:00 when there are none)."""
        if moments:
            start = max(day_start, min(moments) - timedelta(hours=1))
            end = min(day_end, max(moments) + timedelta(hours=1))
        else:
            start, end = day_start + timedelta(hours=7), day_start + timedelta(hours=20)
        return cls(start.replace(minute=0, second=0, microsecond=0), end)

    def pct(self, moment: datetime) -> float:
        total = max((self.end - self.start).total_seconds(), 1)
        return round(min(max((moment - self.start).total_seconds() / total, 0), 1) * 100, 2)

    def hour_ticks(self, tz) -> list[dict]:
        ticks, tick = [], self.start.astimezone(tz).replace(minute=0, second=0, microsecond=0)
        while tick <= self.end:
            if tick >= self.start:
                ticks.append({"label": f"{tick:%H:%M}", "x": self.pct(tick)})
            tick += timedelta(hours=1)
        return ticks


def lane_y(lanes_top: int, lane: int) -> int:
    """The middle of a timeline lane: 0-2 the entry kinds, 3 the runbooks (runbooks draws it)."""
    return lanes_top + lane * TIMELINE_LANE + TIMELINE_LANE // 2


def board_timeline(
    event: Event, filters: dict[str, str], day: str | None, limit: int, listed: int
) -> dict:
    """One event day on a time axis: sessions' on-air windows as bands, entries as marks,
    positions in percent of the shown span (the day's sessions plus an hour either side).
    Up to `limit` marks; the newest `listed` entries are also drawn in full below."""
    days = event_days(event)
    today = timezone.now().astimezone(event.tz).date()
    chosen = next((d for d in days if d.isoformat() == day), None)
    chosen = chosen or (today if today in days else days[0])
    day_start, day_end = _day_bounds(event, chosen)
    sessions = list(event.sessions.filter(scheduled_start__lt=day_end, scheduled_end__gt=day_start))
    of_day = event_entries(event, filters).filter(
        occurred_at__gte=day_start, occurred_at__lt=day_end
    )
    # Marks need little (a dot and a tooltip); only the listed entries are drawn in full.
    points = list(of_day.values("id", "kind", "occurred_at", "body")[:limit])
    entries = list(for_display(of_day)[:listed])
    moments = [s.scheduled_start for s in sessions] + [s.scheduled_end for s in sessions]
    span = TimelineSpan.around(day_start, day_end, moments + [p["occurred_at"] for p in points])
    rooms = list(dict.fromkeys(s.room or s.title for s in sessions))
    lanes_top = TIMELINE_TOP + len(rooms) * TIMELINE_BAND + 12
    for entry in entries:
        entry.on_air = next(
            (s for s in sessions if s.scheduled_start <= entry.occurred_at <= s.scheduled_end),
            None,
        )
    return {
        "days": days,
        "day": chosen,
        "day_start": day_start,
        "day_end": day_end,
        "bands": _timeline_bands(sessions, rooms, span),
        "marks": _timeline_marks(event, points, span, lanes_top),
        "hours": span.hour_ticks(event.tz),
        "timeline_entries": entries,
        "timeline_count": len(points),
        "lanes": [
            {"kind": kind, "label": label, "y": lane_y(lanes_top, i)}
            for i, (kind, label) in enumerate(Entry.Kind.choices)
        ],
        "span": span,  # the runbook lane ({% runbook_lane %}) is placed on the same span
        "runbook_lane_y": lane_y(lanes_top, 3),
        "timeline_height": lanes_top + 4 * TIMELINE_LANE + 8,
    }


def _timeline_bands(sessions, rooms: list[str], span: TimelineSpan) -> list[dict]:
    return [
        {
            "session": s,
            "x": span.pct(s.scheduled_start),
            "w": round(span.pct(s.scheduled_end) - span.pct(s.scheduled_start), 2),
            "y": TIMELINE_TOP + rooms.index(s.room or s.title) * TIMELINE_BAND,
        }
        for s in sessions
    ]


def _timeline_marks(event: Event, points, span: TimelineSpan, lanes_top: int) -> list[dict]:
    lane_of = {kind: i for i, kind in enumerate(Entry.Kind.values)}
    return [
        {
            "id": p["id"],
            "kind": p["kind"],
            "label": f"{Entry.Kind(p['kind']).label} {in_zone(p['occurred_at'], event, 'clock')}"
            f": {p['body'][:80]}",
            "x": span.pct(p["occurred_at"]),
            "y": lane_y(lanes_top, lane_of[p["kind"]]),
        }
        for p in points
    ]
