"""The show clock's page actions and API: read the clock, mark a session on or off air.
Both call retro.showclock; the gates are the event's (viewers read, operators and leads mark).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from tally.times import parse_instant

from . import selectors, showclock
from .models import Event, Role, Session

MARKS = {
    "on-air": showclock.mark_on_air,
    "off-air": showclock.mark_off_air,
    "clear": lambda *, session, actor, at=None: showclock.clear_marks(session=session, actor=actor),
}


def _session_of(event: Event, slug: str) -> Session:
    session = event.sessions.filter(slug=slug).first()
    if session is None:
        raise Http404("No such session.")
    return session


def _mark(request, slug: str, session_slug: str, what: str, at_text: str):
    event = selectors.event_for_user(request.user, slug, Role.OPERATOR)
    session = _session_of(event, session_slug)
    at = parse_instant(at_text, "at", default=None)
    MARKS[what](session=session, actor=request.user, at=at)
    return event


@login_required
@require_POST
def mark(request, slug, session, what):
    """The show clock's buttons: mark on air / off air (now, or a given `at`), or clear."""
    if what not in MARKS:
        raise Http404("No such mark.")
    wants_json = "application/json" in request.headers.get("Accept", "")
    try:
        event = _mark(request, slug, session, what, request.POST.get("at", ""))
    except ValidationError as exc:
        text = " ".join(exc.messages)
        if wants_json:
            return JsonResponse(
                {"ok": False, "message": text, "errors": exc.message_dict}, status=400
            )
        messages.error(request, text)
        return redirect(_back(request, slug))
    if wants_json:
        return JsonResponse({"ok": True, **showclock.show_clock(event).as_json(event)})
    return redirect(_back(request, slug))


def _back(request, slug: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, {request.get_host()}, request.is_secure()
    ):
        return target
    return reverse("event-board", args=[slug])


@login_required
def clock(request, slug):
    """The clock for members of the event: JSON, or the board's partial (fragment=1) that
    show-clock.js swaps in."""
    event = selectors.event_for_user(request.user, slug)
    if request.GET.get("fragment"):
        return render(request, "retro/show_clock_fragment.html", {"event": event})
    return JsonResponse(showclock.show_clock(event).as_json(event))


# --- API ----------------------------------------------------------------------


class MarkSerializer(serializers.Serializer):
    at = serializers.CharField(
        required=False, allow_blank=True, help_text="ISO 8601 with a zone; default: now"
    )


class ShowClockApi(APIView):
    """The event's current and next session, with the moment to count down to."""

    @extend_schema(responses={200: dict})
    def get(self, request, slug):
        event = selectors.event_for_user(request.user, slug)
        return Response(showclock.show_clock(event).as_json(event))


class SessionMarkApi(APIView):
    """Leads and operators mark a session on air or off air (`at` defaults to now)."""

    what = "on-air"

    @extend_schema(request=MarkSerializer, responses={200: dict})
    def post(self, request, slug, session):
        data = MarkSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        event = _mark(request, slug, session, self.what, data.validated_data.get("at", ""))
        marked = _session_of(event, session)
        return Response(showclock.session_clock(marked, timezone.now()).as_json(event))
