"""The board's server-drawn parts that change without an entry of this event changing: the
unreviewed anomalies (telemetry), the carried-over actions (other events' entries) and the
timeline's dots. The board asks for them every few seconds and after each entry change."""

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.template.loader import render_to_string

from . import selectors
from .models import Role
from .views import BOARD_LIMIT_MAX, _filters_or_400


@login_required
def board_parts(request, slug):
    """{"parts": {name: html}}: each drawn by the partial the board page draws it with."""
    event = selectors.event_for_user(request.user, slug)
    filters, _ = _filters_or_400(request)
    context = {
        "event": event,
        "viewer_role": selectors.role_for(request.user, event),
        "can_log": selectors.has_role(request.user, event, Role.OPERATOR)
        and not event.retro_finalized,
        "filters": filters,
        "carried_over": selectors.visible_carried_over(request.user, event),
    }
    parts = {
        "anomalies": render_to_string(
            "integrations/_board_anomalies.html", context, request=request
        ),
        "carried": render_to_string("retro/_board_carried.html", context, request=request),
    }
    if request.GET.get("view") == "timeline":
        # Only the marks are needed: no entry is drawn in full (listed=0).
        context.update(
            selectors.board_timeline(event, filters, request.GET.get("day"), BOARD_LIMIT_MAX, 0)
        )
        parts["timeline"] = render_to_string("retro/board_timeline.html", context, request=request)
    return JsonResponse({"parts": parts})
