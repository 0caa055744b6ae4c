"""Reads about actions across events: open, overdue, carried over from earlier events."""

from django.db.models import QuerySet
from django.utils import timezone

from .models import Entry, Event, live_entries

OPEN_STATUSES = (Entry.Status.OPEN, Entry.Status.IN_PROGRESS)


def open_actions() -> QuerySet[Entry]:
    """Actions still to do, across every event."""
    return live_entries().filter(kind=Entry.Kind.ACTION, status__in=OPEN_STATUSES)


def carried_over_actions(event: Event) -> QuerySet[Entry]:
    """Open actions of closed events that ended before this one started: they stay on this
    event's board until done or dropped."""
    return (
        open_actions()
        .filter(event__state=Event.State.CLOSED, event__end__lte=event.start)
        .exclude(event=event)
        .select_related("event", "owner")
        .order_by("due", "occurred_at")
    )


def overdue_actions(today=None) -> QuerySet[Entry]:
    """Open actions whose due date has passed."""
    today = today or timezone.localdate()
    return open_actions().filter(due__lt=today)
