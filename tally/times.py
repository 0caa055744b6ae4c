"""Times in and out: one reading of a time from outside (a query parameter, a form or JSON
field, a rundown: ISO 8601 with a zone, inside the years Tally can compute with), and one way
of writing one (in a named zone, with its label)."""

from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.utils import timezone
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


# --- Showing a time: always in a named zone, always with that zone's label ----------------

TIME_STYLES = {
    "day": "%a %d %b %H:%M",  # Mon 30 Nov 10:00 PST: pages, within an event's days
    "date": "%a %d %b %Y %H:%M",  # Mon 30 Nov 2026 10:00 PST: emails, admin, anything lasting
    "clock": "%H:%M",  # 10:00 PST: the end of a range whose start shows the day
}


def zone_of(where) -> ZoneInfo:
    """The zone a time is shown in: an Event or Site (their time_zone), an IANA name,
    a tzinfo, or None for the viewer's (the active zone of this request)."""
    if where is None or where == "viewer":
        return timezone.get_current_timezone()
    if isinstance(where, tzinfo):
        return where
    name = getattr(where, "time_zone", where)
    return ZoneInfo(str(name))


def zone_label(moment: datetime) -> str:
    """PST, CET, UTC; the offset (+0530) where the zone has no abbreviation."""
    label = moment.tzname() or ""
    return label if label and label[0] not in "+-" else moment.strftime("%z")


def in_zone(moment: datetime | None, where=None, style: str = "day") -> str:
    """`moment` as plain text in the zone of `where`, with the zone's label: the one way
    every page, export and email writes a time (style "iso": ISO 8601 with the offset)."""
    if moment is None:
        return ""
    local = moment.astimezone(zone_of(where))
    if style == "iso":
        return local.isoformat(timespec="seconds")
    return f"{local.strftime(TIME_STYLES[style])} {zone_label(local)}"
