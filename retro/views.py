"""HTML views for events: the home page, an event's signal path, its settings, the live board."""

from collections import OrderedDict
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_POST

from tally.times import parse_instant

from . import selectors, services
from .forms import EntryEditForm, MembershipForm, RundownUploadForm
from .models import Entry, Role, Site, Stage
from .rundown import RundownError, import_rundown


@login_required
def home(request):
    """The events you belong to, newest first."""
    events = selectors.events_with_counts(request.user)
    return render(request, "retro/home.html", {"events": events})


@login_required
def event_detail(request, slug):
    """An event's sessions and its feeds grouped by stage."""
    event = selectors.event_for_user(request.user, slug)
    feeds = event.feeds.select_related("session", "origin", "destination").prefetch_related(
        "derived_from"
    )
    by_stage = OrderedDict((label, []) for _, label in Stage.choices)
    for feed in feeds:
        by_stage[Stage(feed.stage).label].append(feed)
    context = {
        "event": event,
        "sessions": event.sessions.all(),
        "feeds_by_stage": by_stage,
        "feed_count": sum(len(v) for v in by_stage.values()),
        "role": selectors.role_for(request.user, event),
        "is_lead": selectors.has_role(request.user, event, Role.LEAD),
        "upload_form": RundownUploadForm(),
    }
    return render(request, "retro/event_detail.html", context)


@login_required
def event_settings(request, slug):
    """Leads manage the event's members and their roles."""
    event = selectors.event_for_user(request.user, slug, Role.LEAD)
    form = MembershipForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.set_membership(
                event=event,
                user=form.cleaned_data["username"],
                role=form.cleaned_data["role"],
                actor=request.user,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"{form.cleaned_data['username'].username} saved.")
            return redirect("event-settings", slug=event.slug)
    memberships = event.memberships.select_related("user").order_by("role", "user__username")
    return render(
        request,
        "retro/event_settings.html",
        {"event": event, "form": form, "memberships": memberships, "roles": Role.choices},
    )


@login_required
@require_POST
def remove_member(request, slug, username):
    """Take a member off the event."""
    event = selectors.event_for_user(request.user, slug, Role.LEAD)
    user = get_user_model().objects.filter(username=username).first()
    if user is not None:
        try:
            services.remove_membership(event=event, user=user, actor=request.user)
            messages.success(request, f"{username} removed.")
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    return redirect("event-settings", slug=event.slug)


@login_required
@require_POST
def upload_rundown(request, slug):
    """Import a rundown file into this event (leads)."""
    event = selectors.event_for_user(request.user, slug, Role.LEAD)
    form = RundownUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, " ".join(m for ms in form.errors.values() for m in ms))
        return redirect("event-detail", slug=event.slug)
    upload = form.cleaned_data["file"]
    fmt = "csv" if upload.name.lower().endswith(".csv") else "yaml"
    try:
        text = upload.read().decode("utf-8")
        result = import_rundown(text=text, fmt=fmt, actor=request.user, only_event=event.slug)
    except UnicodeDecodeError:
        messages.error(request, "The file is not UTF-8 text.")
    except RundownError as exc:
        return render(
            request,
            "retro/rundown_errors.html",
            {"event": event, "problems": exc.problems},
            status=400,
        )
    else:
        messages.success(
            request,
            f"Rundown imported: {result.created} created, "
            f"{result.updated} updated, {result.unchanged} unchanged.",
        )
    return redirect("event-detail", slug=event.slug)


# --- The live board ---------------------------------------------------------

BOARD_LIMIT = 25  # per column; a keynote screen shows fewer, "load more" the rest
BOARD_LIMIT_MAX = 1000


def _limit(request) -> int:
    try:
        return max(1, min(int(request.GET.get("n", BOARD_LIMIT)), BOARD_LIMIT_MAX))
    except ValueError:
        return BOARD_LIMIT


def _filters_or_400(request):
    """The board filters of the request; a bad time filter is shown, not a 500."""
    filters = selectors.board_filters(request.GET)
    problems = {}
    for name in ("since", "until"):
        if name in filters:
            try:
                parse_instant(filters[name], name)
            except ValidationError as exc:
                problems[name] = " ".join(exc.messages)
                del filters[name]
    return filters, problems


