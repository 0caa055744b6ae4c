from django import template
from django.utils.safestring import mark_safe

from tally.markdown import render_markdown

register = template.Library()


@register.filter
def markdown(text: str):
    """User Markdown through the shared sanitizing renderer."""
    return mark_safe(render_markdown(text))


@register.filter
def duration(seconds):
    if seconds is None:
        return ""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {secs:02d}s"
