"""HTML views for events: the home page, an event's signal path, its settings."""

from collections import OrderedDict

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from . import selectors, services
from .forms import MembershipForm, RundownUploadForm
from .models import Role, Stage
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
    feeds = event.feeds.select_related("session", "origin", "destination", "derived_from")
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
