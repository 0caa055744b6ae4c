"""Template helpers for times: every time on a page names its zone (tally.times.in_zone).

- `{% in_zone moment where style %}`: the one tag. `where` is an Event or Site (its zone),
  an IANA name, "viewer" (the zone the browser reported) or "UTC"; `style` is "day"
  (Mon 30 Nov 10:00 PST, the default), "date" (with the year), "clock" (10:00 PST) or "iso".
- `moment|event_time:event`, `moment|dual_time:event`: the same, as filters, for the event's
  zone and for the viewer's plus the event's.
"""

from datetime import datetime

from django import template
from django.utils.html import format_html

from tally.times import in_zone as format_in_zone
from tally.times import zone_of

register = template.Library()


def _time_element(moment: datetime, text: str):
    return format_html('<time datetime="{}">{}</time>', moment.isoformat(), text)


@register.simple_tag(name="in_zone")
def in_zone_tag(moment: datetime | None, where="viewer", style: str = "day") -> str:
    """Plain text in the zone of `where`, with that zone's label (fits an attribute or an
    SVG title too)."""
    return format_in_zone(moment, where, style)


@register.filter
def dual_time(value: datetime | None, event=None):
    """'Mon 30 Nov 14:05 CET' in the viewer's zone, plus the event's clock when it differs."""
    if value is None:
        return ""
    viewer = _time_element(value, format_in_zone(value, "viewer"))
    if event is not None:
        local = value.astimezone(zone_of(event))
        if local.utcoffset() != value.astimezone(zone_of("viewer")).utcoffset():
            return format_html(
                '{} <span class="event-tz">· {} event</span>',
                viewer,
                format_in_zone(value, event, "clock"),
            )
    return viewer


@register.filter
def event_time(value: datetime | None, event):
    """A time in the event's own zone, with its label."""
    return format_in_zone(value, event)
