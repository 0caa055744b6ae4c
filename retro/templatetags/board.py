"""Template helpers of the live board."""

from django import template

from .. import loop, selectors
from ..models import Entry, Role

register = template.Library()


@register.simple_tag(takes_context=True)
def can_edit_entry(context, entry, viewer_role) -> bool:
    """The one rule of who may edit an entry (retro.selectors.can_edit_entry), for the
    signed-in user with the role the page already knows."""
    user = context.get("user")
    if user is None or not viewer_role:
        return False
    return selectors.can_edit_entry(user, entry, viewer_role)


def _recurrence_index(context, item) -> loop.RecurrenceIndex:
    """One index per event and page render (a board draws many entries and anomalies);
    `item` is an entry or a feed: its event is read only the first time."""
    cache = getattr(context, "tally_recurrence", None)
    if cache is None:
        cache = context.tally_recurrence = {}
    if item.event_id not in cache:
        cache[item.event_id] = loop.RecurrenceIndex(item.event)
    return cache[item.event_id]


@register.inclusion_tag("retro/_recurrence.html", takes_context=True)
def recurrence_badge(context, entry):
    """The "flagged at 3 of the last 4 events" badge of a learning whose place recurred."""
    if entry.kind != Entry.Kind.LEARNING:
        return {}
    feeds = list(entry.feeds.all())
    if not feeds:
        return {}
    return {"recurrence": _recurrence_index(context, entry).of(feeds)}


@register.inclusion_tag("retro/_recurrence.html", takes_context=True)
def feed_recurrence(context, feed):
    """The same for a feed (its page, its anomalies): learnings or anomalies at the same
    place at earlier events of the chain."""
    return {"recurrence": _recurrence_index(context, feed).of([feed])}


@register.inclusion_tag("retro/_entry_recurrence.html", takes_context=True)
def entry_recurrence(context, entry):
    """The entry page's "seen before": the place's recurrence, the earlier learnings linked
    as the same problem, and similar learnings of earlier events to link."""
    user = context["user"]
    if entry.kind != Entry.Kind.LEARNING:
        return {"entry": entry}
    visible = selectors.events_for_user(user)
    linked = [
        link.earlier
        for link in entry.recurrence_links.filter(earlier__event__in=visible).select_related(
            "earlier__event"
        )
    ]
    linked_ids = {e.pk for e in linked}
    return {
        "entry": entry,
        "recurrence": loop.recurrence_of_feeds(entry.event, list(entry.feeds.all())),
        "linked": linked,
        "seen_before": [
            e
            for e in loop.similar_learnings(visible, entry.event, entry.body)
            if e.pk not in linked_ids
        ],
        "can_link": selectors.has_role(user, entry.event, Role.OPERATOR),
        "csrf_token": context.get("csrf_token"),
    }
