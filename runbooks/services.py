"""Every write to runbooks, their revisions, links and runs: views, API, import and demo
all call these functions."""

import re
from dataclasses import dataclass
from functools import lru_cache

from django.contrib.postgres.search import SearchVector
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone

from retro import audit
from retro import services as retro_services
from retro.models import Entry, Event, Feed, Session, Stage
from retro.selectors import can_change_action_status
from tally.markdown import render_many
from tally.validators import make_slug

from .models import (
    SEARCH_CONFIG,
    Runbook,
    RunbookAlias,
    RunbookLink,
    RunbookRevision,
    RunbookRun,
    RunStep,
    RunStepChange,
)

MAX_BODY = 500_000
RESERVED_SLUGS = {"new", "runs", "preview", "entry-picker"}
EDITABLE = ("title", "slug", "stage", "applies_to", "review_days", "owner")


class StaleRevision(Exception):
    """A save based on an older revision than the runbook's current one."""

    def __init__(self, runbook: Runbook, base: int | None):
        current = runbook.revision_number
        super().__init__(
            f"This runbook was changed since revision {base} (now revision {current}); "
            "compare with the newer text and save again."
        )
        self.runbook = runbook
        self.current = runbook.current


class RunFinished(Exception):
    """A finished run is a record: its steps no longer change."""

    def __init__(self, run: RunbookRun):
        super().__init__(f"Run {run.pk} finished at {run.finished_at:%Y-%m-%d %H:%M %Z}.")
        self.run = run


# --- Steps ---------------------------------------------------------------------

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_TASK = re.compile(r"^\s{0,3}[-*+]\s+\[( |x|X)\]\s+(.*\S)\s*$")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")


@dataclass(frozen=True)
class Step:
    number: int
    heading: str
    text: str


def parse_steps(body: str) -> list[Step]:
    """The task-list items of a Markdown body, numbered from 1, with their nearest heading."""
    return list(_parse_steps(body or ""))


@lru_cache(maxsize=32)
def _parse_steps(body: str) -> tuple[Step, ...]:
    """Revision bodies never change: the pages of a long runbook parse it once per process."""
    steps: list[Step] = []
    heading = ""
    in_fence = False
    for line in (body or "").splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        if m := _HEADING.match(line):
            heading = m.group(2)[:300]
        elif m := _TASK.match(line):
            steps.append(Step(number=len(steps) + 1, heading=heading, text=m.group(2)))
    return tuple(steps)


def _sections(body: str) -> list[str]:
    """The body cut before each heading that is outside a fenced block."""
    sections, current, in_fence = [], [], False
    for line in body.split("\n"):
        if _FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence and _HEADING.match(line) and current:
            sections.append("\n".join(current))
            current = []
        current.append(line)
    sections.append("\n".join(current))
    return sections


def render_body(body: str) -> str:
    """A runbook body as sanitized HTML, section by section (cut at headings).

    A new revision usually changes one section: the unchanged ones come from the shared
    render cache (tally.markdown.render_many). Every section still goes through the one
    renderer, so sanitizing is unchanged.
    """
    return "\n".join(render_many(_sections(body or "")))


_PLACEHOLDER = re.compile(r"\{(event|session|feed)\}")


def placeholders(*, event: Event, session: Session | None, feed: Feed | None) -> dict:
    """What {event}, {session} and {feed} stand for in a run's steps (known ones only)."""
    names = {"event": event.slug}
    if session is not None:
        names["session"] = session.slug
    if feed is not None:
        names["feed"] = feed.slug
    return names


def fill_placeholders(text: str, names: dict) -> str:
    """A step's text with its placeholders filled in; unknown ones stay, for the operator to
    see that the run has no session or feed."""
    return _PLACEHOLDER.sub(lambda m: names.get(m.group(1), m.group(0)), text)


# --- Runbooks and revisions ----------------------------------------------------------


