"""Frozen telemetry windows on entries: the task, the API, the charts, bad windows."""

from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db import connection

from integrations import storage, tasks
from integrations.models import TelemetrySnapshot
from retro import services as retro_services
from retro.models import Entry
from tests.conftest import iso
from tests.workers import wait_for

from .telemetry_factory import srt_lines

pytestmark = pytest.mark.django_db


@pytest.fixture
def telemetry(loss_burst):
    return loss_burst


@contextmanager
def frozen_after(capture):
    """Run the block; the snapshot task it enqueued after commit then runs as a worker would."""
    with capture() as callbacks:
        yield
    assert callbacks, "nothing was enqueued after commit"
    for entry_id in Entry.objects.values_list("pk", flat=True):
        tasks.snapshot_entry(str(entry_id))


def log(event, author, feeds, at, **extra):
    entry, _ = retro_services.log_entry(
        event=event,
        author=author,
        kind="learning",
        body="ASL return dropped",
        feeds=feeds,
        occurred_at=at,
        **extra,
    )
    return entry


def test_logging_an_entry_freezes_its_window_of_key_metrics(
    event, operator, telemetry, django_capture_on_commit_callbacks
):
    feed, start = telemetry
    with frozen_after(django_capture_on_commit_callbacks):
        entry = log(event, operator, [feed], start + timedelta(minutes=5))
    snapshot = TelemetrySnapshot.objects.get(entry=entry)
    assert snapshot.window_start == start
    assert snapshot.window_end == start + timedelta(minutes=10)
    assert snapshot.has_data and snapshot.sparkline.startswith("<svg")
    (frozen,) = snapshot.feeds
    metrics = [s["metric"] for s in frozen["series"]]
    assert metrics[:2] == ["recv.mbitRate", "recv.packetsLost"]
    assert "recv.bytes" not in metrics  # key metrics only
    lost = dict(next(s["points"] for s in frozen["series"] if s["metric"] == "recv.packetsLost"))
    assert max(lost.values()) == 40
    assert frozen["spans"][0]["kind"] == "packet_loss"


def test_the_snapshot_survives_raw_sample_retention(
    event, operator, telemetry, viewer_api, django_capture_on_commit_callbacks
):
    feed, start = telemetry
    with frozen_after(django_capture_on_commit_callbacks):
        entry = log(event, operator, [feed], start + timedelta(minutes=5))
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {storage.SAMPLE_TABLE}")
    body = viewer_api.get(f"/api/v1/entries/{entry.pk}/telemetry/").json()
    assert body["frozen"] is True
    assert body["window"] == {"start": iso(start), "end": iso(start + timedelta(minutes=10))}
    (frozen,) = body["feeds"]
    assert frozen["feed"] == "kn1-contrib-a"
    rtt = next(s for s in frozen["series"] if s["metric"] == "link.rtt")
    assert rtt["unit"] == "ms" and len(rtt["points"]) == 600


def test_moving_the_entry_refreezes_the_window(
    event, operator, telemetry, django_capture_on_commit_callbacks
):
    feed, start = telemetry
    with frozen_after(django_capture_on_commit_callbacks):
        entry = log(event, operator, [feed], start + timedelta(minutes=5))
    with frozen_after(django_capture_on_commit_callbacks):
        retro_services.edit_entry(
            entry=entry,
            editor=operator,
            version=entry.version,
            occurred_at=start + timedelta(minutes=30),
        )
    snapshot = TelemetrySnapshot.objects.get(entry=entry)
    assert snapshot.window_start == start + timedelta(minutes=25)
    assert not snapshot.has_data  # no telemetry there: no sparkline either
    assert snapshot.sparkline == ""


