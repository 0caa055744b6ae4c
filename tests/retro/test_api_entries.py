"""The entries API: once-only logging, filters, pages, edits with versions, soft delete."""

import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from retro import services
from retro.api import EntrySerializer
from retro.models import Entry, EntryRevision
from tests.conftest import EVENT_START, TODAY

NEXT_YEAR = (TODAY + timedelta(days=365)).isoformat()
LAST_YEAR = (TODAY - timedelta(days=365)).isoformat()
NAIVE_IN_EVENT = (EVENT_START + timedelta(hours=3)).replace(tzinfo=None).isoformat()
WEEKS_AFTER_EVENT = (EVENT_START + timedelta(days=30)).isoformat()

ENTRY_KEYS = {
    "id",
    "kind",
    "body",
    "body_html",
    "occurred_at",
    "logged_at",
    "author",
    "site",
    "session",
    "feeds",
    "stage",
    "tags",
    "impact",
    "version",
}


def url(event):
    return f"/api/v1/events/{event.slug}/entries/"


def post(client, event, **fields):
    fields.setdefault("id", str(uuid.uuid4()))
    fields.setdefault("kind", "learning")
    fields.setdefault("body", "Packet loss on the ASL return over SRT")
    fields.setdefault("occurred_at", (event.start + timedelta(hours=3)).isoformat())
    return client.post(url(event), fields, format="json")


def log(event, author, **fields):
    fields.setdefault("kind", "win")
    fields.setdefault("body", "Clean failover to the B path")
    fields.setdefault("occurred_at", event.start + timedelta(hours=2))
    return services.log_entry(event=event, author=author, **fields)[0]


def test_retried_post_logs_the_entry_once(operator_api, event):
    body = {
        "id": str(uuid.uuid4()),
        "kind": "learning",
        "body": "SRT latency too low on ASL return",
    }
    first = operator_api.post(url(event), body, format="json")
    again = operator_api.post(url(event), body, format="json")
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"] == body["id"]
    assert event.entries.count() == 1


def test_posted_entry_json_has_the_documented_fields(operator_api, operator, event):
    event.memberships.filter(user=operator).update(
        site_id=event.feeds.get(slug="kn1-contrib-a").origin_id
    )
    response = post(
        operator_api,
        event,
        feeds=["kn1-asl", "kn1-program"],
        session="kn1",
        tags=["srt", "#ASL"],
        impact="caught",
        body="**loss** <script>x</script>",
    )
    assert response.status_code == 201, response.json()
    data = response.json()
    assert set(data) == ENTRY_KEYS
    assert data["author"] == operator.username
    assert data["site"] == "venue"  # defaults to the operator's membership site
    assert sorted(data["feeds"]) == ["kn1-asl", "kn1-program"]
    assert data["session"] == "kn1" and data["stage"] == "distribution"
    assert data["tags"] == ["srt", "asl"] and data["impact"] == "caught"
    assert "<strong>loss</strong>" in data["body_html"] and "<script" not in data["body_html"]
    assert data["version"] == 1


def test_a_post_answers_with_its_feeds_as_stored_in_one_read(
    operator_api, operator, event, django_assert_max_num_queries
):
    slugs = ["kn1-program", "kn1-contrib-a", "kn1-asl", "kn1-contrib-a"]
    post(operator_api, event, feeds=slugs)  # the membership is then known (cached)
    # event, feeds, savepoint and release, resend check, entry, feed links, one read of the
    # stored feeds for the answer (public prefetch API), and one of the event's listening
    # webhooks (retro.hooks.announce); the snapshot hook reads nothing
    with django_assert_max_num_queries(9):
        response = post(operator_api, event, feeds=slugs)
    assert response.status_code == 201, response.json()
    entry = Entry.objects.get(pk=response.json()["id"])
    assert response.json()["feeds"] == [f.slug for f in entry.feeds.all()]
    assert response.json()["feeds"] == EntrySerializer(entry).data["feeds"]


def test_action_json_carries_owner_due_status_and_source(lead_api, operator, event):
    learning = post(lead_api, event).json()
    response = post(
        lead_api,
        event,
        kind="action",
        body="Raise SRT latency to 2000 ms",
        owner=operator.username,
        due=NEXT_YEAR,
        source_entry=learning["id"],
    )
    assert response.status_code == 201, response.json()
    data = response.json()
    assert set(data) == ENTRY_KEYS | {"owner", "due", "status", "source_entry"}
    assert data["owner"] == operator.username and data["status"] == "open"
    assert data["source_entry"] == learning["id"] and data["due"] == NEXT_YEAR