def _clean_meta(values: dict, errors: dict) -> None:
    if "title" in values:
        values["title"] = (values["title"] or "").strip()
        if not values["title"]:
            errors["title"] = "A runbook needs a title."
        elif len(values["title"]) > 200:
            errors["title"] = "200 characters at most."
    if "stage" in values and values["stage"] not in Stage.values:
        errors["stage"] = f"Unknown stage {values['stage']!r}; use {', '.join(Stage.values)}."
    if "review_days" in values:
        try:
            values["review_days"] = int(values["review_days"])
            if values["review_days"] < 1:
                raise ValueError
        except (TypeError, ValueError):
            errors["review_days"] = "A whole number of days, 1 or more."
    if "applies_to" in values:
        values["applies_to"] = _clean_applies_to(values["applies_to"], errors)


def _clean_applies_to(value, errors: dict) -> dict:
    """{"feed_kinds": [...], "sites": [...]}; a plain list mixes feed kinds and site slugs."""
    if value in (None, "", [], {}):
        return {"feed_kinds": [], "sites": []}
    if isinstance(value, list | tuple):
        value = {
            "feed_kinds": [v for v in value if v in Feed.Kind.values],
            "sites": [v for v in value if v not in Feed.Kind.values],
        }
    if not isinstance(value, dict) or set(value) - {"feed_kinds", "sites"}:
        errors["applies_to"] = 'Expected {"feed_kinds": [...], "sites": [...]}.'
        return {}
    result = {}
    for key in ("feed_kinds", "sites"):
        items = value.get(key) or []
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            errors["applies_to"] = f"{key} is a list of names."
            return {}
        result[key] = [i.strip() for i in items if i.strip()]
    unknown = [k for k in result["feed_kinds"] if k not in Feed.Kind.values]
    if unknown:
        errors["applies_to"] = f"Unknown feed kinds: {', '.join(unknown)}."
    return result


def clean_body(body: str, errors: dict) -> str:
    """A body as it would be saved; its problems go into `errors` under "body"."""
    return _clean_body(body, errors)


def _clean_body(body: str, errors: dict) -> str:
    body = (body or "").replace("\r\n", "\n")
    if not body.strip():
        errors["body"] = "The runbook body is empty."
    elif len(body) > MAX_BODY:
        errors["body"] = f"The body is {len(body)} characters; the limit is {MAX_BODY}."
    elif "\x00" in body:
        errors["body"] = "The body contains a NUL character."
    return body


@transaction.atomic
def create_runbook(
    *,
    title: str,
    stage: str,
    body: str,
    author,
    slug: str = "",
    owner=None,
    applies_to=None,
    review_days: int = 180,
    summary: str = "Created",
    entries=(),
) -> Runbook:
    """A new runbook with its first revision; a slug already in use is a 400."""
    values = {"title": title, "stage": stage, "applies_to": applies_to, "review_days": review_days}
    errors: dict = {}
    _clean_meta(values, errors)
    body = _clean_body(body, errors)
    slug = make_slug(slug or title)
    if not slug:
        errors["slug"] = "A slug (letters, digits, dashes) is required."
    elif slug in RESERVED_SLUGS:
        errors["slug"] = f"{slug!r} is reserved; pick another slug."
    elif Runbook.objects.filter(slug=slug).exists():
        errors["slug"] = f"A runbook with slug {slug!r} already exists."
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    runbook = Runbook(slug=slug, owner=owner, reviewed_at=now, created_at=now, **values)
    runbook.full_clean(exclude=["current"])
    try:
        with transaction.atomic():
            runbook.save()
    except IntegrityError as exc:
        raise ValidationError({"slug": f"A runbook with slug {slug!r} already exists."}) from exc
    RunbookAlias.objects.filter(slug=slug).delete()  # the new runbook takes the address back
    _add_revision(runbook, body=body, author=author, summary=summary, base=None, entries=entries)
    audit.record(actor=author, action="runbook.create", obj=runbook, summary=f"Runbook {slug}")
    return runbook


