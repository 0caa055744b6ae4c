"""Finalizing an event's retro and reopening it: what a finalize freezes, when it is refused,
and the reasons a lead gives. The meeting page, the confirmation page and the API all call
these functions, so the rules and the audit lines are written once."""

from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from . import audit, hooks, loop, selectors, services
from .models import Entry, Event, live_entries

ONLY_WINS_MESSAGE = (
    "This retro has wins but no learnings, and a retro with only wins is not done: "
    "log what the team learned, or give a written reason to finalize it anyway."
)
EMPTY_MESSAGE = "This retro has no entries: log its wins, learnings and actions first."
UNDECIDED_MESSAGE = (
    "{count} learning(s) have no decision yet: give each an action, a runbook revision "
    "that cites it, or a written “no change needed”, or finalize with a written reason."
)
LIVE_MESSAGE = (
    "{name} is still live: operators are logging entries, and every one of them would be "
    "refused once the retro is finalized. Finalize after the event, or give a written reason."
)
REOPEN_REASON_MESSAGE = "Say why the retro is reopened: the reason goes into the audit log."


def is_live(event: Event, now: datetime | None = None) -> bool:
    """The event is on: its state is Live, or now falls between its start and end and it is
    not closed."""
    now = now or timezone.now()
    if event.state == Event.State.LIVE:
        return True
    return event.state != Event.State.CLOSED and event.start <= now <= event.end


@dataclass
class FinalizePreview:
    """What a finalize would freeze, and what stands in its way."""

    event: Event
    counts: dict[str, int]
    undecided: list[Entry] = field(default_factory=list)
    live: bool = False
    problems: dict[str, list[str]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def needs_reason(self) -> bool:
        """Only a written reason lets this finalize through (an empty retro never goes)."""
        return bool(self.problems) and "entries" not in self.problems


def finalize_preview(event: Event, *, now: datetime | None = None) -> FinalizePreview:
    """Counts of the live entries by kind, the learnings without a decision, and every
    reason the finalize would be refused without a lead's written reason."""
    rows = live_entries().filter(event=event).values("kind").annotate(n=Count("pk"))
    counts = {kind: 0 for kind in Entry.Kind.values}
    counts.update({row["kind"]: row["n"] for row in rows})
    preview = FinalizePreview(event=event, counts=counts, live=is_live(event, now))
    if not preview.total:
        preview.problems["entries"] = [EMPTY_MESSAGE]
        return preview
    if preview.live:
        preview.problems["live"] = [LIVE_MESSAGE.format(name=event.name)]
    if counts[Entry.Kind.WIN] and not counts[Entry.Kind.LEARNING]:
        preview.problems["override_reason"] = [ONLY_WINS_MESSAGE]
    preview.undecided = loop.undecided_learnings(event)
    if preview.undecided:
        preview.problems["learnings"] = [UNDECIDED_MESSAGE.format(count=len(preview.undecided))] + [
            f"#{str(e.pk)[:8]}: {e.body[:80]}" for e in preview.undecided
        ]
    return preview


@transaction.atomic
def finalize_retro(*, event: Event, actor, override_reason: str = "") -> Event:
    """Close the retro: entries become read-only except action status.

    Refused for an empty retro; while the event is live, for a retro with wins but no
    learnings, or with learnings that have no decision (loop.undecided_learnings), only with
    a lead's written reason, kept on the event and in the audit log with what it passed over.
    """
    event = Event.objects.select_for_update().get(pk=event.pk)
    if not selectors.can_finalize_retro(actor, event):
        raise PermissionDenied("Only a lead finalizes the retro.")
    if event.retro_finalized_at is not None:
        return event
    reason = (override_reason or "").strip()
    if len(reason) > services.MAX_BODY:
        raise ValidationError({"override_reason": f"At most {services.MAX_BODY} characters."})
    preview = finalize_preview(event)
    if "entries" in preview.problems or (preview.problems and not reason):
        raise ValidationError(preview.problems)
    overridden = sorted(preview.problems)
    event.retro_finalized_at = timezone.now()
    event.retro_finalized_by = actor
    event.retro_override_reason = reason if overridden else ""
    event.save(update_fields=["retro_finalized_at", "retro_finalized_by", "retro_override_reason"])
    changes = {
        "retro_finalized_at": [None, event.retro_finalized_at.isoformat()],
        "frozen": preview.counts,
    }
    if overridden:
        changes["retro_override_reason"] = ["", reason]
        changes["overridden"] = overridden
    if preview.undecided:
        changes["undecided_learnings"] = [str(e.pk) for e in preview.undecided]
    audit.record(
        actor=actor,
        action="retro.finalize",
        obj=event,
        event=event,
        summary="Retro finalized" + (f" with an override: {reason}" if overridden else ""),
        changes=changes,
    )
    hooks.announce("retro.finalized", event)
    return event


def can_reopen_retro(user, event: Event) -> bool:
    """Leads of the event (and admins) reopen its finalized retro."""
    return selectors.can_finalize_retro(user, event)


@transaction.atomic
def reopen_retro(*, event: Event, actor, reason: str) -> Event:
    """Make a finalized retro editable again, for a written reason; the finalize and the
    reopen both stay in the audit log."""
    event = Event.objects.select_for_update().get(pk=event.pk)
    if not can_reopen_retro(actor, event):
        raise PermissionDenied("Only a lead reopens a finalized retro.")
    if event.retro_finalized_at is None:
        return event
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": REOPEN_REASON_MESSAGE})
    if len(reason) > services.MAX_BODY:
        raise ValidationError({"reason": f"At most {services.MAX_BODY} characters."})
    changes = {
        "retro_finalized_at": [event.retro_finalized_at.isoformat(), None],
        "reason": reason,
    }
    if event.retro_override_reason:
        changes["retro_override_reason"] = [event.retro_override_reason, ""]
    event.retro_finalized_at = None
    event.retro_finalized_by = None
    event.retro_override_reason = ""
    event.save(update_fields=["retro_finalized_at", "retro_finalized_by", "retro_override_reason"])
    audit.record(
        actor=actor,
        action="retro.reopen",
        obj=event,
        event=event,
        summary=f"Retro reopened: {reason}",
        changes=changes,
    )
    return event
