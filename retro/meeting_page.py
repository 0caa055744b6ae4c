"""Reads of the retro meeting page: its filters, one page of entries in group order, the
outline of groups with their counts, and the entries a duplicate can be merged into.

The page draws a fixed number of entries at a time (the rest load as the meeting scrolls),
so its cost and its query count do not grow with the event's entries.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import (
    Case,
    CharField,
    Count,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce

from . import hooks
from .models import Entry, Event, NoChangeDecision, Session, Stage, Vote, live_entries

PAGE_SIZE = 25
CANDIDATES = 10
GROUPINGS = [("stage", "Stage and session"), ("session", "Session"), ("kind", "Kind")]
KIND_RANK = {Entry.Kind.WIN: 0, Entry.Kind.LEARNING: 1, Entry.Kind.ACTION: 2}
STAGE_RANK = {value: n for n, (value, _) in enumerate(Stage.choices)}
NO_STAGE, NO_SESSION = "No stage", "No session"


@dataclass
class MeetingQuery:
    """What the meeting is looking at: filters, grouping and the page number."""

    kind: str = ""
    stage: str = ""
    session: str = ""  # a session slug, or "none" for entries without a session
    q: str = ""
    group: str = "stage"
    page: int = 1
    errors: dict = field(default_factory=dict)

    def params(self, **override) -> str:
        """The query string of this view (page left out unless overridden)."""
        from urllib.parse import urlencode

        values = {
            "kind": self.kind,
            "stage": self.stage,
            "session": self.session,
            "q": self.q,
            "group": "" if self.group == "stage" else self.group,
        }
        values.update(override)
        return urlencode({k: v for k, v in values.items() if v not in ("", None, 1)})


def parse(params) -> MeetingQuery:
    """The meeting filters from a QueryDict; unknown values fall back to "everything"."""
    query = MeetingQuery(q=(params.get("q") or "").strip()[:200])
    if params.get("kind") in Entry.Kind.values:
        query.kind = params["kind"]
    if params.get("stage") in [*Stage.values, "none"]:
        query.stage = params["stage"]
    query.session = (params.get("session") or "").strip()[:100]
    if params.get("group") in dict(GROUPINGS):
        query.group = params["group"]
    try:
        query.page = max(1, min(int(params.get("page") or 1), 10_000))
    except ValueError:
        query.errors["page"] = "The page is a number."
    return query


def _rank(field_name: str, ranks: dict, default: int) -> Case:
    whens = [When(**{field_name: value}, then=Value(n)) for value, n in ranks.items()]
    return Case(*whens, default=Value(default), output_field=IntegerField())


def filtered(entries: QuerySet[Entry], query: MeetingQuery) -> QuerySet[Entry]:
    """The entries the filters keep."""
    if query.kind:
        entries = entries.filter(kind=query.kind)
    if query.stage:
        entries = entries.filter(stage="" if query.stage == "none" else query.stage)
    if query.session == "none":
        entries = entries.filter(session__isnull=True)
    elif query.session:
        entries = entries.filter(session__slug=query.session)
    if query.q:
        entries = entries.filter(Q(body__icontains=query.q) | Q(tags__icontains=query.q))
    return entries


def ordered(entries: QuerySet[Entry], group: str) -> QuerySet[Entry]:
    """Group order (stage in signal-path order, sessions on air order, kinds win → action),
    then the most voted first; the entry id keeps pages stable."""
    entries = entries.annotate(
        kind_rank=_rank("kind", KIND_RANK, 9), stage_rank=_rank("stage", STAGE_RANK, 99)
    )
    session_order = [
        F("session__scheduled_start").asc(nulls_last=True),
        F("session_id").asc(nulls_last=True),
    ]
    by_votes = [F("vote_count").desc(), "occurred_at", "id"]
    if group == "kind":
        return entries.order_by("kind_rank", *by_votes)
    if group == "session":
        return entries.order_by(*session_order, "kind_rank", *by_votes)
    return entries.order_by("stage_rank", *session_order, "kind_rank", *by_votes)


def session_label(session: Session | None, event: Event) -> str:
    """'Opening keynote · on air Mon 30 Nov 10:00-12:00 PST' in the event's zone."""
    if session is None:
        return NO_SESSION
    start = session.scheduled_start.astimezone(event.tz)
    end = session.scheduled_end.astimezone(event.tz)
    return f"{session.title} · on air {start:%a %d %b %H:%M}\u2013{end:%H:%M} {start.tzname()}"


def headings(entry: Entry, group: str, event: Event) -> list[tuple[int, str, str]]:
    """The (level, key, label) of the group headings an entry sits under."""
    stage = (entry.stage or "none", entry.get_stage_display() if entry.stage else NO_STAGE)
    session = (
        entry.session.slug if entry.session else "none",
        session_label(entry.session, event),
    )
    if group == "kind":
        return [(2, entry.kind, f"{entry.get_kind_display()}s")]
    if group == "session":
        return [(2, session[0], session[1])]
    return [(2, stage[0], stage[1]), (3, f"{stage[0]}/{session[0]}", session[1])]


def mark_headings(entries: list[Entry], group: str, event: Event) -> None:
    """Give each entry the headings to draw before it (those that changed since the
    previous entry); the first entry of a page draws all of its own."""
    previous: dict[int, str] = {}
    for entry in entries:
        entry.headings = []
        for level, key, label in headings(entry, group, event):
            if previous.get(level) != key:
                entry.headings.append({"level": level, "key": key, "label": label})
                previous[level] = key
                previous = {lvl: k for lvl, k in previous.items() if lvl <= level}