def _add_revision(runbook, *, body, author, summary, base, entries) -> RunbookRevision:
    number = (
        runbook.revisions.order_by("-number").values_list("number", flat=True).first() or 0
    ) + 1
    revision = RunbookRevision.objects.create(
        runbook=runbook,
        number=number,
        body=body,
        body_html=render_body(body),
        summary=(summary or "").strip()[:300],
        author=author,
        base_number=base,
    )
    index_revisions(revisions=RunbookRevision.objects.filter(pk=revision.pk))
    entries = list(entries)
    if entries:
        revision.entries.set(entries)
    runbook.current = revision
    runbook.updated_at = revision.created_at
    runbook.reviewed_at = revision.created_at
    runbook.save(update_fields=["current", "updated_at", "reviewed_at"])
    _close_actions(runbook, revision, entries, author)
    return revision


def index_revisions(*, revisions) -> int:
    """Store the search vector of these revisions' bodies (PostgreSQL; a no-op on SQLite).

    Anything that writes RunbookRevision rows itself (an archive import, a benchmark) calls
    this afterwards, or the rows are not found by search.
    """
    if connection.vendor != "postgresql":
        return 0
    return revisions.update(search_vector=SearchVector("body", config=SEARCH_CONFIG))


def _close_actions(runbook: Runbook, revision: RunbookRevision, entries, actor) -> None:
    """Actions that point to this runbook are done once a revision referencing them is saved.

    A revision references an action directly, or through the learning the action came from.
    """
    ids = [e.pk for e in entries]
    if not ids:
        return
    actions = Entry.objects.filter(
        kind=Entry.Kind.ACTION,
        runbook_links__runbook=runbook,
        deleted_at__isnull=True,
    ).filter(_action_q(ids))
    to_close = list(actions.exclude(status=Entry.Status.DONE).select_related("event").distinct())
    refused = [a for a in to_close if not can_change_action_status(actor, a)]
    if refused:
        names = ", ".join(f"#{str(a.pk)[:8]} ({a.event.name})" for a in refused)
        raise ValidationError(
            {
                "entries": f"Saving this revision would close actions you may not change: "
                f"{names}. Only their owner or a lead of their event closes them; leave them out."
            }
        )
    for action in to_close:
        retro_services.set_action_status(entry=action, status=Entry.Status.DONE, actor=actor)


def _action_q(ids):
    return Q(pk__in=ids) | Q(source_entry__in=ids)


@transaction.atomic
def save_revision(
    *,
    runbook: Runbook,
    author,
    body: str,
    base_revision: int | None,
    summary: str = "",
    entries=(),
    **meta,
) -> RunbookRevision:
    """Save a new revision; a stale `base_revision` raises StaleRevision (HTTP 409).

    `entries` are the learnings/actions that led to it (callers check the author sees them).

    The same body with no change of metadata makes no new revision.
    """
    runbook = (
        Runbook.objects.select_for_update(of=("self",))
        .select_related("current")
        .defer("current__body_html", "current__search_vector")
        .get(pk=runbook.pk)
    )
    if base_revision is None or int(base_revision) != runbook.revision_number:
        raise StaleRevision(runbook, base_revision)
    unknown = set(meta) - set(EDITABLE)
    if unknown:
        raise ValidationError({name: "This field cannot be changed." for name in unknown})
    errors: dict = {}
    _clean_meta(meta, errors)
    if "slug" in meta:
        meta["slug"] = _clean_new_slug(runbook, meta["slug"], errors)
    body = _clean_body(body, errors)
    if errors:
        raise ValidationError(errors)
    entries = list(entries or [])
    changes = {k: [_plain(getattr(runbook, k)), _plain(v)] for k, v in meta.items()}
    changes = {k: v for k, v in changes.items() if v[0] != v[1]}
    if "slug" in changes:
        _move(runbook, *changes["slug"])
    for name in changes:
        setattr(runbook, name, meta[name])
    if changes:
        runbook.save(update_fields=list(changes))
    if runbook.current and runbook.current.body == body and not entries:
        if changes:
            _audit_update(runbook, author, changes, runbook.current)
        return runbook.current
    revision = _add_revision(
        runbook, body=body, author=author, summary=summary, base=base_revision, entries=entries
    )
    changes["revision"] = [base_revision, revision.number]
    _audit_update(runbook, author, changes, revision)
    return revision


