"""Each kind of announcement reaches a listening webhook through the real worker; webhooks
listening to other things hear nothing; the destination is checked again at send time."""

import time
from datetime import timedelta

import orjson
import pytest
from django.test import override_settings
from django.utils import timezone

from integrations.anomalies import Breach, merge, thresholds_for
from integrations.models import Anomaly
from reports.models import Report
from reports.services import render_report
from retro import finalize
from retro import services as retro_services
from retro.models import Feed
from tests.conftest import KEYNOTE_START, iso
from tests.workers import wait_for
from webhooks import services
from webhooks.models import Delivery, Webhook

from .receiver import Receiver
from .test_delivery import add_webhook, log_learning, settled

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def delivered(receiver, name, count=1):
    got = receiver.for_event(name)
    return got if len(got) >= count else None


def test_an_edit_is_announced_with_its_changes_once_per_version(
    webhook_worker, allow_local, lead_api, operator_api
):
    with Receiver() as receiver:
        hook = add_webhook(lead_api, receiver.url, events=["entry.changed"])
        entry_id = log_learning(operator_api)
        response = operator_api.patch(
            f"/api/v1/entries/{entry_id}/",
            {"version": 1, "body": "Audio drifting 3 s, not 2"},
            format="json",
        )
        assert response.status_code == 200, response.content
        [got] = wait_for(lambda: delivered(receiver, "entry.changed"), timeout=30)
    document = orjson.loads(got.body)
    assert document["data"]["version"] == 2
    assert document["data"]["changes"]["body"] == [
        "Audio drifting 2 s on the ASL return",
        "Audio drifting 3 s, not 2",
    ]
    assert got.signed_with(hook["secret"])
    assert receiver.for_event("entry.created") == []  # not listened to


def test_anomalies_opening_and_closing_are_announced(webhook_worker, allow_local, lead_api, event):
    feed = Feed.objects.get(event=event, slug="kn1-contrib-a")
    limits = thresholds_for(event)
    start = KEYNOTE_START + timedelta(minutes=10)
    with Receiver() as receiver:
        add_webhook(lead_api, receiver.url, events=["anomaly.opened", "anomaly.closed"])
        alert = Breach("alert", "alarm-1", start, None, None, "", source=Anomaly.Source.ALERT)
        merge(event.pk, feed.pk, alert, limits)
        [opened] = wait_for(lambda: delivered(receiver, "anomaly.opened"), timeout=30)
        cleared = Breach(
            "alert",
            "alarm-1",
            start,
            start + timedelta(minutes=2),
            None,
            "",
            source=Anomaly.Source.ALERT,
        )
        merge(event.pk, feed.pk, cleared, limits)
        [closed] = wait_for(lambda: delivered(receiver, "anomaly.closed"), timeout=30)
    opened, closed = orjson.loads(opened.body), orjson.loads(closed.body)
    assert opened["data"]["feed"] == "kn1-contrib-a" and opened["data"]["end"] is None
    assert opened["at"] == iso(start)
    assert closed["data"]["end"] == iso(start + timedelta(minutes=2))
    assert closed["url"].endswith("/events/summit/telemetry/kn1-contrib-a/")


def test_actions_due_today_and_overdue_are_announced_once(
    webhook_worker, allow_local, lead_api, lead, operator, event
):
    today = timezone.localdate(timezone=event.tz)
    due_today, _ = retro_services.log_entry(
        event=event,
        author=lead,
        kind="action",
        body="Swap the ASL encoder",
        owner=operator,
        due=today,
        occurred_at=KEYNOTE_START,
    )
    late, _ = retro_services.log_entry(
        event=event,
        author=lead,
        kind="action",
        body="Write the failover runbook",
        owner=operator,
        due=today,
        occurred_at=KEYNOTE_START,
    )
    late = retro_services.edit_entry(
        entry=late, editor=lead, version=late.version, due=today - timedelta(days=2)
    )
    with Receiver() as receiver:
        add_webhook(lead_api, receiver.url, events=["action.due", "action.overdue"])
        assert services.announce_actions() == 2
        assert services.announce_actions() == 0  # once per action and due date
        [due] = wait_for(lambda: delivered(receiver, "action.due"), timeout=30)
        [overdue] = wait_for(lambda: delivered(receiver, "action.overdue"), timeout=30)
    assert orjson.loads(due.body)["data"]["id"] == str(due_today.pk)
    assert orjson.loads(overdue.body)["data"]["owner"] == "operator1"
    assert orjson.loads(overdue.body)["data"]["due"] == (today - timedelta(days=2)).isoformat()


