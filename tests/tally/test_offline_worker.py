"""The service worker behind offline copies: served where it can control the whole site, never
cached without asking, public (it holds no data), registered only for signed-in people, and
keeping exactly the show-floor pages (the board and runbook checklists)."""

import re

import pytest
from django.test import Client

from tally import offline

pytestmark = pytest.mark.django_db


def test_the_worker_is_served_for_the_whole_site_and_never_cached_blind(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == "/"
    assert response["Cache-Control"] == "no-cache"
    script = response.content.decode()
    assert f'var PAGES = "{offline.PAGES_CACHE}"' in script
    assert 'var STATIC = "/static/"' in script
    assert f"var MAX_PAGES = {offline.MAX_PAGES};" in script
    assert f"var MAX_ASSETS = {offline.MAX_ASSETS};" in script
    assert "{{" not in script and "{%" not in script
    assert client.post("/sw.js").status_code == 405


def kept(path: str) -> bool:
    """Whether the worker keeps this path: its patterns, as the browser will read them."""
    return any(re.search(pattern, path) for pattern in offline.KEPT_PAGES)


def test_only_the_show_floor_pages_are_kept():
    assert kept("/events/summit/board/")
    assert kept("/runbooks/runs/12/")
    for path in (
        "/events/summit/",
        "/events/summit/board/changes/",
        "/runbooks/runs/12/changes/",
        "/events/summit/meeting/",
        "/accounts/login/",
        "/api/v1/events/",
    ):
        assert not kept(path), path


def test_the_worker_is_registered_for_the_signed_in_and_forgets_for_the_signed_out(
    event, operator_client
):
    signed_out = Client().get("/accounts/login/").content.decode()
    assert 'src="/static/js/offline-pages.js"' in signed_out
    assert 'data-signed-in="0"' in signed_out
    signed_in = operator_client.get("/events/summit/board/").content.decode()
    assert 'data-signed-in="1"' in signed_in and 'data-worker="/sw.js"' in signed_in
