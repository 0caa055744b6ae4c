"""Writes of the retro meeting (merge, vote, promote, decide) and of action reminders.

Every change of an entry's tracked fields goes through retro.services (edit_entry, log_entry),
so validation, history and the finalized-retro rule are written once.
"""

import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Count, Prefetch
from django.template.loader import render_to_string
from django.utils import timezone

from . import audit, notifications, selectors, services
from .actions import open_actions
from .models import (
    AuditLog,
    Entry,
    EntryRevision,
    Event,
    NoChangeDecision,
    Vote,
    live_entries,
)
from .services import RetroFinalized

# --- Merge ------------------------------------------------------------------


def _ensure_open(event: Event) -> None:
    if event.retro_finalized_at is not None:
        raise RetroFinalized(event)


def _check_merge(keep: Entry, duplicate: Entry) -> None:
    errors = {}
    if keep.pk == duplicate.pk:
        errors["duplicate"] = "An entry cannot be merged into itself."
    elif keep.event_id != duplicate.event_id:
        errors["duplicate"] = "Both entries must belong to the same event."
    elif keep.kind != duplicate.kind:
        errors["duplicate"] = (
            f"Only entries of the same kind merge: this is a {duplicate.get_kind_display()}, "
            f"the kept one a {keep.get_kind_display()}."
        )
    if keep.deleted_at or keep.merged_into_id:
        errors["keep"] = "The entry to keep is deleted or already merged into another."
    if duplicate.deleted_at or duplicate.merged_into_id:
        errors.setdefault("duplicate", "This entry is deleted or already merged.")
    if errors:
        raise ValidationError(errors)


def _merged_fields(keep: Entry, duplicate: Entry) -> tuple[list, dict]:
    """The kept entry's feeds and field changes once the duplicate's links are added."""
    feeds = {f.pk: f for f in keep.feeds.all()}
    for feed in duplicate.feeds.all():
        feeds.setdefault(feed.pk, feed)
    changes = {"tags": keep.tags + [t for t in duplicate.tags if t not in keep.tags]}
    for name in ("session", "stage", "impact", "site"):
        if not getattr(keep, name) and getattr(duplicate, name):
            changes[name] = getattr(duplicate, name)
    if duplicate.shareable and not keep.shareable:
        changes["shareable"] = True
    return list(feeds.values()), changes


@transaction.atomic
def merge_entries(*, keep: Entry, duplicate: Entry, actor) -> Entry:
    """Fold a duplicate into the entry kept: both texts stay, every link moves to `keep`.

    The kept entry gains the duplicate's feeds and tags (and its session, stage, impact or
    site where its own are blank), its votes and the actions that came from it; the duplicate
    keeps its text and is shown under the kept entry (merged_into).
    """
    first, second = sorted([keep.pk, duplicate.pk])
    locked = {e.pk: e for e in Entry.objects.select_for_update().filter(pk__in=[first, second])}
    keep, duplicate = locked[keep.pk], locked.get(duplicate.pk, keep)
    _ensure_open(keep.event)
    _check_merge(keep, duplicate)
    feeds, changes = _merged_fields(keep, duplicate)
    keep = services.edit_entry(
        entry=keep, editor=actor, version=keep.version, feeds=feeds, **changes
    )
    _move_votes(duplicate, keep)
    for action in Entry.objects.filter(source_entry=duplicate):
        services.edit_entry(entry=action, editor=actor, version=action.version, source_entry=keep)
    Entry.objects.filter(merged_into=duplicate).update(merged_into=keep)
    duplicate.merged_into = keep
    duplicate.version += 1
    duplicate.updated_at = timezone.now()
    duplicate.save(update_fields=["merged_into", "version", "updated_at"])
    EntryRevision.objects.create(
        entry=duplicate,
        version=duplicate.version,
        editor=actor,
        edited_at=duplicate.updated_at,
        changes={"merged_into": [None, str(keep.pk)]},
    )
    audit.record(
        actor=actor,
        action="entry.merge",
        obj=duplicate,
        event=keep.event,
        summary=f"{duplicate.get_kind_display()} merged into {str(keep.pk)[:8]}",
        changes={"merged_into": [None, str(keep.pk)]},
    )
    return keep


def _move_votes(duplicate: Entry, keep: Entry) -> None:
    """Votes follow the kept entry; a person who voted for both counts once."""
    voters = set(keep.votes.values_list("user_id", flat=True))
    duplicate.votes.filter(user_id__in=voters).delete()
    duplicate.votes.update(entry=keep)


