"""Offline copies of the show-floor pages: the service worker and what it keeps.

An operator's phone loses the network in a basement and the operator reloads the board or a
runbook checklist: without a service worker that ends on the browser's offline page, and the
entries and ticks waiting in the page's queue cannot be seen or sent until the network is back.
The worker (``templates/offline/sw.js``, served at ``/sw.js`` so that its scope is the whole
site) keeps the last copy of the pages named here and opens it when the network fails or answers
5xx (a slow answer is waited for). Signed-out pages forget every kept copy
(``static/js/offline-pages.js``).
"""

import json

from django.conf import settings
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET

# Path patterns (JavaScript regular expressions) of the pages kept for offline use.
KEPT_PAGES = (
    r"^/events/[^/]+/board/$",  # an event's board
    r"^/runbooks/runs/\d+/$",  # a runbook run's checklist
)
PAGES_CACHE = "tally-pages-v1"
ASSETS_CACHE = "tally-assets-v1"
MAX_PAGES = 30
MAX_ASSETS = 100  # static files; a deploy's renamed (hashed) files push the old ones out


@require_GET
def service_worker(request):
    """The worker script: public (it holds no data), never cached without asking again, and
    allowed to control the whole site."""
    script = render_to_string(
        "offline/sw.js",
        {
            "pages_cache": PAGES_CACHE,
            "assets_cache": ASSETS_CACHE,
            "static_url": settings.STATIC_URL,
            "page_patterns": [json.dumps(pattern) for pattern in KEPT_PAGES],
            "max_pages": MAX_PAGES,
            "max_assets": MAX_ASSETS,
        },
    )
    response = HttpResponse(script, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    response["Service-Worker-Allowed"] = "/"
    return response
