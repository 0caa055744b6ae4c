"""Who may do what, as a matrix over every board and API URL: viewers read, operators log
and edit their own entries, leads edit any, outsiders see nothing (404), anonymous callers
get 401 from the API and the login page from HTML."""

import uuid
from datetime import timedelta

import pytest
from django.test import Client
from rest_framework.test import APIClient

from retro import services
from tests.conftest import EVENT_START, iso

ROLES = ["anon", "outsider", "viewer", "operator", "lead", "admin"]


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    """Six users per test: hashing their passwords properly would dominate the run."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(event, lead, operator, viewer, outsider, admin_user):
    at = event.start + timedelta(hours=2)
    lead_entry, _ = services.log_entry(
        event=event, author=lead, kind="win", body="lead's", occurred_at=at
    )
    own_entry, _ = services.log_entry(
        event=event, author=operator, kind="learning", body="op's", occurred_at=at
    )
    # Written by the operator, owned by the lead: the operator may edit its text, but only
    # the owner or a lead changes its status (the API and the HTML page once disagreed).
    authored_action, _ = services.log_entry(
        event=event,
        author=operator,
        kind="action",
        body="op's, lead's to do",
        owner=lead,
        occurred_at=at,
    )
    users = {
        "outsider": outsider,
        "viewer": viewer,
        "operator": operator,
        "lead": lead,
        "admin": admin_user,
    }
    return {
        "event": event,
        "lead_entry": lead_entry,
        "own_entry": own_entry,
        "authored_action": authored_action,
        "users": users,
    }


def api_client(world, role):
    client = APIClient()
    if role != "anon":
        client.force_authenticate(world["users"][role])
    return client


def html_client(world, role):
    client = Client()
    if role != "anon":
        client.force_login(world["users"][role])
    return client


def _status(expected: dict, role: str) -> int:
    return expected.get(role, expected.get("member"))


READS = [
    # (path, outsider status) — members (viewer and up) get 200, anonymous 401
    ("/api/v1/events/", 200),
    ("/api/v1/events/summit/", 404),
    ("/api/v1/events/summit/sessions/", 404),
    ("/api/v1/events/summit/feeds/", 404),
    ("/api/v1/events/summit/feeds/kn1-asl/", 404),
    ("/api/v1/events/summit/entries/", 404),
    ("/api/v1/events/summit/actions/", 404),
    ("/api/v1/entries/{lead_entry}/", 404),
    ("/api/v1/actions/", 200),
]


@pytest.mark.parametrize("path,outsider_status", READS)
def test_api_reads(world, path, outsider_status):
    path = path.format(lead_entry=world["lead_entry"].pk)
    got = {role: api_client(world, role).get(path).status_code for role in ROLES}
    expected = {role: {"anon": 401, "outsider": outsider_status}.get(role, 200) for role in ROLES}
    assert got == expected


def test_outsider_lists_show_nothing_of_the_event(world):
    client = api_client(world, "outsider")
    assert client.get("/api/v1/events/").json()["count"] == 0
    assert client.get("/api/v1/actions/").json()["count"] == 0


WRITES = [
    # (method, path, body, expected by role)
    (
        "post",
        "/api/v1/events/summit/entries/",
        {"kind": "win", "body": "ok"},
        {"anon": 401, "outsider": 404, "viewer": 403, "operator": 201, "lead": 201, "admin": 201},
    ),
    (
        "patch",
        "/api/v1/entries/{lead_entry}/",
        {"version": 1, "body": "changed"},
        {"anon": 401, "outsider": 404, "viewer": 403, "operator": 403, "lead": 200, "admin": 200},
    ),
    (
        "patch",
        "/api/v1/entries/{own_entry}/",
        {"version": 1, "body": "changed"},
        {"anon": 401, "outsider": 404, "viewer": 403, "operator": 200, "lead": 200, "admin": 200},
    ),
    (
        "patch",
        "/api/v1/entries/{authored_action}/",
        {"version": 1, "status": "done"},
        {"anon": 401, "outsider": 404, "viewer": 403, "operator": 403, "lead": 200, "admin": 200},
    ),
    (
        "patch",
        "/api/v1/entries/{authored_action}/",
        {"version": 1, "body": "op's, reworded"},
        {"anon": 401, "outsider": 404, "viewer": 403, "operator": 200, "lead": 200, "admin": 200},
    ),
    (
        "delete",
        "/api/v1/entries/{lead_entry}/",
        None,
        {"anon": 401, "outsider": 404, "viewer": 403, "operator": 403, "lead": 204, "admin": 204},
    ),
    (
        "delete",
        "/api/v1/entries/{own_entry}/",
        None,
        {"anon": 401, "outsider": 404, "viewer": 403, "operator": 204, "lead": 204, "admin": 204},
    ),
    (
        "post",
        "/api/v1/entries/{lead_entry}/restore/",
        None,
        {"anon": 401, "outsider": 404, "viewer": 403, "operator": 403, "lead": 200, "admin": 200},
    ),
    (
        "patch",
        "/api/v1/events/summit/feeds/kn1-asl/",
        {"source_ids": ["srt://asl"]},
        {"anon": 401, "outsider": 404, "viewer": 403, "operator": 403, "lead": 200, "admin": 200},
    ),
    (
        "post",
        "/api/v1/events/",
        {
            "slug": "new",
            "name": "New",
            "time_zone": "UTC",
            "start": iso(EVENT_START + timedelta(days=40)),
            "end": iso(EVENT_START + timedelta(days=41)),
        },
        {"anon": 401, "outsider": 403, "viewer": 403, "operator": 403, "lead": 403, "admin": 201},
    ),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("method,path,body,expected", WRITES)
def test_api_writes(world, role, method, path, body, expected):
    path = path.format(
        lead_entry=world["lead_entry"].pk,
        own_entry=world["own_entry"].pk,
        authored_action=world["authored_action"].pk,
    )
    if body and method == "post" and "entries" in path:
        body = {**body, "id": str(uuid.uuid4())}
    response = getattr(api_client(world, role), method)(path, body, format="json")
    assert response.status_code == expected[role], response.content


HTML = [
    "/events/summit/board/",
    "/events/summit/board/?view=timeline",
    "/events/summit/board/changes/",
    "/entries/{lead_entry}/",
]


@pytest.mark.parametrize("path", HTML)
def test_html_reads(world, path):
    path = path.format(lead_entry=world["lead_entry"].pk)
    for role in ROLES:
        response = html_client(world, role).get(path)
        if role == "anon":
            assert response.status_code == 302, role
            assert response["Location"].startswith("/accounts/login/")
        else:
            assert response.status_code == (404 if role == "outsider" else 200), role


@pytest.mark.parametrize(
    "role,expected", [("viewer", 403), ("operator", 403), ("lead", 302), ("outsider", 404)]
)
def test_html_delete_and_restore_of_someone_elses_entry(world, role, expected):
    client = html_client(world, role)
    response = client.post(f"/entries/{world['lead_entry'].pk}/", {"do": "delete"})
    assert response.status_code == expected
    world["lead_entry"].refresh_from_db()
    assert (world["lead_entry"].deleted_at is not None) == (expected == 302)


def test_entry_form_is_only_for_operators_and_up(world):
    assert (
        'id="entry-form"'
        not in html_client(world, "viewer").get("/events/summit/board/").content.decode()
    )
    assert (
        'id="entry-form"'
        in html_client(world, "operator").get("/events/summit/board/").content.decode()
    )


def test_edit_buttons_only_where_the_viewer_may_edit(world):
    page = html_client(world, "operator").get("/events/summit/board/").content.decode()
    own, other = str(world["own_entry"].pk), str(world["lead_entry"].pk)
    assert f'js-edit" data-id="{own}"' in page
    assert f'js-edit" data-id="{other}"' not in page


@pytest.mark.parametrize("role", ROLES)
def test_action_status_follows_one_rule_on_the_page_and_the_api(world, role):
    """The HTML status form and the API PATCH ask the same gate (can_change_action_status)."""
    action = world["authored_action"]
    page = html_client(world, role).post(f"/actions/{action.pk}/status/", {"status": "done"})
    action.refresh_from_db()
    body = {"version": action.version, "status": "in_progress"}
    api = api_client(world, role).patch(f"/api/v1/entries/{action.pk}/", body, format="json")
    allowed = role in ("lead", "admin")
    hidden = role == "outsider"
    expected_page = 302 if allowed else (404 if hidden else (302 if role == "anon" else 403))
    assert page.status_code == expected_page, page.content[:200]
    assert api.status_code == (200 if allowed else {"anon": 401, "outsider": 404}.get(role, 403))
    action.refresh_from_db()
    assert (action.status == "in_progress") == allowed