@pytest.mark.parametrize(
    "fields,field",
    [
        ({"body": "   "}, "body"),
        ({"body": "x" * 20_001}, "body"),
        ({"body": "nul\x00byte"}, "body"),
        ({"kind": "rant"}, "kind"),
        ({"occurred_at": NAIVE_IN_EVENT}, "occurred_at"),
        ({"occurred_at": "yesterday-ish"}, "occurred_at"),
        ({"occurred_at": WEEKS_AFTER_EVENT}, "occurred_at"),
        ({"feeds": ["no-such-feed"]}, "feeds"),
        ({"session": "other-session"}, "session"),
        ({"kind": "action", "owner": "outsider1"}, "owner"),
        ({"kind": "action", "due": LAST_YEAR}, "due"),
        ({"kind": "win", "owner": "operator1"}, "owner"),
        ({"kind": "win", "status": "open"}, "status"),
    ],
)
def test_bad_input_is_refused_with_field_messages(
    operator_api, outsider, other_event, event, fields, field
):
    from retro.models import Session

    Session.objects.create(
        event=other_event,
        title="Elsewhere",
        slug="other-session",
        day=other_event.start.date(),
        scheduled_start=other_event.start,
        scheduled_end=other_event.start + timedelta(hours=1),
    )
    response = post(operator_api, event, **fields)
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not Entry.objects.exists()


def test_feed_of_another_event_is_refused(operator_api, event, other_event):
    from retro.models import Feed

    Feed.objects.create(event=other_event, slug="elsewhere", name="x", stage="contribution")
    response = post(operator_api, event, feeds=["elsewhere"])
    assert response.status_code == 400 and "feeds" in response.json()


def test_entry_for_a_finalized_retro_is_a_conflict(operator_api, event):
    event.retro_finalized_at = event.end
    event.save()
    response = post(operator_api, event)
    assert response.status_code == 409
    assert not Entry.objects.exists()


def test_list_filters_and_pages(viewer_api, operator, event):
    log(
        event,
        operator,
        kind="win",
        body="Clean failover to B",
        feeds=[event.feeds.get(slug="kn1-asl")],
    )
    log(
        event,
        operator,
        kind="learning",
        body="Captions lagged 8 s",
        occurred_at=event.start + timedelta(hours=30),
    )
    for i in range(3):
        log(
            event,
            operator,
            kind="learning",
            body=f"note {i}",
            occurred_at=event.start + timedelta(hours=5),
        )
    data = viewer_api.get(url(event), {"page_size": 2}).json()
    assert set(data) == {"count", "next", "previous", "results"}
    assert data["count"] == 5 and len(data["results"]) == 2 and data["next"]
    assert viewer_api.get(url(event), {"kind": "win"}).json()["count"] == 1
    assert viewer_api.get(url(event), {"feed": "kn1-asl"}).json()["count"] == 1
    assert viewer_api.get(url(event), {"stage": "distribution"}).json()["count"] == 1
    assert viewer_api.get(url(event), {"q": "captions"}).json()["count"] == 1
    since = (event.start + timedelta(hours=24)).isoformat()
    assert viewer_api.get(url(event), {"since": since}).json()["count"] == 1
    assert viewer_api.get(url(event), {"until": since}).json()["count"] == 4
    assert viewer_api.get(url(event), {"since": NAIVE_IN_EVENT}).status_code == 400


