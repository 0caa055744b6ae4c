"""Runbook parts for pages: the run's checklist, step pickers, and the runbook parts that retro
pages show without importing runbooks (an entry's runbooks, the timeline's runbook lane)."""

from functools import lru_cache

from django import template
from django.utils.html import format_html_join
from django.utils.text import Truncator

from .. import checklist as checklists
from .. import selectors

register = template.Library()
register.filter("duration", checklists.duration)


@register.simple_tag(takes_context=True)
def checklist(context, run, groups, can_run):
    """A run's steps under their headings, built in Python (runbooks.checklist): a runbook
    with ~1,000 steps stays fast."""
    return checklists.checklist(
        run, groups, can_run=bool(can_run), csrf_token=str(context.get("csrf_token", ""))
    )


@register.simple_tag
def step_options(refs):
    """`<option>`s naming each step ("3. heading: text"): ~1,000 for a long runbook, built
    once per list of steps."""
    return _step_options(tuple(refs))


@lru_cache(maxsize=32)
def _step_options(refs: tuple[str, ...]) -> str:
    return format_html_join(
        "",
        '<option value="{}">{}. {}</option>',
        ((ref, number, Truncator(ref).chars(110)) for number, ref in enumerate(refs, 1)),
    )


@register.inclusion_tag("runbooks/_entry_runbooks.html")
def entry_runbooks(entry):
    """The runbooks an entry points to and the revisions it caused (the entry page)."""
    return {"entry_runbooks": selectors.links_for_entry(entry)}


@register.inclusion_tag("runbooks/_timeline_lane.html")
def runbook_lane(event, span, day_start, day_end, y):
    """The board timeline's runbook lane: the day's runs and check-offs, placed on the
    timeline's span (retro.selectors.TimelineSpan)."""
    marks = [
        {
            "label": f"{moment.astimezone(event.tz):%H:%M} {label}",
            "url": url,
            "x": span.pct(moment),
            "y": y,
        }
        for moment, label, url in selectors.timeline_items(event)
        if day_start <= moment < day_end
    ]
    return {"runbook_marks": marks, "y": y}
