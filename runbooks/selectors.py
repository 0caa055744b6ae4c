"""Reads of runbooks and runs, and their access checks: one gate per top-level object."""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404
from django.urls import reverse

from retro.hooks import RunbookChange
from retro.models import ROLE_RANK, Entry, Event, Membership, Role, live_entries
from retro.selectors import event_for_user, events_for_user, is_admin
from tally.errors import Moved

from .models import (
    Runbook,
    RunbookAlias,
    RunbookLink,
    RunbookRevision,
    RunbookRun,
    RunStep,
    revision_text,
)
from .services import parse_steps


def runbooks_for_user(user) -> QuerySet[Runbook]:
    """Every signed-in user reads every runbook."""
    if not user.is_authenticated:
        return Runbook.objects.none()
    return Runbook.objects.select_related("current", "owner").defer("current__search_vector")


def runbook_for_user(user, slug: str) -> Runbook:
    """The runbook at `slug`; Moved (a redirect) when that is a slug it had before."""
    runbook = runbooks_for_user(user).filter(slug=slug).first()
    if runbook is None:
        alias = RunbookAlias.objects.filter(slug=slug).select_related("runbook").first()
        if alias is not None and user.is_authenticated:
            raise Moved(f"/runbooks/{slug}/", f"/runbooks/{alias.runbook.slug}/")
        raise Http404("No such runbook.")
    return runbook


def is_lead_anywhere(user) -> bool:
    return Membership.objects.filter(user=user, role=Role.LEAD).exists()


def can_edit(user, runbook: Runbook | None = None) -> bool:
    """Leads (of any event), admins and the runbook's owner edit runbooks."""
    if not user.is_authenticated:
        return False
    if is_admin(user) or (runbook is not None and runbook.owner_id == user.pk):
        return True
    return is_lead_anywhere(user)


def runbook_for_editor(user, slug: str) -> Runbook:
    """The runbook if the user may edit it: 404 when missing, 403 when read-only."""
    runbook = runbook_for_user(user, slug)
    if not can_edit(user, runbook):
        raise PermissionDenied("Only leads, admins and the runbook's owner edit runbooks.")
    return runbook


def revision_of(runbook: Runbook, number) -> RunbookRevision:
    try:
        number = int(number)
    except (TypeError, ValueError):
        raise Http404("No such revision.") from None
    revision = runbook.revisions.select_related("author").filter(number=number).first()
    if revision is None:
        raise Http404("No such revision.")
    return revision


def run_for_user(user, run_id, minimum: str = Role.VIEWER) -> RunbookRun:
    """A run, through the gate of its event (404 outsiders, 403 below `minimum`)."""
    run = (
        # Few joins (each one costs the planner more than the lookups it saves), and no
        # revision bodies: hundreds of kB for a long runbook, loaded when a diff needs them.
        RunbookRun.objects.select_related("runbook__current", "revision", "event", "started_by")
        .defer(*revision_text("revision", "runbook__current"))
        .filter(pk=run_id)
        .first()
    )
    if run is None:
        raise Http404("No such run.")
    event_for_user(user, run.event.slug, minimum)
    return run


def runnable_events(user) -> list[Event]:
    """Events on which the user may start a run (operator or more)."""
    events = events_for_user(user).order_by("-start")
    if is_admin(user):
        return list(events)
    roles = [r for r, rank in ROLE_RANK.items() if rank >= ROLE_RANK[Role.OPERATOR]]
    # One filter() call, so the role is this user's membership, not anyone's on the event.
    mine = Event.objects.filter(memberships__user=user, memberships__role__in=roles)
    return list(mine.distinct().order_by("-start"))


def linkable_entries(user, limit: int = 200, events: list[Event] | None = None) -> list[Entry]:
    """Learnings and actions the user may point at a runbook: live ones of the events where
    they are operator or more (`events`, when the caller has them), newest first (the picker
    on the runbook page)."""
    events = runnable_events(user) if events is None else events
    if not events:
        return []
    return list(
        live_entries()
        .filter(event__in=[e.pk for e in events], kind__in=[Entry.Kind.LEARNING, Entry.Kind.ACTION])
        .select_related("event")
        .order_by("-occurred_at")[:limit]
    )


def entries_behind_revision(user, ids) -> list[Entry]:
    """The entries a revision is said to come from: each one visible to the user, or a
    ValidationError naming the unknown ones."""
    ids = [str(i).strip() for i in ids or [] if str(i).strip()]
    if not ids:
        return []
    valid, malformed = [], []
    for value in ids:
        try:
            valid.append(str(UUID(value)))
        except ValueError:
            malformed.append(value)
    found = list(Entry.objects.filter(pk__in=valid, event__in=events_for_user(user)))
    missing = sorted(set(valid) - {str(e.pk) for e in found}) + malformed
    if missing:
        raise ValidationError({"entries": f"Unknown entries: {', '.join(missing)}."})
    return found