def test_a_finished_report_is_announced(webhook_worker, allow_local, lead_api, lead, event):
    with Receiver() as receiver:
        add_webhook(lead_api, receiver.url, events=["report.ready"])
        report = Report.objects.create(event=event, format="csv", requested_by=lead)
        assert render_report(report_id=report.pk).state == "done"
        [got] = wait_for(lambda: delivered(receiver, "report.ready"), timeout=30)
    document = orjson.loads(got.body)
    assert document["data"]["id"] == report.pk and document["data"]["format"] == "csv"
    assert document["url"].endswith("/events/summit/reports/")


def test_a_webhook_listening_to_other_things_hears_nothing(
    webhook_worker, allow_local, lead_api, operator_api
):
    with Receiver() as receiver:
        hook = add_webhook(lead_api, receiver.url, events=["retro.finalized"])
        wait_for(lambda: settled(hook["id"], "ping"), timeout=30)
        log_learning(operator_api)
        time.sleep(1.5)  # time enough for a fan-out and a delivery, had one been queued
    assert [r.headers["X-Tally-Event"] for r in receiver.received] == ["ping"]
    assert list(Delivery.objects.values_list("event_name", flat=True)) == ["ping"]


def test_the_destination_is_checked_again_when_sending(allow_local, lead, event):
    """A host allowed (or public) when saved but forbidden by send time: nothing is sent."""
    with Receiver() as receiver:
        webhook = services.create_webhook(
            event=event, actor=lead, url=receiver.url, events=["entry.created"]
        )
        delivery = Delivery.objects.create(
            webhook=webhook,
            event_name="entry.created",
            key="k",
            body=b"{}",
            next_attempt_at=timezone.now(),
        )
        with override_settings(TALLY_WEBHOOK_ALLOWED_HOSTS=[]):
            services.attempt(delivery_id=delivery.pk, attempts=0)
    delivery.refresh_from_db()
    assert delivery.state == "failed" and "loopback" in delivery.last_error
    assert receiver.for_event("entry.created") == []  # (embedded mode sends the ping inline)
    assert Webhook.objects.get(pk=webhook.pk).failing_since is not None


def test_a_repeated_or_stale_attempt_does_nothing(allow_local, lead, event):
    with Receiver() as receiver:
        webhook = services.create_webhook(
            event=event, actor=lead, url=receiver.url, events=["entry.created"]
        )
        delivery = Delivery.objects.create(
            webhook=webhook,
            event_name="entry.created",
            key="k",
            body=b"{}",
            next_attempt_at=timezone.now(),
        )
        services.attempt(delivery_id=delivery.pk, attempts=0)
        assert services.attempt(delivery_id=delivery.pk, attempts=0) is None
    assert len(receiver.for_event("entry.created")) == 1
    assert Delivery.objects.get(pk=delivery.pk).attempts == 1


def test_a_finalized_retro_is_announced(
    webhook_worker, allow_local, lead_api, operator_api, lead, event
):
    log_learning(operator_api)
    with Receiver() as receiver:
        add_webhook(lead_api, receiver.url, events=["retro.finalized"], format="slack")
        finalize.finalize_retro(event=event, actor=lead, override_reason="Rehearsal day left")
        [got] = wait_for(lambda: delivered(receiver, "retro.finalized"), timeout=30)
    message = orjson.loads(got.body)
    assert "Retro of Test Summit finalized" in message["text"]
    assert "Rehearsal day left" in message["text"]
    assert "/events/summit/retro/|Open in Tally>" in message["text"]


def test_an_attempt_left_behind_by_a_dead_worker_is_sent_again(
    webhook_worker, allow_local, lead, event
):
    """A delivery claimed by a worker that died (attempts taken, nothing recorded) is queued
    again by the beat task once its attempt is overdue, with the same delivery id."""
    with Receiver() as receiver:
        webhook = services.create_webhook(
            event=lead.memberships.get().event,
            actor=lead,
            url=receiver.url,
            events=["entry.created"],
        )
        long_ago = timezone.now() - timedelta(minutes=10)
        delivery = Delivery.objects.create(
            webhook=webhook,
            event_name="entry.created",
            key="orphan",
            body=b'{"n": 1}',
            attempts=1,
            first_attempt_at=long_ago,
            last_attempt_at=long_ago,
            next_attempt_at=long_ago,
        )
        assert services.resend_stalled() >= 1
        [got] = wait_for(lambda: receiver.for_event("entry.created") or None, timeout=30)
    assert got.headers["X-Tally-Delivery"] == str(delivery.uuid)
    delivery = wait_for(lambda: Delivery.objects.filter(pk=delivery.pk, state="delivered").first())
    assert delivery.attempts == 2
