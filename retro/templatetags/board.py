"""Template helpers of the live board."""

from django import template

from .. import selectors

register = template.Library()


@register.simple_tag(takes_context=True)
def can_edit_entry(context, entry, viewer_role) -> bool:
    """The one rule of who may edit an entry (retro.selectors.can_edit_entry), for the
    signed-in user with the role the page already knows."""
    user = context.get("user")
    if user is None or not viewer_role:
        return False
    return selectors.can_edit_entry(user, entry, viewer_role)
