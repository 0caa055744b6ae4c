"""The reports page of an event: the options form, every version, live progress."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render

from retro import selectors as retro_selectors
from retro.models import Entry, Role, Stage

from . import selectors, services
from .content import SECTION_TITLES, SECTIONS
from .models import Report

LIST_OPTIONS = ("sections", "kinds", "stages", "sessions")


def _form_request(post) -> dict:
    options = {name: post.getlist(name) for name in LIST_OPTIONS if post.getlist(name)}
    if post.get("table"):
        options["table"] = post["table"]
    return options


@login_required
def event_reports(request, slug):
    """GET: the form and the versions; POST (operators; external variant leads): request one."""
    event = retro_selectors.event_for_user(request.user, slug)
    errors = {}
    if request.method == "POST":
        event = retro_selectors.event_for_user(request.user, slug, Role.OPERATOR)
        try:
            report = services.request_report(
                event=event,
                user=request.user,
                format=request.POST.get("format", ""),
                variant=request.POST.get("variant", ""),
                options=_form_request(request.POST),
            )
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        else:
            messages.success(request, f"Report #{report.pk} queued.")
            return redirect("event-reports", slug=event.slug)
    reports = list(selectors.reports_of(event)[:100])
    services.fail_stalled(reports)
    context = {
        "event": event,
        "reports": reports,
        "errors": errors,
        "can_request": retro_selectors.has_role(request.user, event, Role.OPERATOR),
        "is_lead": retro_selectors.has_role(request.user, event, Role.LEAD),
        "formats": Report.Format.choices,
        "sections": [(name, SECTION_TITLES[name]) for name in SECTIONS],
        "kinds": Entry.Kind.choices,
        "stages": Stage.choices,
        "sessions": event.sessions.all(),
    }
    return render(request, "reports/event_reports.html", context, status=400 if errors else 200)