@login_required
def board(request, slug):
    """The live board: wins, learnings, actions (or a timeline), the fast entry form."""
    event = selectors.event_for_user(request.user, slug)
    role = selectors.role_for(request.user, event)
    filters, problems = _filters_or_400(request)
    view = "timeline" if request.GET.get("view") == "timeline" else "columns"
    limit = _limit(request)
    membership = selectors.membership_for(request.user, event)
    context = {
        "cursor": timezone.now().isoformat(),
        "event": event,
        "entry_window": services.entry_window(event),
        "now_outside": services.outside_window_message(event, timezone.now(), defaulted=True),
        "viewer_role": role,
        "can_log": selectors.has_role(request.user, event, Role.OPERATOR)
        and not event.retro_finalized,
        "filters": filters,
        "filter_problems": problems,
        "view": view,
        "limit": limit,
        "more": limit + BOARD_LIMIT,
        "sessions": list(event.sessions.all()),
        "sites": list(Site.objects.all()),
        "members": list(event.memberships.select_related("user").order_by("user__username")),
        "my_site": membership.site if membership else None,
        "feed_options": list(event.feeds.order_by("slug").values("slug", "name", "stage")),
        "carried_over": selectors.visible_carried_over(request.user, event),
        "from_last": selectors.visible_from_last_event(request.user, event),
        "stages": Stage.choices,
        "kinds": Entry.Kind.choices,
        "impacts": Entry.Impact.choices,
        "statuses": Entry.Status.choices,
        "query": request.GET.urlencode(),
        "filter_query": urlencode(filters),
    }
    if view == "timeline":
        context.update(
            selectors.board_timeline(
                event, filters, request.GET.get("day"), BOARD_LIMIT_MAX, limit * 2
            )
        )
    else:
        context["columns"] = selectors.board_columns(event, filters, limit)
    return render(request, "retro/board.html", context)


@login_required
def board_changes(request, slug):
    """Polled every second by the board: entries changed since `cursor`, rendered by the
    same partial as the page, and the ids to take off the board."""
    event = selectors.event_for_user(request.user, slug)
    role = selectors.role_for(request.user, event)
    filters, _ = _filters_or_400(request)
    since = None
    if request.GET.get("cursor"):
        try:
            since = parse_instant(request.GET["cursor"], "cursor")
        except ValidationError:
            since = None
    changes = selectors.entry_changes(event, since, filters)
    context = {"event": event, "viewer_role": role}
    entries = [
        {
            "id": str(entry.pk),
            "version": entry.version,
            "kind": entry.kind,
            "occurred_at": entry.occurred_at.isoformat(),
            "html": render_to_string(
                "retro/_entry.html", {**context, "entry": entry}, request=request
            ),
        }
        for entry in changes["entries"]
    ]
    return JsonResponse(
        {
            "cursor": changes["cursor"].isoformat(),
            "entries": entries,
            "removed": changes["removed"],
        }
    )


def _entry_page(request, entry: Entry, *, form=None, conflict=None, status=200):
    event = entry.event
    role = selectors.role_for(request.user, event)
    can_edit = selectors.can_edit_entry(request.user, entry, role)
    shown = selectors.for_display(Entry.objects.filter(pk=entry.pk)).get()
    if form is None and can_edit:
        form = EntryEditForm(entry=shown, viewer_zone=timezone.get_current_timezone())
    context = {
        "entry": shown,
        "event": event,
        "viewer_role": role,
        "revisions": entry.revisions.select_related("editor").order_by("-version"),
        "can_edit": can_edit,
        "form": form,
        "conflict": conflict,
        "lost": _what_deleting_loses(shown),
    }
    return render(request, "retro/entry_detail.html", context, status=status)


