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
    slug = serializers.SlugField(required=False, help_text="Runbook, feed and session hits.")
    id = serializers.UUIDField(required=False, help_text="Entry hits only.")
    tags = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="Entry hits only."
    )


class SearchResultsSerializer(serializers.Serializer):
    q = serializers.CharField(allow_blank=True)
    count = serializers.IntegerField(help_text="Hits in all pages (at least, when `more`).")
    more = serializers.BooleanField(help_text="More hits than counted: follow `next`.")
    page = serializers.IntegerField()
    pages = serializers.IntegerField()
    next = serializers.CharField(allow_null=True, help_text="The next page's URL.")
    previous = serializers.CharField(allow_null=True)
    results = SearchHitSerializer(many=True)


class SearchApi(APIView):
    """GET ?q=&type=&stage=&event=&kind=&all_revisions=1&page=: ranked hits with highlighted
    snippets, PER_PAGE a page."""

    serializer_class = SearchResultsSerializer

    @extend_schema(
        operation_id="search",
        parameters=[
            OpenApiParameter("q", str, required=False, description="At most 500 characters"),
            OpenApiParameter("type", str, enum=list(selectors.TYPES), required=False),
            OpenApiParameter("stage", str, enum=Stage.values, required=False),
            OpenApiParameter("event", str, required=False, description="Event slug"),
            OpenApiParameter("kind", str, enum=Entry.Kind.values, required=False),
            OpenApiParameter("page", int, required=False, description="From 1"),
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
        found = selectors.search_page(
            request.user, filters, page=selectors.page_number(request.query_params)
        )
        hits = found.hits
        return Response(
            {
                "q": filters.q,
                "count": found.total,
                "more": found.more,
                "page": found.page,
                "pages": found.pages,
                "next": _page_url(request, found.page + 1) if found.has_next else None,
                "previous": _page_url(request, found.page - 1) if found.has_previous else None,
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


def _page_url(request, page: int) -> str:
    query = request.query_params.copy()
    query["page"] = str(page)
    return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
