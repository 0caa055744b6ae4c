"""Reads about actions across events: open and overdue (carry-over: retro.loop)."""

from django.db.models import QuerySet
from django.utils import timezone

from .models import Entry, live_entries

OPEN_STATUSES = (Entry.Status.OPEN, Entry.Status.IN_PROGRESS)


def open_actions() -> QuerySet[Entry]:
    """Actions still to do, across every event."""
    return live_entries().filter(kind=Entry.Kind.ACTION, status__in=OPEN_STATUSES)


def overdue_actions(today=None) -> QuerySet[Entry]:
    """Open actions whose due date has passed."""
    today = today or timezone.localdate()
    return open_actions().filter(due__lt=today)