def _what_deleting_loses(entry: Entry) -> list[str]:
    """What a delete takes off the board with the entry, for the confirmation."""
    lost = []
    if entry.kind == Entry.Kind.LEARNING and (n := entry.actions.filter(deleted_at=None).count()):
        lost.append(f"{n} action{'s' if n > 1 else ''} made from it stay, without their learning")
    if n := entry.votes.count():
        lost.append(f"{n} vote{'s' if n > 1 else ''} in the retro meeting")
    if n := entry.feeds.count():
        lost.append(f"its link to {n} feed{'s' if n > 1 else ''} (and their telemetry window)")
    return lost


def _conflict_fields(form: EntryEditForm, current: Entry) -> dict:
    """What the other person saved, for the fields this person changed too."""
    theirs = EntryEditForm.initial_for(current)
    names = [n for n in form.changed_data if n in theirs and n not in ("version", "when_zone")]
    return {
        "version": current.version,
        "fields": [(form.fields[n].label or n.capitalize(), theirs[n]) for n in names],
    }


@login_required
@require_POST
def entry_edit(request, pk):
    """Save the changed fields of an entry from its page; a save based on an older version
    shows the other person's values and keeps this person's in the form."""
    entry = selectors.entry_for_user(request.user, pk, Role.OPERATOR)
    if not selectors.can_edit_entry(request.user, entry):
        raise PermissionDenied("Operators edit their own entries; leads any.")
    zone = timezone.get_current_timezone()
    form = EntryEditForm(request.POST, entry=entry, viewer_zone=zone)
    if form.is_valid():
        try:
            _save_entry_form(request, entry, form)
        except services.StaleVersion as exc:
            conflict = _conflict_fields(form, exc.entry)
            data = request.POST.copy()
            data["version"] = exc.entry.version  # saving again now replaces theirs, knowingly
            form = EntryEditForm(data, entry=entry, viewer_zone=zone)
            form.is_valid()
            return _entry_page(request, entry, form=form, conflict=conflict, status=409)
        except services.RetroFinalized as exc:
            messages.error(request, str(exc))
        except ValidationError as exc:
            for field, problems in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, problems)
        else:
            messages.success(request, "Saved: the change is in the history below.")
            return redirect("entry-detail", pk=entry.pk)
    return _entry_page(request, entry, form=form, status=400)


def _save_entry_form(request, entry: Entry, form: EntryEditForm) -> Entry:
    fields, feeds = form.changes()
    if "status" in fields and not selectors.can_change_action_status(request.user, entry):
        raise ValidationError({"status": "Only the owner or a lead changes this action's status."})
    return services.edit_entry(
        entry=entry,
        editor=request.user,
        version=form.cleaned_data["version"],
        feeds=feeds,
        **fields,
    )


@login_required
def entry_edit_form(request, pk):
    """The edit form alone, for the board to show in place (static/js/entry-edit.js)."""
    entry = selectors.entry_for_user(request.user, pk, Role.OPERATOR)
    if not selectors.can_edit_entry(request.user, entry):
        raise PermissionDenied("Operators edit their own entries; leads any.")
    shown = selectors.for_display(Entry.objects.filter(pk=entry.pk)).get()
    form = EntryEditForm(entry=shown, viewer_zone=timezone.get_current_timezone())
    html = render_to_string(
        "retro/_entry_edit_form.html",
        {"form": form, "entry": shown, "event": entry.event},
        request=request,
    )
    return HttpResponse(html)


@login_required
def entry_detail(request, pk):
    """One entry with its full history and every field editable; deleted entries can be
    restored from here."""
    entry = selectors.entry_for_user(request.user, pk)
    event = entry.event
    role = selectors.role_for(request.user, event)
    if request.method == "POST":
        if not selectors.can_edit_entry(request.user, entry, role):
            raise PermissionDenied("Operators restore their own entries; leads any.")
        try:
            action = request.POST.get("do")
            if action == "restore":
                services.restore_entry(entry=entry, actor=request.user)
                messages.success(request, "Entry restored: it is back on the board.")
            elif action == "delete":
                services.delete_entry(entry=entry, actor=request.user)
                messages.success(request, "Entry deleted. You can restore it here.")
        except services.RetroFinalized as exc:
            messages.error(request, str(exc))
        return redirect("entry-detail", pk=entry.pk)
    return _entry_page(request, entry)