PICKER_LIMIT = 20


def entries_to_pick(user, q: str, *, to_link: bool) -> list[Entry]:
    """Learnings and actions for a search-as-you-type picker, newest first: the entry ids
    or every word of `q` in the text. `to_link`: only events where the user is operator or
    more (linking needs that); else every event the user sees (a revision's learnings)."""
    if to_link:
        events = [e.pk for e in runnable_events(user)]
    else:
        events = list(events_for_user(user).values_list("pk", flat=True))
    found = live_entries().filter(
        event__in=events, kind__in=[Entry.Kind.LEARNING, Entry.Kind.ACTION]
    )
    for word in (q or "").split()[:8]:
        prefix = word.lstrip("#").lower()
        by_id = Q(id__startswith=prefix) if _looks_like_id(prefix) else Q()
        found = found.filter(Q(body__icontains=word) | by_id)
    return list(found.select_related("event").order_by("-occurred_at")[:PICKER_LIMIT])


def _looks_like_id(text: str) -> bool:
    return 4 <= len(text) <= 36 and all(c in "0123456789abcdef-" for c in text)


def linkable_entry(user, entry_id) -> Entry:
    """An entry the user may link: 404 when missing or not visible, 403 below operator."""
    try:
        entry = live_entries().select_related("event").filter(pk=entry_id).first()
    except ValidationError:  # not a UUID
        entry = None
    if entry is None:
        raise Http404("No such entry.")
    event_for_user(user, entry.event.slug, Role.OPERATOR)
    return entry


def step_refs(runbook: Runbook) -> list[str]:
    """How a link names each step of the current revision: "heading: step text"."""
    body = runbook.current.body if runbook.current_id else ""
    return [(f"{s.heading}: {s.text}" if s.heading else s.text)[:200] for s in parse_steps(body)]


def visible_entries(user) -> QuerySet[Entry]:
    return Entry.objects.filter(
        event__in=events_for_user(user), deleted_at__isnull=True
    ).select_related("event", "author")


def entries_touching(runbook: Runbook, user) -> list[dict]:
    """Learnings and actions that point to the runbook or led to one of its revisions,
    across the events the user may see, newest first."""
    entries = list(
        visible_entries(user)
        .filter(Q(runbook_links__runbook=runbook) | Q(runbook_revisions__runbook=runbook))
        .distinct()
        .order_by("-occurred_at")
    )
    if not entries:
        return []
    ids = [e.pk for e in entries]
    links = {
        link.entry_id: link for link in RunbookLink.objects.filter(runbook=runbook, entry__in=ids)
    }
    revisions: dict = {}
    for rev in runbook.revisions.filter(entries__in=ids).values("number", "entries"):
        revisions.setdefault(rev["entries"], []).append(rev["number"])
    return [
        {
            "entry": e,
            "link": links.get(e.pk),
            "revisions": sorted(revisions.get(e.pk, [])),
            "url": e.get_absolute_url(),
        }
        for e in entries
    ]


def revisions_with_entries(
    runbook: Runbook, user, limit: int | None = None
) -> list[RunbookRevision]:
    """Revisions newest first (the newest `limit` of them); each carries `.visible_entries`,
    the learnings that led to it."""
    revisions = list(
        runbook.revisions.select_related("author")
        .defer(*revision_text(""))
        .order_by("-number")[:limit]
    )
    through = list(
        RunbookRevision.entries.through.objects.filter(
            runbookrevision__in=[rev.pk for rev in revisions]
        ).select_related("entry", "entry__event")
    )
    allowed = set(events_for_user(user).values_list("pk", flat=True)) if through else set()
    by_rev: dict = {}
    for row in through:
        if row.entry.event_id in allowed and row.entry.deleted_at is None:
            by_rev.setdefault(row.runbookrevision_id, []).append(row.entry)
    for rev in revisions:
        rev.visible_entries = by_rev.get(rev.pk, [])
    return revisions


@dataclass(frozen=True)
class EntryRunbooks:
    links: list
    revisions: list


def links_for_entry(entry: Entry) -> EntryRunbooks:
    """Runbooks this entry points to, and the revisions it caused (for the entry page).

    The caller has already checked that the viewer may see the entry; runbooks are readable
    by every signed-in user.
    """
    links = list(
        RunbookLink.objects.filter(entry=entry)
        .select_related("runbook", "revision")
        .defer(*revision_text("revision"))
        .order_by("runbook__title")
    )
    revisions = list(
        RunbookRevision.objects.filter(entries=entry)
        .select_related("runbook", "author")
        .defer(*revision_text(""))
        .order_by("runbook__title", "number")
    )
    return EntryRunbooks(links=links, revisions=revisions)


