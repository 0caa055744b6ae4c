"""GET /api/v1/search/: the same search as the page, as JSON."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from retro.models import Entry, Stage
from runbooks.api import FIELD_ERRORS, NOT_SIGNED_IN

from . import selectors


class SearchHitSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=selectors.TYPES)
    title = serializers.CharField()
    url = serializers.CharField()
    snippet = serializers.CharField(
        allow_blank=True, help_text="Escaped text; matches wrapped in <mark>."
    )
    score = serializers.FloatField()
    stage = serializers.CharField(allow_blank=True)
    event = serializers.CharField(allow_blank=True, help_text="Event slug (entries).")
    kind = serializers.CharField(allow_blank=True)
    when = serializers.DateTimeField(allow_null=True)
    revision = serializers.IntegerField(allow_null=True)
    slug = serializers.SlugField(required=False, help_text="Runbook hits only.")
    id = serializers.UUIDField(required=False, help_text="Entry hits only.")


class SearchResultsSerializer(serializers.Serializer):
    q = serializers.CharField(allow_blank=True)
    count = serializers.IntegerField()
    results = SearchHitSerializer(many=True)


class SearchApi(APIView):
    """GET ?q=&type=&stage=&event=&kind=&all_revisions=1: ranked hits with highlighted snippets."""

    serializer_class = SearchResultsSerializer

    @extend_schema(
        operation_id="search",
        parameters=[
            OpenApiParameter("q", str, required=False, description="At most 500 characters"),
            OpenApiParameter("type", str, enum=list(selectors.TYPES), required=False),
            OpenApiParameter("stage", str, enum=Stage.values, required=False),
            OpenApiParameter("event", str, required=False, description="Event slug"),
            OpenApiParameter("kind", str, enum=Entry.Kind.values, required=False),
            OpenApiParameter(
                "all_revisions",
                OpenApiTypes.STR,
                enum=["1", "true", "yes"],
                required=False,
                description="Also search older revisions",
            ),
        ],
        responses={200: SearchResultsSerializer, 400: FIELD_ERRORS, 401: NOT_SIGNED_IN},
    )
    def get(self, request):
        filters = selectors.filters_from_query(request.query_params)
        hits = selectors.search(request.user, filters)
        return Response(
            {
                "q": filters.q,
                "count": len(hits),
                "results": [
                    {
                        "type": h.type,
                        "title": h.title,
                        "url": h.url,
                        "snippet": str(h.snippet),
                        "score": round(h.score, 4),
                        "stage": h.stage,
                        "event": h.event_slug,
                        "kind": h.kind,
                        "when": h.when,
                        "revision": h.revision,
                        **h.extra,
                    }
                    for h in hits
                ],
            }
        )
