"""The search page: runbooks and retro entries, ranked, with highlighted snippets."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import render

from retro.models import Stage
from retro.selectors import events_for_user
from runbooks.models import Runbook

from . import selectors


@login_required
def search_page(request):
    """Runbooks and retro entries, ranked, with highlighted snippets and filters."""
    g = request.GET
    error = None
    results = None
    try:
        filters = selectors.filters_from_query(g)
        results = selectors.search_page(request.user, filters, page=selectors.page_number(g))
    except ValidationError as exc:
        error = " ".join(exc.messages)
        filters = None
    query = g.copy()
    query.pop("page", None)
    return render(
        request,
        "search/search.html",
        {
            "q": g.get("q", "")[:500],
            "filters": filters,
            "results": results,
            "hits": results.hits if results else [],
            "query": query.urlencode(),
            "error": error,
            "stages": Stage.choices,
            "events": events_for_user(request.user).order_by("-start"),
            "kinds": [("win", "Win"), ("learning", "Learning"), ("action", "Action")],
            "types": [
                ("runbook", "Runbooks"),
                ("entry", "Retro entries"),
                ("feed", "Feeds"),
                ("session", "Sessions"),
            ],
            "runbook_count": Runbook.objects.count(),
        },
        status=400 if error else 200,
    )