# --- Votes ------------------------------------------------------------------


def _votable(entry: Entry) -> None:
    _ensure_open(entry.event)
    if entry.deleted_at or entry.merged_into_id:
        raise ValidationError({"entry": "Vote for the entry it was merged into."})


@transaction.atomic
def vote(*, entry: Entry, user) -> Vote:
    """One vote per person and entry; voting twice changes nothing."""
    _votable(entry)
    ballot, _ = Vote.objects.get_or_create(entry=entry, user=user)
    return ballot


@transaction.atomic
def unvote(*, entry: Entry, user) -> None:
    """Take one's vote back."""
    _ensure_open(entry.event)
    Vote.objects.filter(entry=entry, user=user).delete()


# --- Learning → action ------------------------------------------------------


@transaction.atomic
def promote_learning_to_action(
    *, learning: Entry, actor, owner, due, body: str | None = None, client_id=None
) -> Entry:
    """Turn a learning into an action with an owner and a due date; the action links back.

    The action takes the learning's session, stage, site and feeds, and its time (so it sits
    next to the learning on the timeline). A resend with the same client_id is harmless.
    """
    errors = {}
    if learning.kind != Entry.Kind.LEARNING:
        errors["learning"] = "Only a learning can be turned into an action."
    if owner is None:
        errors["owner"] = "An action needs an owner."
    if due is None:
        errors["due"] = "An action needs a due date."
    if errors:
        raise ValidationError(errors)
    action, created = services.log_entry(
        event=learning.event,
        author=actor,
        kind=Entry.Kind.ACTION,
        body=body if body and body.strip() else f"Follow up: {learning.body}",
        client_id=client_id,
        feeds=learning.feeds.all(),
        occurred_at=learning.occurred_at,
        session=learning.session,
        stage=learning.stage,
        site=learning.site,
        owner=owner,
        due=due,
        source_entry=learning,
    )
    if created:
        audit.record(
            actor=actor,
            action="entry.promote",
            obj=action,
            event=learning.event,
            summary=f"Action for {owner.username} from learning {str(learning.pk)[:8]}",
            changes={"source_entry": [None, str(learning.pk)], "owner": [None, owner.username]},
        )
    return action


# --- Decisions on learnings (finalizing lives in retro.finalize) ---------------


@transaction.atomic
def decide_no_change(*, learning: Entry, actor, reason: str) -> NoChangeDecision:
    """Record that a learning needs no change: who and why (a reason is required). Deciding
    again replaces the reason; the audit log keeps both."""
    learning = Entry.objects.select_for_update().select_related("event").get(pk=learning.pk)
    if not selectors.can_decide_learning(actor, learning):
        raise PermissionDenied("Leads record the decision on a learning.")
    _ensure_open(learning.event)
    reason = (reason or "").strip()
    if learning.kind != Entry.Kind.LEARNING:
        raise ValidationError({"learning": "Only a learning gets a “no change needed” decision."})
    if not reason:
        raise ValidationError({"reason": "Say why no change is needed."})
    if len(reason) > services.MAX_BODY:
        raise ValidationError({"reason": f"At most {services.MAX_BODY} characters."})
    decision = NoChangeDecision.objects.filter(learning=learning).first()
    old = decision.reason if decision else None
    if decision is None:
        decision = NoChangeDecision(learning=learning)
    decision.reason, decision.decided_by, decision.decided_at = reason, actor, timezone.now()
    decision.save()
    audit.record(
        actor=actor,
        action="learning.no_change",
        obj=learning,
        event=learning.event,
        summary=f"No change needed for learning {str(learning.pk)[:8]}: {reason[:200]}",
        changes={"no_change_reason": [old, reason]},
    )
    return decision


# --- Reminders and digests ----------------------------------------------------
# Sent by Celery beat (retro.tasks). Each action is reminded once (reminded_at is claimed
# with a conditional UPDATE before the mail goes out, in the same transaction); each owner
# gets one digest per ISO week (recorded in the audit log).

REMIND_WITHIN = timedelta(hours=48)


def _base_url() -> str:
    return settings.TALLY_BASE_URL


