"""The audit log pages: per event for its leads, and across Tally for admins."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import render

from . import selectors
from .models import AuditLog, Role

PAGE_SIZE = 100


def _page(request, lines):
    action = request.GET.get("action", "").strip()
    if action:
        lines = lines.filter(action__startswith=action)
    paginator = Paginator(lines.select_related("actor", "event"), PAGE_SIZE)
    return paginator.get_page(request.GET.get("page")), action


@login_required
def event_audit(request, slug):
    """Who changed what in this event, newest first (leads)."""
    event = selectors.event_for_user(request.user, slug, Role.LEAD)
    page, action = _page(request, event.audit_log.all())
    return render(request, "retro/audit.html", {"event": event, "page": page, "action": action})


@login_required
def all_audit(request):
    """Every audit line across Tally (admins)."""
    if not selectors.is_admin(request.user):
        raise PermissionDenied("The full audit log is for admins.")
    page, action = _page(request, AuditLog.objects.all())
    return render(request, "retro/audit.html", {"event": None, "page": page, "action": action})