def test_an_entry_without_feeds_gets_no_snapshot(
    event, operator, telemetry, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        log(event, operator, [], telemetry[1])
    assert callbacks == []
    assert not TelemetrySnapshot.objects.exists()


def test_the_api_builds_the_window_live_until_the_snapshot_is_frozen(
    event, operator, telemetry, viewer_api
):
    feed, start = telemetry
    entry = log(event, operator, [feed], start + timedelta(minutes=5))  # on_commit never runs
    body = viewer_api.get(f"/api/v1/entries/{entry.pk}/telemetry/").json()
    assert body["frozen"] is False
    assert body["feeds"][0]["series"]


def test_the_window_can_be_moved_through_the_api_and_bad_windows_are_400(
    event, operator, operator_api, telemetry, django_capture_on_commit_callbacks
):
    feed, start = telemetry
    entry = log(event, operator, [feed], start + timedelta(minutes=5))
    url = f"/api/v1/entries/{entry.pk}/telemetry/"
    at = start + timedelta(minutes=5)

    def put(lo, hi):
        return operator_api.put(url, {"window": {"start": lo, "end": hi}}, format="json")

    assert put((at + timedelta(minutes=1)).isoformat(), at.isoformat()).status_code == 400
    too_long = put((at - timedelta(hours=13)).isoformat(), (at + timedelta(hours=12)).isoformat())
    assert too_long.status_code == 400 and "24 hours" in str(too_long.json())
    bad = put("yesterday", at.isoformat())
    assert bad.status_code == 400 and "start" in bad.json()
    with frozen_after(django_capture_on_commit_callbacks):
        ok = put((at - timedelta(minutes=1)).isoformat(), (at + timedelta(minutes=2)).isoformat())
    assert ok.status_code == 200, ok.content
    entry.refresh_from_db()
    assert (entry.window_before, entry.window_after) == (60, 120)
    snapshot = TelemetrySnapshot.objects.get(entry=entry)
    assert snapshot.window_end - snapshot.window_start == timedelta(minutes=3)


def test_an_entry_window_over_24_hours_is_refused_by_the_entry_service(event, operator):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as err:
        log(event, operator, [], event.start, window_before=50_000, window_after=50_000)
    assert "window" in err.value.message_dict


def test_entry_telemetry_is_404_for_outsiders(event, operator, outsider_api, telemetry):
    entry = log(event, operator, [telemetry[0]], telemetry[1])
    assert outsider_api.get(f"/api/v1/entries/{entry.pk}/telemetry/").status_code == 404


def test_the_entry_page_draws_one_chart_per_key_metric_with_the_moment_marked(
    event, operator, operator_client, telemetry, django_capture_on_commit_callbacks
):
    feed, start = telemetry
    with frozen_after(django_capture_on_commit_callbacks):
        entry = log(event, operator, [feed], start + timedelta(minutes=5))
    page = operator_client.get(f"/entries/{entry.pk}/").content.decode()
    assert page.count('class="chart"') == len(TelemetrySnapshot.objects.get().feeds[0]["series"])
    assert "kn1-contrib-a · recv.packetsLost (packets)" in page
    assert ">entry</text>" in page


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_freezes_the_snapshot_of_an_entry_posted_through_the_api(
    celery_worker, event, operator, operator_api
):
    feed = event.feeds.get(slug="kn1-contrib-a")
    start = event.sessions.get(slug="kn1").scheduled_start
    from integrations import services

    batch, _ = services.ingest_batch(
        event=event, feed=feed, fmt="srt-json", body=srt_lines(start, 120)
    )
    wait_for(lambda: type(batch).objects.get(pk=batch.pk).state == "done", timeout=20)
    response = operator_api.post(
        "/api/v1/events/summit/entries/",
        {
            "kind": "learning",
            "body": "check",
            "feeds": ["kn1-contrib-a"],
            "occurred_at": (start + timedelta(minutes=1)).isoformat(),
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    wait_for(
        lambda: TelemetrySnapshot.objects.filter(entry_id=response.json()["id"]).exists(),
        timeout=20,
    )
    assert TelemetrySnapshot.objects.get().has_data