def test_patch_with_the_current_version_edits_and_keeps_history(operator_api, operator, event):
    entry = log(event, operator)
    response = operator_api.patch(
        f"/api/v1/entries/{entry.pk}/",
        {"version": 1, "body": "Clean failover to path B in 2 s"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["version"] == 2
    revision = EntryRevision.objects.get(entry=entry)
    assert revision.editor == operator
    assert revision.changes["body"] == [
        "Clean failover to the B path",
        "Clean failover to path B in 2 s",
    ]


def test_patch_with_a_stale_version_is_a_conflict_with_the_current_text(
    lead_api, operator_api, operator, event
):
    entry = log(event, operator)
    assert (
        lead_api.patch(
            f"/api/v1/entries/{entry.pk}/", {"version": 1, "body": "lead's text"}, format="json"
        ).status_code
        == 200
    )
    stale = operator_api.patch(
        f"/api/v1/entries/{entry.pk}/", {"version": 1, "body": "mine"}, format="json"
    )
    assert stale.status_code == 409
    assert stale.json()["current"]["body"] == "lead's text"
    entry.refresh_from_db()
    assert entry.body == "lead's text" and entry.version == 2


def test_delete_is_soft_and_restore_brings_it_back(operator_api, viewer_api, operator, event):
    entry = log(event, operator)
    assert operator_api.delete(f"/api/v1/entries/{entry.pk}/").status_code == 204
    entry.refresh_from_db()
    assert entry.deleted_at is not None
    assert viewer_api.get(url(event)).json()["count"] == 0
    assert operator_api.post(f"/api/v1/entries/{entry.pk}/restore/").status_code == 200
    assert viewer_api.get(url(event)).json()["count"] == 1


def test_action_status_can_change_after_the_retro_is_finalized(lead_api, lead, event):
    action = log(event, lead, kind="action", body="Raise latency", owner=lead)
    event.retro_finalized_at = event.end
    event.save()
    done = lead_api.patch(
        f"/api/v1/entries/{action.pk}/", {"version": 1, "status": "done"}, format="json"
    )
    assert done.status_code == 200 and done.json()["status"] == "done"
    body = lead_api.patch(
        f"/api/v1/entries/{action.pk}/", {"version": 2, "body": "x"}, format="json"
    )
    assert body.status_code == 409


def test_actions_endpoints_filter_by_owner_and_status(lead_api, lead, operator, event):
    log(event, lead, kind="action", body="A", owner=operator)
    done = log(event, lead, kind="action", body="B", owner=lead)
    services.set_action_status(entry=done, status="done", actor=lead)
    log(event, lead, kind="win", body="not an action")
    assert lead_api.get(f"/api/v1/events/{event.slug}/actions/").json()["count"] == 2
    mine = lead_api.get("/api/v1/actions/", {"owner": operator.username, "status": "open"}).json()
    assert [a["body"] for a in mine["results"]] == ["A"]
    assert lead_api.get("/api/v1/actions/", {"status": "done"}).json()["count"] == 1
    assert lead_api.get("/api/v1/actions/", {"status": "someday"}).status_code == 400


def test_sessions_and_feeds_json(viewer_api, event):
    sessions = viewer_api.get(f"/api/v1/events/{event.slug}/sessions/").json()["results"]
    assert sessions[0]["slug"] == "kn1"
    feeds = viewer_api.get(f"/api/v1/events/{event.slug}/feeds/").json()["results"]
    asl = next(f for f in feeds if f["slug"] == "kn1-asl")
    assert set(asl) == {
        "slug",
        "name",
        "kind",
        "language",
        "stage",
        "session",
        "origin",
        "destination",
        "transport",
        "path",
        "source_ids",
        "derived_from",
    }
    assert asl["derived_from"] == ["kn1-program"] and asl["session"] == "kn1"


def test_lead_patches_a_feeds_source_ids_and_it_is_audited(lead_api, event):
    response = lead_api.patch(
        f"/api/v1/events/{event.slug}/feeds/kn1-asl/",
        {"source_ids": ["arn:aws:mediaconnect:flow:asl"]},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["source_ids"] == ["arn:aws:mediaconnect:flow:asl"]
    assert event.audit_log.filter(action="feed.update").exists()
    bad = lead_api.patch(
        f"/api/v1/events/{event.slug}/feeds/kn1-asl/", {"source_ids": [""]}, format="json"
    )
    assert bad.status_code == 400 and "source_ids" in bad.json()
    loop = lead_api.patch(
        f"/api/v1/events/{event.slug}/feeds/kn1-contrib-a/",
        {"derived_from": "kn1-asl"},
        format="json",
    )
    assert loop.status_code == 400 and "derived_from" in loop.json()


def test_admin_creates_an_event_others_cannot(admin_api, lead_api, event):
    body = {
        "slug": "expo",
        "name": "Expo",
        "venue": "Hall",
        "time_zone": "Europe/Dublin",
        "start": (EVENT_START + timedelta(days=90)).isoformat(),
        "end": (EVENT_START + timedelta(days=92)).isoformat(),
        "state": "planning",
    }
    assert lead_api.post("/api/v1/events/", body, format="json").status_code == 403
    created = admin_api.post("/api/v1/events/", body, format="json")
    assert created.status_code == 201 and created.json()["slug"] == "expo"
    bad = admin_api.post(
        "/api/v1/events/", {**body, "slug": "expo2", "time_zone": "Mars/Base"}, format="json"
    )
    assert bad.status_code == 400 and "time_zone" in bad.json()


def test_token_auth_with_drf_create_token(operator, event):
    call_command("drf_create_token", operator.username)
    token = Token.objects.get(user=operator)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get(url(event)).status_code == 200
    assert post(client, event).status_code == 201


def test_session_auth_needs_csrf_for_writes(client, operator, event):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(operator)
    response = strict.post(
        url(event), {"kind": "win", "body": "x"}, content_type="application/json"
    )
    assert response.status_code == 403
