"""HTML views of the learning loop: planning the next event, a learning's recurrences."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from . import planning, selectors
from .forms import PlanNextEventForm
from .models import Role


def _suggested(event) -> dict:
    """Next year's event: the same weekday 52 weeks on, the slug with the next year."""
    start = planning.shift_to(event.start, event, 364)
    year = str(event.start.astimezone(event.tz).year)
    slug = event.slug.replace(year, str(start.year)) if year in event.slug else ""
    return {"slug": slug, "name": event.name.replace(year, str(start.year)), "start": start}


@login_required
def plan_next(request, slug):
    """Leads create the next event from this one (planning.plan_next_event)."""
    event = selectors.event_for_user(request.user, slug, Role.LEAD)
    if not selectors.can_plan_next_event(request.user, event):
        raise PermissionDenied("Only a lead of the event plans the next one from it.")
    initial = _suggested(event)
    initial["start"] = initial["start"].astimezone(event.tz).replace(tzinfo=None)
    form = PlanNextEventForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        # The form's time is a wall-clock time in the event's zone, not the server's.
        start = data["start"].replace(tzinfo=None).replace(tzinfo=event.tz)
        try:
            nxt = planning.plan_next_event(
                event=event,
                actor=request.user,
                slug=data["slug"],
                name=data["name"],
                start=start,
                force=data["force"],
            )
        except ValidationError as exc:
            for field, problems in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, problems)
        else:
            messages.success(request, f"{nxt.name} planned from {event.name}.")
            return redirect("event-board", slug=nxt.slug)
    return render(request, "retro/plan_next.html", {"event": event, "form": form})


@login_required
@require_POST
def link_recurrence(request, pk):
    """Operators link a learning to the same problem at an earlier event."""
    entry = selectors.entry_for_user(request.user, pk, Role.OPERATOR)
    try:
        earlier = selectors.entry_for_user(request.user, request.POST.get("earlier", ""))
    except Http404:
        messages.error(request, "No entry you can see has this id.")
        return redirect("entry-detail", pk=entry.pk)
    try:
        planning.link_recurrence(entry=entry, earlier=earlier, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(m for ms in exc.message_dict.values() for m in ms))
    else:
        messages.success(request, f"Linked as a recurrence of {earlier.event.name}.")
    return redirect("entry-detail", pk=entry.pk)
