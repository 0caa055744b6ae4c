"""Template helpers of the live board."""

from django import template
from django.core.cache.backends.locmem import LocMemCache
from django.utils import timezone

register = template.Library()


@register.simple_tag(takes_context=True)
def entry_key(context, entry, event, viewer_role, part="head") -> str:
    """Everything that changes how _entry.html draws an entry, for its fragment cache: the
    entry's version (bumped by every edit, delete and restore), the viewer's zone, whether
    they may edit it, and the event it is shown in."""
    user = context.get("user")
    uid = getattr(user, "pk", None)
    editable = viewer_role == "lead" or (
        viewer_role == "operator" and uid is not None and uid in (entry.author_id, entry.owner_id)
    )
    return ":".join(
        str(bit)
        for bit in (
            part,
            entry.pk,
            entry.version,
            timezone.get_current_timezone_name(),
            int(editable),
            event.pk,
            int(event.retro_finalized),
        )
    )


# Drawn entries are kept in this process (a board shows up to ~100 of them, polled by every
# open browser): a shared cache would cost a network round trip per entry.
_drawn = LocMemCache("tally-drawn-entries", {"TIMEOUT": 600, "OPTIONS": {"MAX_ENTRIES": 5000}})


class DrawnEntryNode(template.Node):
    def __init__(self, nodelist, key):
        self.nodelist = nodelist
        self.key = template.Variable(key)

    def render(self, context):
        key = self.key.resolve(context)
        html = _drawn.get(key)
        if html is None:
            html = self.nodelist.render(context)
            _drawn.set(key, html)
        return html


@register.tag
def drawn_entry(parser, token):
    """{% drawn_entry key %}…{% end_drawn_entry %}: render once per key, then reuse."""
    bits = token.split_contents()
    if len(bits) != 2:
        raise template.TemplateSyntaxError("drawn_entry takes one key")
    nodelist = parser.parse(("end_drawn_entry",))
    parser.delete_first_token()
    return DrawnEntryNode(nodelist, bits[1])
