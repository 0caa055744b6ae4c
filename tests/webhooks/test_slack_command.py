"""/tally from Slack: signed with Slack's v0 scheme, logged as the mapped Tally user through
the entry services, answered with an ephemeral message; bad requests are refused."""

import hashlib
import hmac
import time
from urllib.parse import urlencode

import pytest

from retro.models import Entry
from tally.times import in_zone
from webhooks.models import ChatIdentity

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
URL = "/integrations/slack/command/"


@pytest.fixture(autouse=True)
def signing_secret(settings):
    settings.TALLY_SLACK_SIGNING_SECRET = SECRET


@pytest.fixture
def mapped(event, operator, lead):
    return ChatIdentity.objects.create(
        event=event, team_id="T0TEAM", chat_user_id="U0OPER", user=operator, created_by=lead
    )


def slack_post(client, text, *, user="U0OPER", secret=SECRET, age=0, trigger="13345224609.7"):
    body = urlencode(
        {
            "token": "unused",
            "team_id": "T0TEAM",
            "user_id": user,
            "user_name": "sam",
            "command": "/tally",
            "text": text,
            "trigger_id": trigger,
            "response_url": "https://hooks.slack.com/commands/T0TEAM/1/x",
        }
    )
    timestamp = str(int(time.time()) - age)
    base = f"v0:{timestamp}:{body}".encode()
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return client.post(
        URL,
        body,
        content_type="application/x-www-form-urlencoded",
        HTTP_X_SLACK_REQUEST_TIMESTAMP=timestamp,
        HTTP_X_SLACK_SIGNATURE=signature,
    )


def test_a_signed_command_logs_a_learning_on_the_feed_as_the_mapped_user(client, mapped):
    response = slack_post(client, "learning kn1-asl: audio drifting 2 s")
    assert response.status_code == 200
    answer = response.json()
    assert answer["response_type"] == "ephemeral"
    entry = Entry.objects.get()
    assert (entry.kind, entry.body, entry.author.username) == (
        "learning",
        "audio drifting 2 s",
        "operator1",
    )
    assert [f.slug for f in entry.feeds.all()] == ["kn1-asl"]
    assert "Logged learning on kn1-asl in Test Summit" in answer["text"]
    local = in_zone(entry.occurred_at, entry.event, "day")  # e.g. Wed 02 Dec 09:00 PST
    assert f"at {local} (America/Los_Angeles)" in answer["text"]
    assert f"/entries/{entry.pk}/" in answer["text"]


@pytest.mark.parametrize(
    ("text", "kind", "body"),
    [
        ("win: the failover to B was seamless", "win", "the failover to B was seamless"),
        ("action kn1-program: add a second SRT path", "action", "add a second SRT path"),
        ("Learning summit/kn1-asl: lip sync off", "learning", "lip sync off"),
    ],
)
def test_wins_actions_and_event_qualified_feeds(client, mapped, text, kind, body):
    assert slack_post(client, text).status_code == 200
    entry = Entry.objects.get()
    assert (entry.kind, entry.body) == (kind, body)


def test_the_same_command_sent_twice_logs_once(client, mapped):
    slack_post(client, "win: clean handoff")
    slack_post(client, "win: clean handoff")
    assert Entry.objects.count() == 1


@pytest.mark.parametrize(
    ("secret", "age", "message"),
    [
        ("not-the-secret", 0, "does not match"),
        (SECRET, 6 * 60, "more than 5 minutes old"),
        (SECRET, -6 * 60, "more than 5 minutes old"),
    ],
)
def test_a_bad_or_stale_signature_is_a_401_and_logs_nothing(client, mapped, secret, age, message):
    response = slack_post(client, "win: should not land", secret=secret, age=age)
    assert response.status_code == 401
    assert message in response.json()["error"]
    assert not Entry.objects.exists()


def test_missing_signature_headers_are_a_401(client, mapped):
    response = client.post(URL, "text=win%3A+x", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 401


def test_no_signing_secret_configured_refuses_everything(client, mapped, settings):
    settings.TALLY_SLACK_SIGNING_SECRET = ""
    assert slack_post(client, "win: x").status_code == 401


@pytest.mark.parametrize(
    ("text", "user", "message"),
    [
        ("learning kn9-nope: x", "U0OPER", "Unknown feed 'kn9-nope'"),
        ("learning kn1-asl: x", "U0STRANGER", "not linked to a Tally user"),
        ("lesson kn1-asl: x", "U0OPER", "Unknown kind 'lesson'"),
        ("win", "U0OPER", "Usage"),
        ("help", "U0OPER", "Usage"),
        ("learning other/kn1-asl: x", "U0OPER", "cannot log on an event 'other'"),
    ],
)
def test_mistakes_are_answered_to_the_user_and_log_nothing(client, mapped, text, user, message):
    response = slack_post(client, text, user=user)
    assert response.status_code == 200
    answer = response.json()
    assert answer["response_type"] == "ephemeral"
    assert message in answer["text"]
    assert not Entry.objects.exists()


def test_a_mapped_user_who_became_a_viewer_cannot_log(client, mapped, event, lead):
    from retro import services

    services.set_membership(event=event, user=mapped.user, role="viewer", actor=lead)
    response = slack_post(client, "win: x")
    assert "not linked" in response.json()["text"]
    assert not Entry.objects.exists()


def test_leads_map_chat_users_by_api(lead_api, operator_api, outsider_api, operator, event):
    url = "/api/v1/events/summit/chat-users/"
    body = {"team_id": "T0TEAM", "chat_user_id": "U0OPER", "user": "operator1"}
    assert operator_api.post(url, body, format="json").status_code == 403
    assert outsider_api.post(url, body, format="json").status_code == 404
    created = lead_api.post(url, body, format="json")
    assert created.status_code == 201, created.json()
    again = lead_api.post(url, body, format="json")
    assert again.status_code == 400 and "already mapped" in str(again.json()["chat_user_id"])
    assert lead_api.get(url).json()[0]["user"] == "operator1"
    pk = created.json()["id"]
    assert operator_api.delete(f"/api/v1/chat-users/{pk}/").status_code == 403
    assert lead_api.delete(f"/api/v1/chat-users/{pk}/").status_code == 204
    assert not ChatIdentity.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"team_id": "t lower", "chat_user_id": "U0OPER", "user": "operator1"}, "team_id"),
        ({"team_id": "T0TEAM", "chat_user_id": "", "user": "operator1"}, "chat_user_id"),
        ({"team_id": "T0TEAM", "chat_user_id": "U0X", "user": "outsider1"}, "user"),
        ({"team_id": "T0TEAM", "chat_user_id": "U0X", "user": "nobody"}, "user"),
    ],
)
def test_bad_mappings_are_a_400_naming_the_field(lead_api, operator, outsider, event, body, field):
    response = lead_api.post("/api/v1/events/summit/chat-users/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not ChatIdentity.objects.exists()
