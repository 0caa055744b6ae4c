from functools import lru_cache

from django import template
from django.utils.html import format_html_join
from django.utils.text import Truncator

register = template.Library()


@register.filter
def duration(seconds):
    if seconds is None:
        return ""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {secs:02d}s"


@register.simple_tag(takes_context=True)
def checklist(context, run, groups, can_run):
    """A run's steps under their headings, built in Python (runbooks.checklist): a runbook
    with ~1,000 steps stays fast."""
    from ..checklist import checklist as build

    return build(run, groups, can_run=bool(can_run), csrf_token=str(context.get("csrf_token", "")))


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
