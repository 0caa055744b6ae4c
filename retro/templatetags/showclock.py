"""The board's show clock ({% show_clock event %}) and the actual on-air window drawn under
a session's scheduled band on the timeline ({% actual_band band span event %})."""

from django import template
from django.utils import timezone
from django.utils.html import format_html

from tally.times import in_zone

from .. import selectors, showclock
from ..models import Role

register = template.Library()


@register.inclusion_tag("retro/_show_clock.html", takes_context=True)
def show_clock(context, event):
    """The current and next session with their countdowns; mark buttons for operators+."""
    request = context.get("request")
    user = context.get("user")
    clock = showclock.show_clock(event)
    return {
        "event": event,
        "clock": clock,
        "parts": [("now", clock.current), ("next", clock.next)],
        "can_mark": user is not None and selectors.has_role(user, event, Role.OPERATOR),
        "next_url": request.get_full_path() if request is not None else "",
        "csrf_token": context.get("csrf_token"),
    }


@register.simple_tag
def actual_band(band, span, event):
    """A thin bar under the scheduled band: when the session really was on air (to now while
    it still is), titled with both windows and how late or early it went on and off air."""
    session = band["session"]
    if session.actual_start is None:
        return ""
    end = session.actual_end or max(timezone.now(), session.actual_start)
    x = span.pct(session.actual_start)
    width = max(round(span.pct(end) - x, 2), 0.3)
    start_delta, end_delta = showclock.deltas(session)
    title = (
        f"{session.title} · actually on air {in_zone(session.actual_start, event, 'clock')}"
        f" ({showclock.delta_label(start_delta)}) to "
        + (
            f"{in_zone(session.actual_end, event, 'clock')} ({showclock.delta_label(end_delta)})"
            if session.actual_end
            else "still on air"
        )
        + f" · scheduled {in_zone(session.scheduled_start, event, 'clock')} to "
        f"{in_zone(session.scheduled_end, event, 'clock')}"
    )
    return format_html(
        '<rect class="actual-band" x="{}%" y="{}" width="{}%" height="4" rx="1"><title>{}</title>'
        "</rect>",
        x,
        band["y"] + 22,
        width,
        title,
    )


@register.filter
def offset_label(delta):
    """'+4 min' / '-2 min' / 'on time' for a timedelta (empty when None)."""
    return showclock.delta_label(delta)
