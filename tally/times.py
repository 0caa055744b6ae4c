"""One reading of a time from outside (a query parameter, a form or JSON field, a rundown):
ISO 8601 with a zone, inside the years Tally can compute with."""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_datetime

# Event times, entry times and telemetry all fall well inside these years; outside them the
# arithmetic around a time (windows, zones, partitions by day) would overflow.
FIRST_YEAR, LAST_YEAR = 1970, 2999
REQUIRED = object()


def parse_instant(value, field: str, default=REQUIRED) -> datetime:
    """The aware datetime `value` names, `default` when it is empty (if one is given), or a
    ValidationError naming `field`: not ISO 8601, no zone, a NUL, or an unusable year."""
    text = value.strip() if isinstance(value, str) else ""
    if not text and default is not REQUIRED:
        return default
    if "\x00" in text:
        raise ValidationError({field: "The time contains a NUL character."})
    moment = _parse(text)
    if moment is None:
        raise ValidationError({field: f"{text[:40]!r} is not an ISO 8601 time."})
    if moment.tzinfo is None:
        raise ValidationError({field: "A time with its zone is required (e.g. …Z or +01:00)."})
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise ValidationError({field: f"The year must be from {FIRST_YEAR} to {LAST_YEAR}."})
    return moment


def _parse(text: str) -> datetime | None:
    try:
        moment = parse_datetime(text)
        if moment is None or (moment.tzinfo is None and " " in text):
            # A "+01:00" in a query string that nobody encoded arrives as " 01:00".
            head, _, tail = text.rpartition(" ")
            moment = parse_datetime(f"{head}+{tail}") or moment
        if moment is not None and moment.tzinfo is not None:
            moment.utcoffset()  # an offset past ±24 h fails here, not later
        return moment
    except (ValueError, OverflowError):
        return None