def _move(runbook: Runbook, old: str, new: str) -> None:
    """Keep a renamed runbook's old slug as an alias (old links redirect); the new slug is its
    own address again if it was an alias."""
    RunbookAlias.objects.filter(slug=new).delete()
    RunbookAlias.objects.update_or_create(slug=old, defaults={"runbook": runbook})


def _clean_new_slug(runbook: Runbook, slug, errors: dict) -> str:
    """A runbook's new slug (empty: keep the one it has); taken or reserved ones are refused."""
    raw = (slug or "").strip()
    if not raw:
        return runbook.slug
    slug = make_slug(raw)
    if slug != raw:
        errors["slug"] = (
            f"{raw!r} is not a slug; use lower-case letters, digits and dashes, e.g. {slug!r}."
        )
    elif slug in RESERVED_SLUGS:
        errors["slug"] = f"{slug!r} is reserved; pick another slug."
    elif Runbook.objects.filter(slug=slug).exclude(pk=runbook.pk).exists():
        errors["slug"] = f"A runbook with slug {slug!r} already exists."
    return slug


def _audit_update(runbook, actor, changes, revision) -> None:
    audit.record(
        actor=actor,
        action="runbook.update",
        obj=runbook,
        summary=f"Runbook {runbook.slug} r{revision.number}: {revision.summary}"[:300],
        changes=changes,
    )


def _plain(value):
    return getattr(value, "username", value)


@transaction.atomic
def restore_revision(*, runbook: Runbook, number: int, author) -> RunbookRevision:
    """Make an old revision's body current again, as a new revision."""
    old = runbook.revisions.filter(number=number).first()
    if old is None:
        raise Http404(f"No revision {number}.")
    runbook.refresh_from_db()
    return save_revision(
        runbook=runbook,
        author=author,
        body=old.body,
        base_revision=runbook.revision_number,
        summary=f"Restored revision {number}",
    )


@transaction.atomic
def mark_reviewed(*, runbook: Runbook, actor) -> Runbook:
    """Someone read the runbook and found it still right: it is no longer stale."""
    old = runbook.reviewed_at
    runbook.reviewed_at = timezone.now()
    runbook.save(update_fields=["reviewed_at"])
    audit.record(
        actor=actor,
        action="runbook.review",
        obj=runbook,
        summary=f"Runbook {runbook.slug} reviewed",
        changes={
            "reviewed_at": [old.isoformat() if old else None, runbook.reviewed_at.isoformat()]
        },
    )
    return runbook


@transaction.atomic
def link_entry(*, entry: Entry, runbook: Runbook, actor, step_ref: str = "") -> RunbookLink:
    """Point a learning or action at a runbook (and optionally one of its steps); idempotent."""
    step_ref = (step_ref or "").strip()[:200]
    if entry.kind == Entry.Kind.WIN:
        raise ValidationError({"entry": "Only learnings and actions point to runbooks."})
    link, created = RunbookLink.objects.get_or_create(
        entry=entry,
        runbook=runbook,
        defaults={"step_ref": step_ref, "created_by": actor, "revision": runbook.current},
    )
    if not created and step_ref and link.step_ref != step_ref:
        link.step_ref = step_ref
        link.save(update_fields=["step_ref"])
    if created:
        audit.record(
            actor=actor,
            action="runbook.link",
            obj=link,
            event=entry.event,
            summary=f"{entry.get_kind_display()} linked to {runbook.slug} {step_ref}".strip(),
        )
    return link


# --- Runs ---------------------------------------------------------------------------


