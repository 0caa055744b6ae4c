"""HTML views of the retro meeting (after the show) and of the actions pages."""

import uuid
from datetime import date

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Case, IntegerField, Value, When
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from . import loop, meeting, meeting_page, selectors
from .actions import OPEN_STATUSES
from .loop import carried_over_actions
from .models import Entry, Event, Role, Stage, Vote, live_entries
from .services import RetroFinalized, StaleVersion, set_action_status


def _errors(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return " ".join(m for ms in exc.message_dict.values() for m in ms)
    return " ".join(exc.messages)


def _entry_of(event: Event, pk) -> Entry:
    entry = Entry.objects.filter(event=event, pk=pk).select_related("event").first()
    if entry is None:
        raise Http404("No such entry.")
    return entry


def _back_to_meeting(event: Event, entry: Entry | None = None, request=None):
    """Back where the form was sent from (its page of the meeting), at the entry."""
    url = reverse("meeting-page", args=[event.slug])
    target = request.POST.get("next", "") if request is not None else ""
    if target.startswith(url) and url_has_allowed_host_and_scheme(target, None):
        url = target
    return redirect(f"{url}#entry-{entry.pk}" if entry is not None else url)


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _refused(request, event, entry, exc):
    """A refused meeting write: a 400 (409 for a finalized retro or a stale version) with the
    field messages for fetch, a flash message and the page again for a plain form."""
    if isinstance(exc, ValidationError):
        text = _errors(exc)
        errors = exc.message_dict if hasattr(exc, "message_dict") else {"__all__": exc.messages}
        status = 400
    else:
        text, errors, status = str(exc), {"__all__": [str(exc)]}, 409
    if _wants_json(request):
        return JsonResponse({"ok": False, "message": text, "errors": errors}, status=status)
    messages.error(request, text)
    return _back_to_meeting(event, entry, request)


def _done(request, event, entry, message: str, **extra):
    """A meeting write that worked: the entry drawn again (for fetch) or the page."""
    if _wants_json(request):
        body = {"ok": True, "message": message, "id": str(entry.pk), **extra}
        body["html"] = _entry_html(request, event, entry.pk, request.POST.get("next", ""))
        return JsonResponse(body)
    messages.success(request, message)
    return _back_to_meeting(event, entry, request)


# --- Meeting mode -------------------------------------------------------------

UNDECIDED_SHOWN = 25  # the finalize box names this many; the rest are counted


def _page_context(request, event: Event) -> dict:
    """What every entry of the meeting needs to draw its tools."""
    is_lead = selectors.has_role(request.user, event, Role.LEAD)
    return {
        "event": event,
        "viewer_role": selectors.role_for(request.user, event),
        "can_vote": selectors.has_role(request.user, event, Role.OPERATOR),
        "is_lead": is_lead,
        "finalized": event.retro_finalized,
        "today": timezone.localdate(timezone=event.tz).isoformat(),
    }


def _decorate_entries(request, event: Event, entries: list[Entry]) -> None:
    """Decisions, the user's votes and a fresh promote id on each entry, in fixed queries."""
    found = loop.decisions([e for e in entries if e.kind == Entry.Kind.LEARNING])
    mine = set(
        Vote.objects.filter(entry__in=[e.pk for e in entries], user=request.user).values_list(
            "entry_id", flat=True
        )
    )
    for entry in entries:
        entry.promote_id = uuid.uuid4()  # a resent promote form creates the action once
        entry.decision = found.get(entry.pk)
        entry.voted = entry.pk in mine


def _entry_html(request, event: Event, pk, next_url: str = "") -> str:
    """One entry of the meeting drawn as the page draws it (for writes made with fetch)."""
    entry = meeting.meeting_entries(event).filter(pk=pk).first()
    if entry is None or entry.merged_into_id:
        return ""
    _decorate_entries(request, event, [entry])
    context = _page_context(request, event) | {"entry": entry, "next_url": next_url}
    return render_to_string("retro/meeting_entry.html", context, request=request)


def _entries_page(request, event: Event, query) -> dict:
    rows, has_next = meeting_page.page(event, query)
    meeting_page.mark_headings(rows, query.group, event)
    _decorate_entries(request, event, rows)
    base = reverse("meeting-page", args=[event.slug])
    here = f"{base}?{query.params(page=query.page)}"
    return {
        "entries": rows,
        "next_url": here,
        "next_page": f"{base}?{query.params(page=query.page + 1)}" if has_next else "",
        "first_page": f"{base}?{query.params()}" if query.page > 1 else "",
        "page_number": query.page,
    }


@login_required
def meeting_page_view(request, slug):
    """Meeting mode: the entries grouped by stage and session (or session, or kind), a page
    at a time; the next page loads as the meeting scrolls (fragment=1 draws the entries only)."""
    event = selectors.event_for_user(request.user, slug)
    query = meeting_page.parse(request.GET)
    context = _page_context(request, event) | _entries_page(request, event, query)
    context["query"] = query
    if request.GET.get("fragment"):
        return render(request, "retro/meeting_entries.html", context)
    counts = meeting_page.kind_counts(event)
    undecided, undecided_count = [], 0
    if context["is_lead"] and not event.retro_finalized:  # only leads see the finalize box
        undecided, undecided_count = meeting_page.undecided(event, UNDECIDED_SHOWN)
    context |= {
        "counts": counts,
        "entry_total": sum(counts.values()),
        "outline": meeting_page.outline(event, query),
        "groupings": meeting_page.GROUPINGS,
        "kinds": Entry.Kind.choices,
        "stages": Stage.choices,
        "is_admin": selectors.is_admin(request.user),
        "only_wins": counts["win"] > 0 and counts["learning"] == 0,
        "undecided": undecided,
        "undecided_count": undecided_count,
        "members": event.memberships.select_related("user").order_by("user__username")
        if context["is_lead"]
        else [],
    }
    return render(request, "retro/meeting.html", context)


@login_required
def meeting_merge_candidates(request, slug, pk):
    """Leads search the entry to keep as they type: same kind, live, by text or #reference."""
    event = selectors.event_for_user(request.user, slug, Role.LEAD)
    duplicate = _entry_of(event, pk)
    found = meeting_page.merge_candidates(duplicate, request.GET.get("q", ""))
    return JsonResponse(
        {
            "results": [
                {
                    "id": str(e.pk),
                    "ref": f"#{str(e.pk)[:8]}",
                    "body": e.body[:160],
                    "author": e.author.username if e.author else "",
                    "session": e.session.title if e.session else "",
                    "votes": e.vote_count,
                }
                for e in found
            ]
        }
    )


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
    except (RetroFinalized, ValidationError) as exc:
        return _refused(request, event, entry, exc)
    votes = entry.votes.count()
    return _done(request, event, entry, f"{votes} vote{'s' if votes != 1 else ''}.", votes=votes)


def _keep_of(event: Event, request) -> Entry | None:
    """The entry to keep: picked from the search list (its id), or typed as a #reference."""
    picked = request.POST.get("keep", "").strip()
    return meeting.find_entry(event, picked or request.POST.get("keep_search", ""))


@login_required
@require_POST
def meeting_merge(request, slug, pk):
    """Leads fold a duplicate (this entry) into the entry to keep, picked from a search list."""
    event = selectors.event_for_user(request.user, slug, Role.LEAD)
    duplicate = _entry_of(event, pk)
    keep = _keep_of(event, request)
    if keep is None:
        missing = ValidationError(
            {"keep": "Pick the entry to keep from the list (or type its #reference)."}
        )
        return _refused(request, event, duplicate, missing)
    try:
        meeting.merge_entries(keep=keep, duplicate=duplicate, actor=request.user)
    except (RetroFinalized, StaleVersion, ValidationError) as exc:
        return _refused(request, event, duplicate, exc)
    message = f"Merged #{str(duplicate.pk)[:8]} into #{str(keep.pk)[:8]}."
    return _done(request, event, keep, message, merged=str(duplicate.pk))


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
    except (RetroFinalized, ValidationError) as exc:
        return _refused(request, event, learning, exc)
    message = f"Action #{str(action.pk)[:8]} for {owner.username} created."
    return _done(request, event, learning, message)


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
    except (RetroFinalized, ValidationError) as exc:
        return _refused(request, event, learning, exc)
    return _done(request, event, learning, f"Learning #{str(learning.pk)[:8]}: no change needed.")


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
