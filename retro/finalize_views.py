"""Finalize and reopen a retro from the browser: a confirmation page that shows what will be
frozen first (retro.finalize does the work, as for the API)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from . import finalize, selectors
from .models import Role


def _messages(exc: ValidationError) -> dict[str, list[str]]:
    return exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}


@login_required
@require_http_methods(["GET", "POST"])
def finalize_page(request, slug):
    """GET: what a finalize freezes (counts, learnings without a decision, the live-event
    warning) and the reason field when one is needed; POST: finalize, once confirmed."""
    event = selectors.event_for_user(request.user, slug, Role.LEAD)
    if event.retro_finalized:
        return redirect("meeting-page", slug=event.slug)
    errors, reason = {}, ""
    if request.method == "POST":
        reason = request.POST.get("override_reason", "")
        if not request.POST.get("confirm"):
            errors = {"confirm": ["Tick the box to confirm the retro is frozen."]}
        else:
            try:
                finalize.finalize_retro(event=event, actor=request.user, override_reason=reason)
            except ValidationError as exc:
                errors = _messages(exc)
            else:
                messages.success(
                    request,
                    "Retro finalized: entries are read-only, action status stays open to change.",
                )
                return redirect("meeting-page", slug=event.slug)
    context = {
        "event": event,
        "preview": finalize.finalize_preview(event),
        "errors": errors,
        "reason": reason,
    }
    return render(request, "retro/finalize.html", context, status=400 if errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def reopen_page(request, slug):
    """Leads reopen a finalized retro, with a written reason kept in the audit log."""
    event = selectors.event_for_user(request.user, slug, Role.LEAD)
    if not event.retro_finalized:
        return redirect("meeting-page", slug=event.slug)
    errors, reason = {}, ""
    if request.method == "POST":
        reason = request.POST.get("reason", "")
        try:
            finalize.reopen_retro(event=event, actor=request.user, reason=reason)
        except ValidationError as exc:
            errors = _messages(exc)
        else:
            messages.success(request, "Retro reopened: entries can be logged and edited again.")
            return redirect("meeting-page", slug=event.slug)
    context = {"event": event, "errors": errors, "reason": reason}
    return render(request, "retro/reopen.html", context, status=400 if errors else 200)