def page(event: Event, query: MeetingQuery) -> tuple[list[Entry], bool]:
    """One page of entries in group order, and whether another page follows.

    Two steps, so the cost does not grow with the event: the page's ids from a narrow
    ordered query (votes counted by a subquery, no GROUP BY over wide rows), then those
    entries with everything the page draws (meeting.meeting_entries)."""
    from .meeting import meeting_entries  # meeting imports services; keep this module light

    votes = (
        Vote.objects.filter(entry=OuterRef("pk"))
        .order_by()
        .values("entry")
        .annotate(n=Count("pk"))
        .values("n")
    )
    narrow = filtered(live_entries().filter(event=event), query).annotate(
        vote_count=Coalesce(Subquery(votes, output_field=IntegerField()), 0)
    )
    start = (query.page - 1) * PAGE_SIZE
    ids = list(
        ordered(narrow, query.group).values_list("pk", flat=True)[start : start + PAGE_SIZE + 1]
    )
    shown = ids[:PAGE_SIZE]
    rows = {e.pk: e for e in meeting_entries(event).filter(pk__in=shown)}
    return [rows[pk] for pk in shown if pk in rows], len(ids) > PAGE_SIZE


def undecided(event: Event, shown: int) -> tuple[list[Entry], int]:
    """The first `shown` learnings without a decision, and how many there are: the same
    rule as loop.Decision.decided (an action not dropped, a runbook revision citing it, or a
    no-change decision), read as ids so 2,000 entries cost a few narrow queries."""
    ids = list(
        live_entries()
        .filter(event=event, kind=Entry.Kind.LEARNING)
        .order_by("occurred_at")
        .values_list("pk", flat=True)
    )
    decided = set(
        live_entries()
        .filter(kind=Entry.Kind.ACTION, source_entry_id__in=ids)
        .exclude(status=Entry.Status.DROPPED)
        .values_list("source_entry_id", flat=True)
    )
    decided |= set(
        NoChangeDecision.objects.filter(learning_id__in=ids).values_list("learning_id", flat=True)
    )
    decided |= {change.entry_id for change in hooks.runbook_changes(ids)}
    left = [pk for pk in ids if pk not in decided]
    first = {e.pk: e for e in Entry.objects.filter(pk__in=left[:shown])}
    return [first[pk] for pk in left[:shown]], len(left)


def outline(event: Event, query: MeetingQuery) -> list[dict]:
    """The groups under the current filters with their entry counts, in one query: the
    meeting's table of contents (each links to its group alone)."""
    entries = filtered(live_entries().filter(event=event), query)
    if query.group == "kind":
        rows = entries.values("kind").annotate(n=Count("id"))
        labels = dict(Entry.Kind.choices)
        return [
            {"label": f"{labels[r['kind']]}s", "n": r["n"], "params": query.params(kind=r["kind"])}
            for r in sorted(rows, key=lambda r: KIND_RANK.get(r["kind"], 9))
        ]
    fields = ["session__slug", "session__title", "session__scheduled_start"]
    if query.group == "stage":
        fields.insert(0, "stage")
    rows = list(entries.values(*fields).annotate(n=Count("id")))
    far = datetime.max.replace(tzinfo=event.start.tzinfo)
    rows.sort(
        key=lambda r: (
            STAGE_RANK.get(r.get("stage", ""), 99),
            r["session__scheduled_start"] or far,
            r["session__slug"] or "",
        )
    )
    stages = dict(Stage.choices)
    groups = []
    for r in rows:
        stage = r.get("stage")
        session = r["session__slug"] or "none"
        label = r["session__title"] or NO_SESSION
        if query.group == "stage":
            label = f"{stages.get(stage, NO_STAGE)} · {label}"
        params = {"session": session}
        if query.group == "stage":
            params["stage"] = stage or "none"
        groups.append({"label": label, "n": r["n"], "params": query.params(**params)})
    return groups


def kind_counts(event: Event) -> dict[str, int]:
    """Live entries of the event by kind, in one query."""
    rows = live_entries().filter(event=event).values("kind").annotate(n=Count("id"))
    counts = dict.fromkeys(Entry.Kind.values, 0)
    counts.update({r["kind"]: r["n"] for r in rows})
    return counts


def merge_candidates(duplicate: Entry, text: str) -> list[Entry]:
    """Entries the duplicate can be merged into (same event and kind, live, not itself)
    whose text or tags contain `text`, or whose reference starts with it, most voted first."""
    text = (text or "").strip()
    entries = (
        live_entries()
        .filter(event_id=duplicate.event_id, kind=duplicate.kind)
        .exclude(pk=duplicate.pk)
        .select_related("author", "session")
        .annotate(vote_count=Count("votes", distinct=True))
    )
    ref = text.lstrip("#").lower()
    match = Q(body__icontains=text) | Q(tags__icontains=text)
    if 4 <= len(ref) <= 8 and all(c in "0123456789abcdef" for c in ref):
        # The first 8 hex digits read the same on PostgreSQL (dashed) and SQLite (plain hex).
        entries = entries.annotate(ref=Cast("id", CharField()))
        match |= Q(ref__startswith=ref)
    if text:
        entries = entries.filter(match)
    return list(entries.order_by("-vote_count", "occurred_at")[:CANDIDATES])
