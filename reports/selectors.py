"""Reads for reports, and their access check: a report is seen through its event."""

from django.db.models import QuerySet
from django.http import Http404

from retro import selectors
from retro.models import Event

from .models import Report


def reports_of(event: Event) -> QuerySet[Report]:
    """Every version of the event's reports, newest first."""
    return Report.objects.filter(event=event).select_related("event", "requested_by")


def report_for_user(user, pk) -> Report:
    """A report of an event the user is a member of (any role); 404 otherwise."""
    report = (
        Report.objects.select_related("event", "requested_by")
        .filter(event__in=selectors.events_for_user(user), pk=pk)
        .first()
    )
    if report is None:
        raise Http404("No such report.")
    return report
