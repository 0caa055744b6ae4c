"""Through a real worker: an API post lands once and reads back; ingest_file uses the same path."""

from datetime import timedelta

import pytest
from django.core.management import call_command

from integrations.models import IngestBatch, TelemetrySample, UnmappedSource
from tests.conftest import KEYNOTE_START, iso
from tests.workers import wait_for

from .conftest import capture, capture_on_air

pytestmark = pytest.mark.django_db(transaction=True)


def test_srt_post_is_stored_by_the_worker_and_reads_back(celery_worker, operator_token_api, event):
    body = capture_on_air("clean-1.srt-stats.jsonl")
    response = operator_token_api.post(
        "/api/v1/ingest/srt/summit/kn1-contrib-a/", body, content_type="application/json"
    )
    assert response.status_code == 202
    url = f"/api/v1/ingest/batches/{response.json()['batch']}/"
    done = wait_for(lambda: operator_token_api.get(url).json()["state"] == "done", timeout=30)
    assert done
    batch = IngestBatch.objects.get()
    # This feed's rows: a task another test queued may still land rows of its own elsewhere.
    stored = TelemetrySample.objects.filter(feed__event=event, feed__slug="kn1-contrib-a")
    assert stored.count() == batch.samples > 0
    series = operator_token_api.get(
        "/api/v1/events/summit/feeds/kn1-contrib-a/telemetry/",
        {
            "metric": "recv.mbitRate",
            "start": iso(KEYNOTE_START - timedelta(minutes=30)),
            "end": iso(KEYNOTE_START + timedelta(minutes=30)),
        },
    ).json()
    assert series["step"] == "raw"
    assert len(series["series"][0]["points"]) == 65


@pytest.mark.parametrize(
    ("fmt", "name", "feed"),
    [
        ("srt-json", "clean-1.srt-stats.jsonl", "kn1-contrib-a"),
        ("srt-csv", "clean-2.srt-stats.csv", "kn1-contrib-a"),
        ("ffmpeg", "clean-1.ffmpeg-progress.txt", "kn1-contrib-a"),
        ("firehose", "firehose-metric-stream-clean.http", None),
    ],
)
def test_ingest_file_stores_each_capture_once(celery_worker, event, fmt, name, feed, tmp_path):
    path = tmp_path / name
    args = ["ingest_file", "--event", "summit", "--format", fmt, str(path)]
    if fmt == "ffmpeg":  # progress lines carry no clock: the encoder's start places them
        path.write_bytes(capture(name).read_bytes())
        args += ["--started-at", KEYNOTE_START.isoformat()]
    else:
        path.write_bytes(capture_on_air(name))
    if feed:
        args += ["--feed", feed]
    call_command(*args)
    if fmt == "firehose":
        call_command(*args)  # the same capture again: same request id, stored once
    wait_for(lambda: not IngestBatch.objects.filter(state="pending").exists(), timeout=30)
    batch = IngestBatch.objects.get()
    assert TelemetrySample.objects.count() == batch.samples
    if fmt == "firehose":  # the summit feeds list none of the capture's sources
        assert batch.state == "quarantined" and batch.unmapped
        assert UnmappedSource.objects.filter(event=event).count() == len(batch.unmapped)
    else:
        assert batch.state == "done" and batch.samples > 0
