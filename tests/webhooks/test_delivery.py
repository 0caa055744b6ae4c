"""Deliveries end to end: the API writes, a real worker posts to a real local receiver, which
checks the signature and answers what each test needs (5xx, a hang, a redirect)."""

import itertools
import time
import uuid

import orjson
import pytest

from retro.models import Entry
from tests.conftest import KEYNOTE_START, iso
from tests.workers import wait_for
from webhooks.models import Delivery, Webhook

from .receiver import Receiver

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def add_webhook(api, url, events=("entry.created",), format="json") -> dict:
    response = api.post(
        "/api/v1/events/summit/webhooks/",
        {"url": url, "events": list(events), "format": format},
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()


def log_learning(api, body="Audio drifting 2 s on the ASL return") -> str:
    response = api.post(
        "/api/v1/events/summit/entries/",
        {
            "id": str(uuid.uuid4()),
            "kind": "learning",
            "body": body,
            "feeds": ["kn1-asl"],
            "session": "kn1",
            "occurred_at": iso(KEYNOTE_START),
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def settled(webhook_id, name="entry.created"):
    delivery = Delivery.objects.filter(webhook_id=webhook_id, event_name=name).first()
    return delivery if delivery and delivery.state != Delivery.State.PENDING else None


def test_a_logged_entry_is_posted_signed_with_the_webhooks_secret(
    webhook_worker, allow_local, lead_api, operator_api
):
    with Receiver() as receiver:
        hook = add_webhook(lead_api, receiver.url)
        entry_id = log_learning(operator_api)
        delivery = wait_for(lambda: settled(hook["id"]), timeout=30)
    assert (delivery.state, delivery.status_code, delivery.attempts) == ("delivered", 200, 1)
    [got] = receiver.for_event("entry.created")
    assert got.signed_with(hook["secret"])
    assert not got.signed_with("another secret")
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["X-Tally-Delivery"] == str(delivery.uuid)
    assert got.path == "/hook"
    document = orjson.loads(got.body)
    assert document["event"] == "entry.created" and document["delivery"] == str(delivery.uuid)
    assert document["data"]["id"] == entry_id
    assert document["data"]["feeds"] == ["kn1-asl"] and document["data"]["kind"] == "learning"
    assert document["tally_event"] == {
        "slug": "summit",
        "name": "Test Summit",
        "time_zone": "America/Los_Angeles",
    }
    assert document["at"] == iso(KEYNOTE_START)
    assert document["at_event_zone"].endswith(("-07:00", "-08:00"))
    assert document["url"].endswith(f"/entries/{entry_id}/")
    # The ping sent on creation reached it too, signed the same way.
    assert receiver.for_event("ping")[0].signed_with(hook["secret"])


def test_5xx_answers_are_retried_with_the_same_delivery_id(
    webhook_worker, allow_local, lead_api, operator_api
):
    with Receiver() as receiver:
        hook = add_webhook(lead_api, receiver.url)
        wait_for(lambda: settled(hook["id"], "ping"), timeout=30)
        receiver.script[:] = [503, 500]
        log_learning(operator_api)
        delivery = wait_for(lambda: settled(hook["id"]), timeout=30)
    assert (delivery.state, delivery.status_code, delivery.attempts) == ("delivered", 200, 3)
    tries = receiver.for_event("entry.created")
    assert len(tries) == 3
    assert {t.headers["X-Tally-Delivery"] for t in tries} == {str(delivery.uuid)}
    assert all(t.signed_with(hook["secret"]) for t in tries)
    assert len({t.body for t in tries}) == 1  # the same bytes every time
    gaps = [b.at - a.at for a, b in itertools.pairwise(tries)]
    assert gaps[0] >= 0.4 and gaps[1] >= 0.9  # backoff: 0.5 s, then 1 s
    assert Webhook.objects.get(pk=hook["id"]).failing_since is None  # the success cleared it


def test_a_receiver_that_does_not_answer_in_time_is_tried_again(
    webhook_worker, allow_local, lead_api, operator_api
):
    with Receiver(hang_seconds=2.5) as receiver:
        hook = add_webhook(lead_api, receiver.url)
        wait_for(lambda: settled(hook["id"], "ping"), timeout=30)
        receiver.script[:] = ["timeout"]
        log_learning(operator_api)
        delivery = wait_for(lambda: settled(hook["id"]), timeout=30)
    assert (delivery.state, delivery.attempts) == ("delivered", 2)
    assert len(receiver.for_event("entry.created")) == 2


def test_a_redirect_is_not_followed_and_not_retried(
    webhook_worker, allow_local, lead_api, operator_api
):
    with Receiver() as receiver:
        hook = add_webhook(lead_api, receiver.url)
        wait_for(lambda: settled(hook["id"], "ping"), timeout=30)
        receiver.script[:] = [("redirect", "http://169.254.169.254/latest/meta-data/")]
        log_learning(operator_api)
        delivery = wait_for(lambda: settled(hook["id"]), timeout=30)
        time.sleep(1.5)  # a retry would have come by now
    assert (delivery.state, delivery.status_code, delivery.attempts) == ("failed", 302, 1)
    assert "not followed" in delivery.last_error
    assert [r.path for r in receiver.received if r.headers["X-Tally-Event"] != "ping"] == ["/hook"]


def test_a_webhook_failing_for_the_whole_window_is_disabled_and_its_leads_told(
    webhook_worker, mail_server, allow_local, lead, lead_api, operator_api
):
    _, mails = mail_server
    with Receiver(default=500) as receiver:
        hook = add_webhook(lead_api, receiver.url)
        log_learning(operator_api)
        webhook = wait_for(
            lambda: Webhook.objects.filter(pk=hook["id"], active=False).first(), timeout=40
        )
    assert webhook.disabled_at is not None and "Failing for" in webhook.disabled_reason
    # The first delivery (the ping) kept failing for the whole window and gave up.
    first = Delivery.objects.get(webhook_id=hook["id"], event_name="ping")
    assert first.state == "failed" and "Gave up" in first.last_error
    assert first.attempts >= 4  # 0.5 s, 1 s, 2 s ... inside the 6 s window
    assert len(receiver.for_event("ping")) == first.attempts
    entry = wait_for(lambda: settled(hook["id"]), timeout=20)
    assert entry.state == "failed"  # failed too, or found the webhook off: nothing pending
    mail = wait_for(
        lambda: next(
            (m for m in mails if "disabled" in m.subject and lead.email in m.recipients), None
        ),
        timeout=20,
    )
    assert mail.subject == "[Tally] Webhook of Test Summit disabled after failing"
    assert receiver.url in mail.body
    assert "America/Los_Angeles" in mail.body and "UTC" in mail.body
    assert "HTTP 500" in mail.body
    assert "/events/summit/settings/" in mail.body


def test_a_slack_format_webhook_gets_a_message_with_kind_feed_session_and_local_time(
    webhook_worker, allow_local, lead_api, operator_api
):
    with Receiver() as receiver:
        hook = add_webhook(lead_api, receiver.url, format="slack")
        entry_id = log_learning(operator_api, body="Audio <drifting> 2 s & more")
        wait_for(lambda: settled(hook["id"]), timeout=30)
    [got] = receiver.for_event("entry.created")
    assert got.signed_with(hook["secret"])
    message = orjson.loads(got.body)
    assert "Learning logged" in message["text"]
    assert "Audio &lt;drifting&gt; 2 s &amp; more" in message["text"]  # no forged markup
    fields = {
        f["text"].split("\n")[0]: f["text"].split("\n")[1] for f in message["blocks"][2]["fields"]
    }
    assert fields["*Kind*"] == "Learning"
    assert fields["*Feed*"] == "KN1 ASL"
    assert fields["*Session*"] == "Opening keynote"
    local = KEYNOTE_START.astimezone(Entry.objects.get(pk=entry_id).event.tz)
    assert fields["*Time*"].startswith(local.strftime("%a %d %b %Y %H:%M"))
    assert fields["*Time*"].endswith("(America/Los_Angeles)")
    assert f"/entries/{entry_id}/|Open in Tally>" in message["blocks"][-1]["elements"][0]["text"]
