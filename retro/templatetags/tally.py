"""Template helpers: times in the viewer's and the event's zone, rendered Markdown."""

import zoneinfo
from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.html import format_html

register = template.Library()


def _zone_label(moment: datetime) -> str:
    return moment.tzname() or ""


@register.filter
def dual_time(value: datetime | None, event=None):
    """'14:05 CET' in the viewer's zone, plus the event's zone when it differs."""
    if value is None:
        return ""
    viewer = timezone.localtime(value)
    text = f"{viewer:%a %d %b %H:%M} {_zone_label(viewer)}"
    if event is not None:
        local = value.astimezone(zoneinfo.ZoneInfo(event.time_zone))
        if local.utcoffset() != viewer.utcoffset():
            return format_html(
                '<time datetime="{}">{}</time> <span class="event-tz">· {} {} event</span>',
                value.isoformat(),
                text,
                f"{local:%H:%M}",
                _zone_label(local),
            )
    return format_html('<time datetime="{}">{}</time>', value.isoformat(), text)


@register.filter
def event_time(value: datetime | None, event):
    """A time in the event's own zone."""
    if value is None:
        return ""
    local = value.astimezone(zoneinfo.ZoneInfo(event.time_zone))
    return f"{local:%a %d %b %H:%M} {_zone_label(local)}"


@register.filter
def clock(value: datetime | None):
    """HH:MM in the viewer's zone."""
    if value is None:
        return ""
    return f"{timezone.localtime(value):%H:%M}"
