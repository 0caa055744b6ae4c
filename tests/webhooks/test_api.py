"""Leads manage an event's webhooks by API; everyone else is kept out; bad input is a 400
naming the field."""

import pytest

from retro.models import AuditLog
from webhooks.models import Delivery, Webhook

URL = "/api/v1/events/summit/webhooks/"
GOOD = {"url": "https://93.184.216.34/hooks/tally", "events": ["entry.created"]}


def test_a_lead_adds_a_webhook_and_sees_its_secret_once(lead_api, event):
    response = lead_api.post(URL, GOOD, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert len(body["secret"]) >= 40
    assert body["format"] == "json" and body["events"] == ["entry.created"]
    webhook = Webhook.objects.get(pk=body["id"])
    assert webhook.secret == body["secret"] and webhook.created_by.username == "lead1"
    listed = lead_api.get(URL).json()
    assert [w["id"] for w in listed] == [body["id"]]
    assert "secret" not in listed[0]
    assert "secret" not in lead_api.get(f"/api/v1/webhooks/{body['id']}/").json()
    assert AuditLog.objects.filter(action="webhook.create", object_id=str(webhook.pk)).exists()


def test_patch_changes_the_events_and_turns_it_off(lead_api, event):
    pk = lead_api.post(URL, GOOD, format="json").json()["id"]
    response = lead_api.patch(
        f"/api/v1/webhooks/{pk}/",
        {"events": ["anomaly.opened", "anomaly.closed"], "format": "slack", "active": False},
        format="json",
    )
    assert response.status_code == 200, response.json()
    webhook = Webhook.objects.get(pk=pk)
    assert webhook.events == ["anomaly.opened", "anomaly.closed"]
    assert (webhook.format, webhook.active) == ("slack", False)


def test_delete_removes_it(lead_api, event):
    pk = lead_api.post(URL, GOOD, format="json").json()["id"]
    assert lead_api.delete(f"/api/v1/webhooks/{pk}/").status_code == 204
    assert not Webhook.objects.filter(pk=pk).exists()


def test_deliveries_list_shows_status_attempts_and_times(lead_api, event):
    pk = lead_api.post(URL, GOOD, format="json").json()["id"]
    webhook = Webhook.objects.get(pk=pk)
    Delivery.objects.create(
        webhook=webhook,
        event_name="entry.created",
        key="k1",
        body=b"{}",
        status_code=503,
        attempts=3,
        last_error="HTTP 503: busy",
    )
    rows = lead_api.get(f"/api/v1/webhooks/{pk}/deliveries/").json()["results"]
    assert [(r["event"], r["status_code"], r["attempts"]) for r in rows] == [
        ("entry.created", 503, 3)
    ]
    assert rows[0]["last_error"] == "HTTP 503: busy" and rows[0]["created_at"]


@pytest.mark.parametrize(
    ("client", "status"), [("operator_api", 403), ("viewer_api", 403), ("outsider_api", 404)]
)
def test_only_leads_of_the_event_manage_its_webhooks(request, lead_api, client, status, event):
    pk = lead_api.post(URL, GOOD, format="json").json()["id"]
    api = request.getfixturevalue(client)
    assert api.get(URL).status_code == status
    assert api.post(URL, GOOD, format="json").status_code == status
    assert api.get(f"/api/v1/webhooks/{pk}/").status_code == status
    assert api.patch(f"/api/v1/webhooks/{pk}/", {"active": False}, format="json").status_code == (
        status
    )
    assert api.delete(f"/api/v1/webhooks/{pk}/").status_code == status
    assert api.get(f"/api/v1/webhooks/{pk}/deliveries/").status_code == status
    assert Webhook.objects.filter(pk=pk, active=True).count() == 1


def test_anonymous_callers_are_asked_to_sign_in(anon_api, event):
    assert anon_api.get(URL).status_code == 401


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({**GOOD, "url": "ftp://93.184.216.34/x"}, "url", "Only http:// and https://"),
        ({**GOOD, "url": "http://127.0.0.1:9/x"}, "url", "loopback"),
        ({**GOOD, "url": "http://169.254.169.254/latest"}, "url", "metadata"),
        ({**GOOD, "url": "http://10.0.0.8/x"}, "url", "private"),
        ({**GOOD, "url": "http://localhost/x"}, "url", "loopback"),
        ({**GOOD, "events": ["entry.deleted"]}, "events", "Unknown event 'entry.deleted'"),
        ({**GOOD, "events": []}, "events", ""),
        ({**GOOD, "format": "teams"}, "format", "Unknown format"),
        ({"events": ["entry.created"]}, "url", ""),
    ],
)
def test_bad_input_is_a_400_naming_the_field(lead_api, event, body, field, message):
    response = lead_api.post(URL, body, format="json")
    assert response.status_code == 400
    problems = response.json()
    assert field in problems, problems
    assert message in str(problems[field])
    assert not Webhook.objects.exists()


def test_patch_to_a_forbidden_address_is_refused_and_nothing_changes(lead_api, event):
    pk = lead_api.post(URL, GOOD, format="json").json()["id"]
    response = lead_api.patch(
        f"/api/v1/webhooks/{pk}/", {"url": "http://[::1]/x", "events": []}, format="json"
    )
    assert response.status_code == 400
    assert "loopback" in str(response.json()["url"])
    assert Webhook.objects.get(pk=pk).url == GOOD["url"]


def test_patch_of_a_field_that_cannot_change_is_refused(lead_api, event):
    pk = lead_api.post(URL, GOOD, format="json").json()["id"]
    response = lead_api.patch(f"/api/v1/webhooks/{pk}/", {"secret": "mine"}, format="json")
    assert response.status_code == 400
    assert "secret" in response.json()