def actions_due_soon(now=None):
    """Open actions with an owner who wants reminders, not yet reminded, falling due within
    the next 48 hours."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    last_day = timezone.localdate(now + REMIND_WITHIN)
    return (
        open_actions()
        .filter(owner__isnull=False, reminded_at__isnull=True, due__gte=today, due__lte=last_day)
        .exclude(owner__email="")
        .exclude(notifications.opted_out(notifications.Kind.ACTION_REMINDER, "owner__"))
        .select_related("owner", "event")
        .order_by("owner_id", "due")
    )


def send_due_reminders(*, now=None) -> int:
    """Email each owner once about their actions falling due soon; returns mails sent."""
    now = now or timezone.now()
    by_owner: dict[int, list[Entry]] = {}
    for action in actions_due_soon(now):
        by_owner.setdefault(action.owner_id, []).append(action)
    sent = 0
    for actions in by_owner.values():
        sent += _remind_owner(actions, now)
    return sent


@transaction.atomic
def _remind_owner(actions: list[Entry], now) -> int:
    claimed = [
        a
        for a in actions
        if Entry.objects.filter(pk=a.pk, reminded_at__isnull=True).update(reminded_at=now)
    ]
    if not claimed:
        return 0  # another beat run or a redelivered task got there first
    owner = claimed[0].owner
    context = {"owner": owner, "actions": claimed, "base_url": _base_url()}
    subject = (
        f"[Tally] {len(claimed)} action{'s' if len(claimed) > 1 else ''} due soon"
        if len(claimed) > 1
        else f"[Tally] Action due {claimed[0].due:%a %d %b}: {claimed[0].body[:60]}"
    )
    # A failed send raises and rolls the claim back, so the next hourly run tries again.
    send_mail(
        subject,
        render_to_string("retro/actions_reminder_email.txt", context),
        None,
        [owner.email],
    )
    return 1


def _digest_key(owner, today) -> str:
    year, week, _ = today.isocalendar()
    return f"{owner.pk}:{year}-W{week:02d}"


def send_weekly_digest(*, now=None) -> int:
    """Email each owner who wants it one list of their overdue actions, once per ISO week."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    overdue = (
        open_actions()
        .filter(owner__isnull=False, due__lt=today)
        .exclude(owner__email="")
        .exclude(notifications.opted_out(notifications.Kind.WEEKLY_DIGEST, "owner__"))
        .select_related("owner", "event")
        .order_by("owner_id", "due")
    )
    by_owner: dict[int, list[Entry]] = {}
    for action in overdue:
        by_owner.setdefault(action.owner_id, []).append(action)
    sent = 0
    for actions in by_owner.values():
        sent += _digest_owner(actions, today)
    return sent


@transaction.atomic
def _digest_owner(actions: list[Entry], today) -> int:
    owner = actions[0].owner
    key = _digest_key(owner, today)
    get_user_model().objects.select_for_update().filter(pk=owner.pk).first()
    if AuditLog.objects.filter(action="actions.digest", object_id=key).exists():
        return 0
    AuditLog.objects.create(
        actor=None,
        action="actions.digest",
        object_type="auth.user",
        object_id=key,
        summary=f"Weekly digest: {len(actions)} overdue action(s) for {owner.username}",
    )
    context = {"owner": owner, "actions": actions, "today": today, "base_url": _base_url()}
    send_mail(
        f"[Tally] Weekly digest: {len(actions)} overdue action{'s' if len(actions) > 1 else ''}",
        render_to_string("retro/actions_digest_email.txt", context),
        None,
        [owner.email],
    )
    return 1


def meeting_entries(event: Event):
    """Live entries of the event for the meeting, with what the page draws prefetched."""
    return (
        selectors.for_display(live_entries().filter(event=event))
        .prefetch_related(
            Prefetch(
                "merged_entries",
                queryset=Entry.objects.filter(deleted_at__isnull=True).select_related(
                    "author", "site"
                ),
            ),
            Prefetch(
                "actions",
                queryset=live_entries().select_related("owner").order_by("due"),
            ),
        )
        .annotate(vote_count=Count("votes", distinct=True))
    )


def find_entry(event: Event, ref: str) -> Entry | None:
    """An entry of the event by its id or a unique prefix of it, as shown (#1a2b3c4d)."""
    ref = (ref or "").strip().lstrip("#").lower()
    if len(ref) < 4 or not all(c in "0123456789abcdef-" for c in ref):
        return None
    try:
        return Entry.objects.filter(event=event, pk=uuid.UUID(ref)).first()
    except ValueError:
        pass
    # Compared in Python: UUIDs are stored as text differently on SQLite and PostgreSQL.
    candidates = [
        pk
        for pk in Entry.objects.filter(event=event).values_list("pk", flat=True)
        if str(pk).startswith(ref)
    ]
    if len(candidates) != 1:
        return None
    return Entry.objects.get(pk=candidates[0])
