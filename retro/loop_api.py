"""REST API of the learning loop: a learning's decision, recurrences and similar
learnings, and planning the next event. Same gates (retro.selectors) and services
(retro.meeting, retro.planning) as the pages and the command."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from tally.times import parse_instant

from . import loop, meeting, planning, selectors
from .api import EventSerializer
from .models import Entry, RecurrenceLink, Role


class NextEventSerializer(serializers.Serializer):
    slug = serializers.CharField(max_length=80)
    name = serializers.CharField(max_length=200)
    start = serializers.CharField(help_text="ISO 8601 with a zone")
    force = serializers.BooleanField(required=False, default=False)


class EventNextApi(APIView):
    """Leads create the next event from this one (it `follows` this one)."""

    @extend_schema(request=NextEventSerializer, responses={201: EventSerializer})
    def post(self, request, slug):
        event = selectors.event_for_user(request.user, slug)
        if not selectors.can_plan_next_event(request.user, event):
            raise PermissionDenied("Only a lead of the event plans the next one from it.")
        data = NextEventSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        nxt = planning.plan_next_event(
            event=event,
            actor=request.user,
            slug=values["slug"],
            name=values["name"],
            start=parse_instant(values["start"], "start"),
            force=values["force"],
        )
        return Response(EventSerializer(nxt).data, status=status.HTTP_201_CREATED)


class DecisionSerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True)


def _decision_json(learning: Entry) -> dict:
    decision = loop.decisions([learning])[learning.pk]
    no_change = decision.no_change
    return {
        "decided": decision.decided,
        "summary": decision.summary,
        "actions": [str(a.pk) for a in decision.actions],
        "runbook_revisions": [
            {"runbook": r.runbook, "number": r.number, "url": r.url} for r in decision.revisions
        ],
        "no_change": None
        if no_change is None
        else {
            "reason": no_change.reason,
            "by": no_change.decided_by.username if no_change.decided_by else None,
            "at": no_change.decided_at.isoformat(),
        },
    }


class LearningDecisionApi(APIView):
    """A learning's decision; leads POST a written "no change needed" (reason required)."""

    @extend_schema(responses={200: dict})
    def get(self, request, pk):
        return Response(_decision_json(selectors.entry_for_user(request.user, pk)))

    @extend_schema(request=DecisionSerializer, responses={201: dict})
    def post(self, request, pk):
        learning = selectors.entry_for_user(request.user, pk)
        if not selectors.can_decide_learning(request.user, learning):
            raise PermissionDenied("Leads record the decision on a learning.")
        data = DecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        meeting.decide_no_change(
            learning=learning, actor=request.user, reason=data.validated_data["reason"]
        )
        return Response(_decision_json(learning), status=status.HTTP_201_CREATED)


def _entry_ref(entry: Entry) -> dict:
    return {
        "id": str(entry.pk),
        "event": entry.event.slug,
        "kind": entry.kind,
        "body": entry.body,
        "occurred_at": entry.occurred_at.isoformat(),
    }


class RecurrenceLinkSerializer(serializers.Serializer):
    earlier = serializers.UUIDField()


class EntryRecurrenceApi(APIView):
    """Where an entry's problem was seen before: the place's count across the chain, the
    linked earlier learnings and similar ones to link; operators POST a link."""

    @extend_schema(responses={200: dict})
    def get(self, request, pk):
        entry = selectors.entry_for_user(request.user, pk)
        recurrence = loop.recurrence_of_feeds(entry.event, list(entry.feeds.all()))
        visible = selectors.events_for_user(request.user)
        linked = RecurrenceLink.objects.filter(entry=entry, earlier__event__in=visible)
        return Response(
            {
                "flagged": recurrence.flagged,
                "of": recurrence.of,
                "label": recurrence.label if recurrence.recurred else "",
                "linked": [
                    _entry_ref(link.earlier) for link in linked.select_related("earlier__event")
                ],
                "seen_before": [
                    _entry_ref(e) for e in loop.similar_learnings(visible, entry.event, entry.body)
                ],
            }
        )

    @extend_schema(request=RecurrenceLinkSerializer, responses={201: dict})
    def post(self, request, pk):
        entry = selectors.entry_for_user(request.user, pk, Role.OPERATOR)
        data = RecurrenceLinkSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            earlier = selectors.entry_for_user(request.user, data.validated_data["earlier"])
        except Http404:
            earlier = None
        if earlier is None:
            return Response(
                {"earlier": ["No entry you can see has this id."]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        planning.link_recurrence(entry=entry, earlier=earlier, actor=request.user)
        return Response(_entry_ref(earlier), status=status.HTTP_201_CREATED)


class EventSimilarApi(APIView):
    """While logging: learnings of the earlier events of the chain that read like `q`
    ("seen before at summit-2025: …")."""

    @extend_schema(
        parameters=[OpenApiParameter("q", str, description="the text being logged")],
        responses={200: dict},
    )
    def get(self, request, slug):
        event = selectors.event_for_user(request.user, slug)
        q = request.query_params.get("q", "")[:2000]
        visible = selectors.events_for_user(request.user)
        return Response(
            {"seen_before": [_entry_ref(e) for e in loop.similar_learnings(visible, event, q)]}
        )
