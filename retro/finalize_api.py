"""REST API of finalizing and reopening a retro: the same gates and services
(retro.finalize) as the confirmation page."""

from django.core.exceptions import PermissionDenied
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from . import finalize, selectors


class FinalizeSerializer(serializers.Serializer):
    override_reason = serializers.CharField(required=False, allow_blank=True, default="")


class ReopenSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class FinalizeResultSerializer(serializers.Serializer):
    slug = serializers.CharField()
    retro_finalized_at = serializers.DateTimeField(allow_null=True)
    retro_override_reason = serializers.CharField()


def _preview_json(preview: finalize.FinalizePreview) -> dict:
    return {
        "finalized": preview.event.retro_finalized,
        "counts": {**preview.counts, "total": preview.total},
        "live": preview.live,
        "undecided_learnings": [{"id": str(e.pk), "body": e.body[:200]} for e in preview.undecided],
        "problems": preview.problems,
        "needs_reason": preview.needs_reason,
    }


def _lead_event(request, slug):
    event = selectors.event_for_user(request.user, slug)
    if not selectors.can_finalize_retro(request.user, event):
        raise PermissionDenied("Only a lead finalizes or reopens the retro.")
    return event


class RetroFinalizeApi(APIView):
    """GET: what a finalize would freeze and what stands in its way (leads). POST: finalize;
    a 400 lists the problems (live event, learnings without a decision) that only a written
    `override_reason` gets past."""

    @extend_schema(responses={200: dict})
    def get(self, request, slug):
        event = _lead_event(request, slug)
        return Response(_preview_json(finalize.finalize_preview(event)))

    @extend_schema(request=FinalizeSerializer, responses={200: FinalizeResultSerializer})
    def post(self, request, slug):
        event = _lead_event(request, slug)
        data = FinalizeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        event = finalize.finalize_retro(
            event=event, actor=request.user, override_reason=data.validated_data["override_reason"]
        )
        return Response(FinalizeResultSerializer(event).data)


class RetroReopenApi(APIView):
    """Leads reopen a finalized retro with a written `reason` (audited)."""

    @extend_schema(request=ReopenSerializer, responses={200: FinalizeResultSerializer})
    def post(self, request, slug):
        event = _lead_event(request, slug)
        data = ReopenSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        event = finalize.reopen_retro(
            event=event, actor=request.user, reason=data.validated_data["reason"]
        )
        return Response(FinalizeResultSerializer(event).data)