@transaction.atomic
def start_run(
    *,
    runbook: Runbook,
    event: Event,
    started_by,
    session: Session | None = None,
    feed: Feed | None = None,
    revision: RunbookRevision | None = None,
    started_at=None,
) -> RunbookRun:
    """Start a run on the current revision; its steps are the revision's task-list items."""
    revision = revision or runbook.current
    errors = {}
    if revision is None:
        errors["runbook"] = "This runbook has no revision to run."
    if session is not None and session.event_id != event.pk:
        errors["session"] = "The session belongs to another event."
    if feed is not None and feed.event_id != event.pk:
        errors["feed"] = "The feed belongs to another event."
    if errors:
        raise ValidationError(errors)
    steps = parse_steps(revision.body)
    if not steps:
        raise ValidationError({"runbook": "This revision has no task-list steps (- [ ] step)."})
    if session is None and feed is not None:
        session = feed.session
    names = placeholders(event=event, session=session, feed=feed)
    steps = [
        Step(s.number, fill_placeholders(s.heading, names), fill_placeholders(s.text, names))
        for s in steps
    ]
    last = runbook.runs.order_by("-started_at", "-pk").first()
    run = RunbookRun.objects.create(
        runbook=runbook,
        revision=revision,
        event=event,
        session=session,
        feed=feed,
        started_by=started_by,
        started_at=started_at or timezone.now(),
        previous_revision=last.revision if last else None,
    )
    html = render_many([s.text for s in steps])
    RunStep.objects.bulk_create(
        RunStep(run=run, number=s.number, heading=s.heading, text=s.text, html=h)
        for s, h in zip(steps, html, strict=True)
    )
    audit.record(
        actor=started_by,
        action="runbook.run.start",
        obj=run,
        event=event,
        summary=f"Run of {runbook.slug} r{revision.number} started",
    )
    return run


@transaction.atomic
def record_step(
    *,
    run: RunbookRun,
    number: int,
    actor,
    state: str | None = None,
    reason: str = "",
    note: str | None = None,
    at=None,
    client_id=None,
) -> RunStep:
    """Check a step off, skip it with a reason, reset it, or add a note (HTTP 409 once finished).

    With a `client_id` (made by the browser's offline queue) a resend of the same change is
    harmless: the step is returned as it is, whatever happened to it since.
    """
    run = RunbookRun.objects.select_for_update().get(pk=run.pk)
    step = run.steps.filter(number=number).first()
    if step is None:
        raise Http404(f"Run {run.pk} has no step {number}.")
    if client_id and (seen := RunStepChange.objects.filter(client_id=client_id).first()):
        if seen.run_id != run.pk or seen.number != number:
            raise ValidationError({"id": "This change id was already used for another step."})
        return step
    if run.finished_at is not None:
        raise RunFinished(run)
    errors = {}
    if state is not None and state not in RunStep.State.values:
        errors["state"] = f"Unknown state {state!r}; use done, skipped or pending."
    reason = (reason or "").strip()
    if state == RunStep.State.SKIPPED and not reason:
        errors["reason"] = "Say why the step is skipped."
    if state is None and note is None:
        errors["state"] = "Give a state (done, skipped, pending) or a note."
    if errors:
        raise ValidationError(errors)
    old_state = step.state
    if state is not None:
        step.state = state
        step.reason = reason if state == RunStep.State.SKIPPED else ""
    if note is not None:
        step.note = note.strip()[:5000]
    step.recorded_by = actor
    step.recorded_at = at or timezone.now()
    step.version = _count_change(run)
    step.save()
    if client_id:
        RunStepChange.objects.create(
            run=run, number=number, client_id=client_id, actor=actor, at=step.recorded_at
        )
    audit.record(
        actor=actor,
        action="runbook.run.step",
        obj=run,
        event=run.event,
        summary=f"Step {number} of {run.runbook.slug}: {step.state}",
        changes={"state": [old_state, step.state]} if old_state != step.state else {},
    )
    return step


def _count_change(run: RunbookRun) -> int:
    """The run's next change number (the caller holds the run's row lock)."""
    run.change_count += 1
    RunbookRun.objects.filter(pk=run.pk).update(change_count=run.change_count)
    return run.change_count


@transaction.atomic
def finish_run(*, run: RunbookRun, actor, at=None) -> RunbookRun:
    """Close a run; finishing twice is harmless."""
    run = RunbookRun.objects.select_for_update().get(pk=run.pk)
    if run.finished_at is None:
        run.finished_at = at or timezone.now()
        run.finished_by = actor
        _count_change(run)
        run.save(update_fields=["finished_at", "finished_by", "change_count"])
        audit.record(
            actor=actor,
            action="runbook.run.finish",
            obj=run,
            event=run.event,
            summary=f"Run of {run.runbook.slug} finished",
        )
    return run
