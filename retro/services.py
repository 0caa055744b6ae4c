"""Writes for events, their signal path and members. Views, API and tasks all call these."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from . import audit
from .models import Event, Feed, Membership, Role

User = get_user_model()

FEED_EDITABLE = {
    "name",
    "kind",
    "language",
    "stage",
    "session",
    "origin",
    "destination",
    "transport",
    "path",
    "source_ids",
    "derived_from",
}


@transaction.atomic
def update_feed(*, feed: Feed, actor, **changes) -> Feed:
    """Change a feed's fields (e.g. its source ids) after the same checks as the admin."""
    unknown = set(changes) - FEED_EDITABLE
    if unknown:
        raise ValidationError({name: "This field cannot be changed." for name in unknown})
    before = {name: _plain(getattr(feed, name)) for name in changes}
    for name, value in changes.items():
        setattr(feed, name, value)
    feed.full_clean()
    feed.save()
    after = {name: _plain(getattr(feed, name)) for name in changes}
    diff = {k: [before[k], after[k]] for k in changes if before[k] != after[k]}
    if diff:
        audit.record(
            actor=actor,
            action="feed.update",
            obj=feed,
            event=feed.event,
            summary=f"Feed {feed.slug} changed",
            changes=diff,
        )
    return feed


def _plain(value):
    """A JSON-friendly form of a field value for the audit log."""
    if hasattr(value, "pk"):
        return str(value)
    return value


@transaction.atomic
def set_membership(*, event: Event, user, role: str, actor) -> Membership:
    """Give a user a role on an event (adding them as a member if needed)."""
    if role not in Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}."})
    membership, created = Membership.objects.get_or_create(
        event=event, user=user, defaults={"role": role}
    )
    old = None if created else membership.role
    if not created and membership.role != role:
        membership.role = role
        membership.save(update_fields=["role"])
    if created or old != role:
        audit.record(
            actor=actor,
            action="membership.set",
            obj=membership,
            event=event,
            summary=f"{user.username} is now {role}",
            changes={"role": [old, role]},
        )
    return membership


@transaction.atomic
def remove_membership(*, event: Event, user, actor) -> None:
    """Take a user off an event; a lead cannot remove the last lead."""
    membership = Membership.objects.filter(event=event, user=user).first()
    if membership is None:
        return
    if membership.role == Role.LEAD and event.memberships.filter(role=Role.LEAD).count() == 1:
        raise ValidationError({"user": "An event needs at least one lead."})
    audit.record(
        actor=actor,
        action="membership.remove",
        obj=membership,
        event=event,
        summary=f"{user.username} removed",
        changes={"role": [membership.role, None]},
    )
    membership.delete()