def last_run_before(run: RunbookRun) -> RunbookRun | None:
    return (
        run.runbook.runs.filter(Q(started_at__lt=run.started_at))
        .exclude(pk=run.pk)
        .order_by("-started_at")
        .first()
    )


def changed_since_last_run(run: RunbookRun) -> RunbookRevision | None:
    """The previous run's revision when this run uses a newer one ("changed since")."""
    if run.previous_revision_id is None:
        return None
    return (
        RunbookRevision.objects.defer(*revision_text(""))
        .filter(pk=run.previous_revision_id, number__lt=run.revision.number)
        .first()
    )


@dataclass
class StepRow:
    """What the checklist shows of one step (read as plain values: a run can have ~1,000)."""

    number: int
    heading: str
    text: str
    html: str
    state: str
    note: str
    reason: str
    recorded_at: datetime | None
    recorded_by: str
    version: int = 0
    seconds: int | None = None


_STEP_COLUMNS = [
    "number", "heading", "text", "html", "state", "note", "reason", "recorded_at",
]  # fmt: skip


def _step_rows(steps: QuerySet[RunStep]) -> list[StepRow]:
    rows = steps.order_by("number").values_list(*_STEP_COLUMNS, "recorded_by__username", "version")
    return [StepRow(*row[:-2], recorded_by=row[-2] or "", version=row[-1]) for row in rows]


def steps_changed_after(run: RunbookRun, version: int, also=()) -> list[StepRow]:
    """The run's steps changed after the run's change number `version`, and the steps
    numbered `also` (the live checklist)."""
    return _step_rows(run.steps.filter(Q(version__gt=version) | Q(number__in=list(also))))


def step_groups(run: RunbookRun) -> list[tuple[str, list[StepRow]]]:
    """Steps grouped under their headings, in order; recorded steps get `.seconds` (from the
    previous check-off, or the run's start)."""
    steps = _step_rows(run.steps.all())
    previous = run.started_at
    for step in steps:
        if step.recorded_at is not None and step.state != RunStep.State.PENDING:
            step.seconds = max(0, int((step.recorded_at - previous).total_seconds()))
            previous = max(previous, step.recorded_at)
    groups: list[tuple[str, list[StepRow]]] = []
    for step in steps:
        if not groups or groups[-1][0] != step.heading:
            groups.append((step.heading, []))
        groups[-1][1].append(step)
    return groups


def run_progress(groups: list[tuple[str, list[StepRow]]]) -> dict:
    """How many steps are done, skipped and pending, and the total (from step_groups)."""
    counts = {s: 0 for s in RunStep.State.values}
    for _, steps in groups:
        for step in steps:
            counts[step.state] += 1
    counts["total"] = sum(counts.values())
    return counts


def timeline_items(event: Event) -> list[tuple[datetime, str, str]]:
    """Runs and step check-offs of the event as (time, label, url), oldest first."""
    items = []
    runs = (
        RunbookRun.objects.filter(event=event)
        .select_related("runbook", "revision")
        .defer(*revision_text("revision"))
    )
    for run in runs:
        url = reverse("runbooks:run", args=[run.pk])
        title = f"{run.runbook.title} (r{run.revision.number})"
        items.append((run.started_at, f"Runbook run started: {title}", url))
        if run.finished_at:
            items.append((run.finished_at, f"Runbook run finished: {title}", url))
    steps = (
        RunStep.objects.filter(run__event=event, recorded_at__isnull=False)
        .exclude(state=RunStep.State.PENDING)
        .select_related("run__runbook")
    )
    for step in steps:
        verb = "done" if step.state == RunStep.State.DONE else "skipped"
        label = f"{step.run.runbook.title}: step {step.number} {verb}: {step.text[:80]}"
        items.append(
            (
                step.recorded_at,
                label,
                reverse("runbooks:run", args=[step.run_id]) + f"#step-{step.number}",
            )
        )
    items.sort(key=lambda item: item[0])
    return items


def revisions_citing(entry_ids) -> list[RunbookChange]:
    """Revisions that cite any of these entries, oldest first (retro.hooks.runbook_changes:
    what a learning changed, for retro's finalize, board and the report)."""
    rows = (
        RunbookRevision.entries.through.objects.filter(entry_id__in=list(entry_ids))
        .select_related("runbookrevision__runbook")
        .defer(*revision_text("runbookrevision"))
        .order_by("runbookrevision__created_at", "runbookrevision__number")
    )
    return [
        RunbookChange(
            entry_id=row.entry_id,
            runbook=row.runbookrevision.runbook.title,
            number=row.runbookrevision.number,
            summary=row.runbookrevision.summary,
            url=reverse(
                "runbooks:revision",
                args=[row.runbookrevision.runbook.slug, row.runbookrevision.number],
            ),
            at=row.runbookrevision.created_at,
        )
        for row in rows
    ]
