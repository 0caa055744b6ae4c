"""The show clock: which session is on air now and which is next, with the moments to count
down to, and the actual on-air and off-air times operators mark (the schedule says when a
session should air; these say when it did).

Marks go through mark_on_air / mark_off_air only (the board's buttons, the HTML form and the
API alike): leads and operators, validated, audited with the old and new time.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from . import audit, selectors
from .models import Event, Role, Session

# A mark may be back-dated (the button was pressed late) but not set in the future beyond
# clock skew between the operator's machine and the server.
FUTURE_SKEW = timedelta(minutes=2)
# How far back a mark may reach: a day covers a forgotten off-air overnight.
MARK_REACH = timedelta(days=1)


@dataclass
class SessionClock:
    """One session as the clock shows it."""

    session: Session
    on_air: bool
    countdown_to: datetime  # the next moment that matters: on air (next) or off air (current)
    countdown_label: str  # "on air in" / "off air in" / "over by"
    start_delta: timedelta | None  # actual start minus scheduled start (late > 0)
    end_delta: timedelta | None

    def as_json(self, event: Event) -> dict:
        s = self.session
        return {
            "slug": s.slug,
            "title": s.title,
            "room": s.room,
            "on_air": self.on_air,
            "scheduled_start": s.scheduled_start.isoformat(),
            "scheduled_end": s.scheduled_end.isoformat(),
            "actual_start": s.actual_start.isoformat() if s.actual_start else None,
            "actual_end": s.actual_end.isoformat() if s.actual_end else None,
            "countdown_to": self.countdown_to.isoformat(),
            "countdown_label": self.countdown_label,
            "start_delta_seconds": _seconds(self.start_delta),
            "end_delta_seconds": _seconds(self.end_delta),
            "time_zone": event.time_zone,
        }


@dataclass
class ShowClock:
    """The current and the next session of an event at a moment."""

    now: datetime
    current: SessionClock | None
    next: SessionClock | None

    def as_json(self, event: Event) -> dict:
        return {
            "now": self.now.isoformat(),
            "current": self.current.as_json(event) if self.current else None,
            "next": self.next.as_json(event) if self.next else None,
        }


def _seconds(delta: timedelta | None) -> int | None:
    return None if delta is None else round(delta.total_seconds())


def deltas(session: Session) -> tuple[timedelta | None, timedelta | None]:
    """How late (positive) or early (negative) the session went on and off air."""
    start = session.actual_start - session.scheduled_start if session.actual_start else None
    end = session.actual_end - session.scheduled_end if session.actual_end else None
    return start, end


def is_on_air(session: Session, now: datetime) -> bool:
    """On air by its marks when it has them, else by its schedule."""
    if session.actual_end is not None and session.actual_end <= now:
        return False
    if session.actual_start is not None:
        return session.actual_start <= now
    return session.scheduled_start <= now < session.scheduled_end


def session_clock(session: Session, now: datetime) -> SessionClock:
    """The clock of one session at `now`: on air or not, and what to count down to."""
    on_air = is_on_air(session, now)
    start_delta, end_delta = deltas(session)
    if on_air:
        target = session.scheduled_end
        label = "off air in" if target > now else "over by"
    else:
        target = session.scheduled_start
        label = "on air in" if target > now else "late by"
    return SessionClock(session, on_air, target, label, start_delta, end_delta)


def show_clock(event: Event, now: datetime | None = None) -> ShowClock:
    """The session on air now (the latest started, if two overlap) and the next one due."""
    now = now or timezone.now()
    sessions = list(event.sessions.order_by("scheduled_start", "title"))
    airing = [s for s in sessions if is_on_air(s, now)]
    current = max(airing, key=lambda s: s.actual_start or s.scheduled_start, default=None)
    waiting = [
        s
        for s in sessions
        if s is not current
        and s.actual_start is None
        and s.actual_end is None
        and (s.scheduled_start > now or (s.scheduled_end > now and s not in airing))
    ]
    upcoming = min(waiting, key=lambda s: s.scheduled_start, default=None)
    return ShowClock(
        now=now,
        current=session_clock(current, now) if current else None,
        next=session_clock(upcoming, now) if upcoming else None,
    )


def _check_may_mark(actor, session: Session) -> None:
    if not selectors.has_role(actor, session.event, Role.OPERATOR):
        raise PermissionDenied("Leads and operators mark a session on and off air.")


def _check_moment(at: datetime, now: datetime, field: str) -> None:
    if timezone.is_naive(at):
        raise ValidationError({field: "Give the time with its zone."})
    if at > now + FUTURE_SKEW:
        raise ValidationError({field: "This time is in the future: mark it when it happens."})
    if at < now - MARK_REACH:
        raise ValidationError({field: "This time is more than a day ago."})


def _save_mark(session: Session, actor, field: str, at: datetime | None, what: str) -> Session:
    old = getattr(session, field)
    setattr(session, field, at)
    session.save(update_fields=[field])
    scheduled = session.scheduled_start if field == "actual_start" else session.scheduled_end
    if at is None:
        summary = f"{session.title}: {what} mark cleared"
    else:
        late = int((at - scheduled).total_seconds() // 60)
        side = f"{abs(late)} min {'late' if late > 0 else 'early'}" if late else "on time"
        summary = f"{session.title}: {what} at {at.astimezone(session.event.tz):%H:%M %Z} ({side})"
    audit.record(
        actor=actor,
        action=f"session.{field}",
        obj=session,
        event=session.event,
        summary=summary,
        changes={field: [old.isoformat() if old else None, at.isoformat() if at else None]},
    )
    return session


@transaction.atomic
def mark_on_air(*, session: Session, actor, at: datetime | None = None) -> Session:
    """Record when the session actually went on air (now, or a given earlier time)."""
    session = Session.objects.select_for_update().select_related("event").get(pk=session.pk)
    _check_may_mark(actor, session)
    now = timezone.now()
    at = at or now
    _check_moment(at, now, "at")
    if session.actual_end is not None and at >= session.actual_end:
        raise ValidationError({"at": "On air must come before the off-air time already marked."})
    return _save_mark(session, actor, "actual_start", at, "on air")


@transaction.atomic
def mark_off_air(*, session: Session, actor, at: datetime | None = None) -> Session:
    """Record when the session actually went off air; it must have gone on air first."""
    session = Session.objects.select_for_update().select_related("event").get(pk=session.pk)
    _check_may_mark(actor, session)
    now = timezone.now()
    at = at or now
    _check_moment(at, now, "at")
    if session.actual_start is None:
        raise ValidationError({"at": "Mark the session on air first."})
    if at <= session.actual_start:
        raise ValidationError({"at": "Off air must come after the on-air time."})
    return _save_mark(session, actor, "actual_end", at, "off air")


@transaction.atomic
def clear_marks(*, session: Session, actor) -> Session:
    """Undo a mistaken mark: the session follows its schedule again (audited)."""
    session = Session.objects.select_for_update().select_related("event").get(pk=session.pk)
    _check_may_mark(actor, session)
    if session.actual_end is not None:
        return _save_mark(session, actor, "actual_end", None, "off air")
    if session.actual_start is not None:
        return _save_mark(session, actor, "actual_start", None, "on air")
    return session


def schedule_rows(event: Event) -> list[dict]:
    """Every session's scheduled and actual on-air moments, with how late or early each
    mark was (the report shows them in the event's zone)."""
    rows = []
    for s in event.sessions.order_by("scheduled_start", "title"):
        start_delta, end_delta = deltas(s)
        rows.append(
            {
                "title": s.title,
                "slug": s.slug,
                "scheduled_start": s.scheduled_start,
                "scheduled_end": s.scheduled_end,
                "actual_start": s.actual_start,
                "actual_end": s.actual_end,
                "start_delta": delta_label(start_delta),
                "end_delta": delta_label(end_delta),
            }
        )
    return rows


def delta_label(delta: timedelta | None) -> str:
    """'+4 min' late, '-2 min' early, 'on time' within a minute; empty when not marked."""
    if delta is None:
        return ""
    minutes = (
        int(delta.total_seconds() // 60)
        if delta.total_seconds() >= 0
        else -int(-delta.total_seconds() // 60)
    )
    return "on time" if minutes == 0 else f"{minutes:+d} min"
