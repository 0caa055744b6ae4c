"""HTML views of the retro meeting (after the show) and of the actions pages."""

import uuid
from datetime import date

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Case, IntegerField, Value, When
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from . import loop, meeting, selectors
from .actions import OPEN_STATUSES
from .loop import carried_over_actions
from .models import Entry, Event, Role, Stage, Vote, live_entries
from .services import RetroFinalized, StaleVersion, set_action_status

KIND_ORDER = {Entry.Kind.WIN: 0, Entry.Kind.LEARNING: 1, Entry.Kind.ACTION: 2}


def _errors(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return " ".join(m for ms in exc.message_dict.values() for m in ms)
    return " ".join(exc.messages)


def _entry_of(event: Event, pk) -> Entry:
    entry = Entry.objects.filter(event=event, pk=pk).select_related("event").first()
    if entry is None:
        raise Http404("No such entry.")
    return entry


def _back_to_meeting(event: Event, entry: Entry | None = None):
    url = reverse("meeting-page", args=[event.slug])
    return redirect(f"{url}#entry-{entry.pk}" if entry is not None else url)


# --- Meeting mode -------------------------------------------------------------


def _grouped(entries, event: Event) -> list[tuple[str, list[tuple[object, list[Entry]]]]]:
    """Entries by stage (signal-path order), then session (on-air order), then kind and votes."""
    stages = [(value, label) for value, label in Stage.choices] + [("", "No stage")]
    buckets: dict[str, dict] = {value: {} for value, _ in stages}
    for entry in entries:
        buckets.setdefault(entry.stage or "", {}).setdefault(entry.session, []).append(entry)
    far = timezone.now().replace(year=9999)
    groups = []
    for value, label in stages:
        sessions = buckets.get(value) or {}
        ordered = sorted(
            sessions.items(),
            key=lambda item: item[0].scheduled_start if item[0] is not None else far,
        )
        for session, items in ordered:
            if session is not None:  # the |date filter would show the server's zone
                session.end_label = f"{session.scheduled_end.astimezone(event.tz):%H:%M}"
            items.sort(key=lambda e: (KIND_ORDER[e.kind], -e.vote_count, e.occurred_at))
        if ordered:
            groups.append((label, ordered))
    return groups


@login_required
def meeting_page(request, slug):
    """Meeting mode: everything logged, grouped by stage and session, ready to discuss."""
    event = selectors.event_for_user(request.user, slug)
    kind = request.GET.get("kind", "")
    entries = meeting.meeting_entries(event)
    if kind in Entry.Kind.values:
        entries = entries.filter(kind=kind)
    entries = list(entries)
    found = loop.decisions([e for e in entries if e.kind == Entry.Kind.LEARNING])
    for entry in entries:
        entry.promote_id = uuid.uuid4()  # a resent promote form creates the action once
        entry.decision = found.get(entry.pk)
    all_live = live_entries().filter(event=event)
    counts = {k: all_live.filter(kind=k).count() for k in Entry.Kind.values}
    is_lead = selectors.has_role(request.user, event, Role.LEAD)
    context = {
        "event": event,
        "groups": _grouped(entries, event),
        "entry_total": len(entries),
        "counts": counts,
        "kind": kind,
        "kinds": Entry.Kind.choices,
        "viewer_role": selectors.role_for(request.user, event),
        "can_vote": selectors.has_role(request.user, event, Role.OPERATOR),
        "is_lead": is_lead,
        "is_admin": selectors.is_admin(request.user),
        "finalized": event.retro_finalized,
        "only_wins": counts["win"] > 0 and counts["learning"] == 0,
        "undecided": [] if event.retro_finalized else loop.undecided_learnings(event),
        "my_votes": set(
            Vote.objects.filter(entry__event=event, user=request.user).values_list(
                "entry_id", flat=True
            )
        ),
        "members": event.memberships.select_related("user").order_by("user__username")
        if is_lead
        else [],
        "today": timezone.localdate(timezone=event.tz).isoformat(),
    }
    return render(request, "retro/meeting.html", context)


@login_required
@require_POST
def meeting_vote(request, slug, pk):
    """Operators and leads vote for what the meeting should discuss first (or take it back)."""
    event = selectors.event_for_user(request.user, slug, Role.OPERATOR)
    entry = _entry_of(event, pk)
    try:
        if request.POST.get("undo"):
            meeting.unvote(entry=entry, user=request.user)
        else:
            meeting.vote(entry=entry, user=request.user)
    except RetroFinalized as exc:
        messages.error(request, str(exc))
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    return _back_to_meeting(event, entry)


@login_required
@require_POST
def meeting_merge(request, slug, pk):
    """Leads fold a duplicate (this entry) into the entry to keep, given by its #reference."""
    event = selectors.event_for_user(request.user, slug, Role.LEAD)
    duplicate = _entry_of(event, pk)
    keep = meeting.find_entry(event, request.POST.get("keep", ""))
    if keep is None:
        messages.error(
            request, "No single entry of this event has that reference; copy the #code shown."
        )
        return _back_to_meeting(event, duplicate)
    try:
        meeting.merge_entries(keep=keep, duplicate=duplicate, actor=request.user)
    except (RetroFinalized, StaleVersion) as exc:
        messages.error(request, str(exc))
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(request, f"Merged #{str(duplicate.pk)[:8]} into #{str(keep.pk)[:8]}.")
        return _back_to_meeting(event, keep)
    return _back_to_meeting(event, duplicate)


def _parse_due(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        raise ValidationError({"due": "Give the due date as YYYY-MM-DD."}) from None


@login_required
@require_POST
def meeting_promote(request, slug, pk):
    """Leads turn a learning into an action with an owner and a due date."""
    event = selectors.event_for_user(request.user, slug, Role.LEAD)
    learning = _entry_of(event, pk)
    owner = get_user_model().objects.filter(username=request.POST.get("owner", "")).first()
    try:
        client_id = request.POST.get("client_id") or None
        action = meeting.promote_learning_to_action(
            learning=learning,
            actor=request.user,
            owner=owner,
            due=_parse_due(request.POST.get("due", "")),
            body=request.POST.get("body", ""),
            client_id=client_id,
        )
    except RetroFinalized as exc:
        messages.error(request, str(exc))
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(request, f"Action #{str(action.pk)[:8]} for {owner.username} created.")
    return _back_to_meeting(event, learning)


@login_required
@require_POST
def meeting_no_change(request, slug, pk):
    """Leads decide that a learning needs no change, saying why."""
    event = selectors.event_for_user(request.user, slug, Role.LEAD)
    learning = _entry_of(event, pk)
    try:
        meeting.decide_no_change(
            learning=learning, actor=request.user, reason=request.POST.get("reason", "")
        )
    except RetroFinalized as exc:
        messages.error(request, str(exc))
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(request, f"Learning #{str(learning.pk)[:8]}: no change needed.")
    return _back_to_meeting(event, learning)


# --- Actions pages -------------------------------------------------------------

STATUS_FILTERS = [
    ("open", "Open and in progress"),
    ("overdue", "Overdue"),
    ("in_progress", "In progress"),
    ("done", "Done"),
    ("dropped", "Dropped"),
    ("all", "All"),
]


def _filter_actions(request, actions):
    today = timezone.localdate()
    status = request.GET.get("status") or "open"
    if status == "open":
        actions = actions.filter(status__in=OPEN_STATUSES)
    elif status == "overdue":
        actions = actions.filter(status__in=OPEN_STATUSES, due__lt=today)
    elif status in Entry.Status.values:
        actions = actions.filter(status=status)
    else:
        status = "all"
    owner = request.GET.get("owner", "")
    if owner == "me":
        actions = actions.filter(owner=request.user)
    elif owner == "none":
        actions = actions.filter(owner__isnull=True)
    elif owner:
        actions = actions.filter(owner__username=owner)
    return actions, status, owner


def _by_owner(actions) -> list[tuple[object, list[Entry]]]:
    groups: dict = {}
    for action in actions:
        groups.setdefault(action.owner, []).append(action)
    return sorted(
        groups.items(), key=lambda item: (item[0] is None, item[0].username if item[0] else "")
    )


def _decorate(user, actions, today) -> list[Entry]:
    """Each action learns whether it is overdue and whether this user may change its status."""
    actions = list(actions)
    for action in actions:
        action.overdue = bool(action.due and action.due < today and action.status in OPEN_STATUSES)
        action.can_change = selectors.can_change_action_status(user, action)
    return actions


def _actions_query(base):
    return (
        base.filter(kind=Entry.Kind.ACTION)
        .select_related("owner", "event", "source_entry", "session")
        .annotate(
            open_first=Case(
                When(status__in=OPEN_STATUSES, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("open_first", "due", "occurred_at")
    )


def _summary(actions, today) -> dict:
    return {
        "open": actions.filter(status__in=OPEN_STATUSES).count(),
        "overdue": actions.filter(status__in=OPEN_STATUSES, due__lt=today).count(),
        "done": actions.filter(status=Entry.Status.DONE).count(),
        "dropped": actions.filter(status=Entry.Status.DROPPED).count(),
    }


@login_required
def actions_event(request, slug):
    """One event's actions (open, overdue, by owner) and the open ones carried over."""
    event = selectors.event_for_user(request.user, slug)
    today = timezone.localdate()
    base = live_entries().filter(event=event, kind=Entry.Kind.ACTION)
    actions, status, owner = _filter_actions(request, _actions_query(base))
    visible_events = selectors.events_for_user(request.user).values("pk")
    carried = carried_over_actions(event).filter(event__in=visible_events)
    context = {
        "event": event,
        "groups": _by_owner(_decorate(request.user, actions, today)),
        "carried": _decorate(request.user, carried.select_related("source_entry"), today),
        "summary": _summary(base, today),
        "status": status,
        "owner": owner,
        "status_filters": STATUS_FILTERS,
        "statuses": Entry.Status.choices,
        "owners": event.memberships.select_related("user").order_by("user__username"),
        "viewer_role": selectors.role_for(request.user, event),
    }
    return render(request, "retro/actions.html", context)


@login_required
def actions_all(request):
    """Actions of every event the user may see."""
    today = timezone.localdate()
    events = selectors.events_for_user(request.user)
    base = live_entries().filter(event__in=events.values("pk"), kind=Entry.Kind.ACTION)
    query = _actions_query(base)
    event_slug = request.GET.get("event", "")
    if event_slug:
        query = query.filter(event__slug=event_slug)
    actions, status, owner = _filter_actions(request, query)
    owners = get_user_model().objects.filter(owned_actions__in=base).distinct().order_by("username")
    context = {
        "event": None,
        "groups": _by_owner(_decorate(request.user, actions[:1000], today)),
        "summary": _summary(base, today),
        "status": status,
        "owner": owner,
        "event_slug": event_slug,
        "events": events.order_by("-start"),
        "status_filters": STATUS_FILTERS,
        "statuses": Entry.Status.choices,
        "owner_users": owners,
    }
    return render(request, "retro/actions.html", context)


@login_required
@require_POST
def action_status(request, pk):
    """Change an action's status: operators their own actions, leads any (even when final)."""
    action = Entry.objects.filter(pk=pk, kind=Entry.Kind.ACTION).select_related("event").first()
    if (
        action is None
        or not selectors.events_for_user(request.user).filter(pk=action.event_id).exists()
    ):
        raise Http404("No such action.")
    if not selectors.can_change_action_status(request.user, action):
        raise PermissionDenied("Only the owner or a lead changes this action's status.")
    status = request.POST.get("status", "")
    try:
        action = set_action_status(entry=action, status=status, actor=request.user)
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    except StaleVersion as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"#{str(action.pk)[:8]} is now {action.get_status_display()}.")
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        target = reverse("actions-event", args=[action.event.slug])
    return redirect(f"{target}#action-{action.pk}")
