"""Reads shared by views, API and tasks, and every access check: one gate per event."""

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from .models import ROLE_RANK, Event, Membership, Role


def is_admin(user) -> bool:
    """Django staff are Tally admins."""
    return bool(user.is_authenticated and (user.is_staff or user.is_superuser))


def role_for(user, event: Event) -> str | None:
    """The user's role on the event; admins act as leads everywhere."""
    if not user.is_authenticated:
        return None
    if is_admin(user):
        return Role.LEAD
    cache = getattr(user, "_tally_roles", None)
    if cache is None:
        cache = user._tally_roles = {}
    if event.pk not in cache:
        cache[event.pk] = (
            Membership.objects.filter(event=event, user=user).values_list("role", flat=True).first()
        )
    return cache[event.pk]


def has_role(user, event: Event, minimum: str) -> bool:
    """True when the user's role on the event is at least `minimum`."""
    role = role_for(user, event)
    return role is not None and ROLE_RANK[role] >= ROLE_RANK[minimum]


def events_for_user(user) -> QuerySet[Event]:
    """Events the user may see: all for admins, their memberships otherwise."""
    if not user.is_authenticated:
        return Event.objects.none()
    if is_admin(user):
        return Event.objects.all()
    return Event.objects.filter(memberships__user=user)


def event_for_user(user, slug: str, minimum: str = Role.VIEWER) -> Event:
    """The event if the user may see it; 404 for outsiders, so nothing leaks.

    A member below `minimum` gets PermissionDenied (403): they know the event exists.
    """
    from django.core.exceptions import PermissionDenied

    event = events_for_user(user).filter(slug=slug).first()
    if event is None:
        raise Http404("No such event.")
    if not has_role(user, event, minimum):
        raise PermissionDenied(f"This needs the {minimum} role on {event.name}.")
    return event


def events_with_counts(user) -> QuerySet[Event]:
    """The home page list: each event with its session, feed and entry counts."""
    return events_for_user(user).annotate(
        session_count=Count("sessions", distinct=True),
        feed_count=Count("feeds", distinct=True),
        entry_count=Count("entries", filter=Q(entries__deleted_at__isnull=True), distinct=True),
    )
