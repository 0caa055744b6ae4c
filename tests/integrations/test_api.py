"""Ingest endpoints: every format lands exactly once and reads back through the telemetry API."""

import gzip
import json
from datetime import timedelta

import pytest

from integrations import tasks
from integrations.models import IngestBatch, TelemetryAlert, TelemetrySample
from retro.models import Feed
from tests.conftest import EVENT_START, KEYNOTE_START, iso

from .conftest import capture, capture_on_air

pytestmark = pytest.mark.django_db


def process_all():
    for pk in IngestBatch.objects.filter(state="pending").values_list("pk", flat=True):
        tasks.process_batch(pk)


def series(api, feed, **params):
    params = {
        "start": iso(EVENT_START - timedelta(days=1)),
        "end": iso(EVENT_START + timedelta(days=5)),
        "step": "raw",
        **params,
    }
    response = api.get(f"/api/v1/events/summit/feeds/{feed}/telemetry/", params)
    assert response.status_code == 200, response.content
    return {s["metric"]: s for s in response.json()["series"]}


def test_srt_json_stats_land_once_and_read_back(operator_token_api, event):
    body = capture_on_air("clean-1.srt-stats.jsonl")
    response = operator_token_api.post(
        "/api/v1/ingest/srt/summit/kn1-contrib-a/", body, content_type="application/x-ndjson"
    )
    assert response.status_code == 202
    batch_id = response.json()["batch"]
    process_all()
    tasks.process_batch(batch_id)  # a redelivery stores nothing twice
    batch = IngestBatch.objects.get(pk=batch_id)
    assert batch.state == "done"
    feed = Feed.objects.get(slug="kn1-contrib-a")
    assert TelemetrySample.objects.filter(feed=feed).count() == batch.samples > 0
    got = series(operator_token_api, "kn1-contrib-a", metric="recv.mbitRate")
    assert len(got["recv.mbitRate"]["points"]) == 65
    assert got["recv.mbitRate"]["unit"]


def test_srt_csv_maps_to_the_same_metrics(operator_token_api, event):
    body = capture_on_air("clean-2.srt-stats.csv")
    response = operator_token_api.post(
        "/api/v1/ingest/srt/summit/kn1-contrib-a/", body, content_type="text/csv"
    )
    assert response.status_code == 202
    process_all()
    got = series(operator_token_api, "kn1-contrib-a", metric="recv.packetsLost,link.rtt")
    assert len(got["link.rtt"]["points"]) == 65
    assert all(v == 0 for _, v in got["recv.packetsLost"]["points"])


def test_ffmpeg_progress_is_stamped_from_started_at(operator_token_api, event):
    body = capture("clean-1.ffmpeg-progress.txt").read_bytes()
    started_at = KEYNOTE_START.isoformat().replace("+00:00", ".762Z")
    response = operator_token_api.post(
        f"/api/v1/ingest/ffmpeg/summit/kn1-contrib-a/?started_at={started_at}",
        body,
        content_type="text/plain",
    )
    assert response.status_code == 202
    process_all()
    got = series(operator_token_api, "kn1-contrib-a", metric="encoder.fps")
    points = got["encoder.fps"]["points"]
    assert len(points) == 61
    assert points[0][0].startswith(iso(KEYNOTE_START)[:-2])  # within 10 s of the start
    assert TelemetryAlert.objects.filter(kind="encoder_end").count() == 1


def firehose_body():
    raw = capture_on_air("firehose-metric-stream-clean.http")
    head, _, body = raw.partition(b"\r\n\r\n")
    headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n")[1:] if ": " in line)
    return headers, body


def test_firehose_delivery_maps_sources_and_quarantines_the_rest(anon_api, ingest_key, event):
    headers, body = firehose_body()
    extra = {
        "HTTP_X_AMZ_FIREHOSE_ACCESS_KEY": ingest_key[1],
        "HTTP_X_AMZ_FIREHOSE_REQUEST_ID": headers["X-Amz-Firehose-Request-Id"],
    }
    first = anon_api.post(
        "/api/v1/ingest/firehose/", body, content_type="application/json", **extra
    )
    again = anon_api.post(
        "/api/v1/ingest/firehose/", body, content_type="application/json", **extra
    )
    assert first.status_code == again.status_code == 200
    assert first.json()["requestId"] == headers["X-Amz-Firehose-Request-Id"]
    assert IngestBatch.objects.count() == 1
    process_all()
    batch = IngestBatch.objects.get()
    assert batch.state in ("done", "quarantined")


def test_firehose_gzip_is_accepted(anon_api, ingest_key, event):
    _, body = firehose_body()
    response = anon_api.post(
        "/api/v1/ingest/firehose/",
        gzip.compress(body),
        content_type="application/json",
        HTTP_CONTENT_ENCODING="gzip",
        HTTP_X_AMZ_FIREHOSE_ACCESS_KEY=ingest_key[1],
        HTTP_X_AMZ_FIREHOSE_REQUEST_ID="gz-1",
    )
    assert response.status_code == 200
    assert bytes(IngestBatch.objects.get().body) == body


def test_eventbridge_with_an_ingest_key(key_api, event):
    alert = {
        "version": "0",
        "id": "5b0c3b1e-0000-4c4f-9c2b-000000000001",
        "detail-type": "MediaLive Channel Alert",
        "source": "aws.medialive",
        "account": "111122223333",
        "time": iso(KEYNOTE_START + timedelta(minutes=2)),
        "region": "us-west-2",
        "resources": ["arn:aws:medialive:us-west-2:111122223333:channel:kn1"],
        "detail": {
            "alarm_state": "SET",
            "alarm_id": "a1b2",
            "alert_type": "Input Loss",
            "pipeline": "0",
            "channel_arn": "arn:aws:medialive:us-west-2:111122223333:channel:kn1",
            "message": "Input loss on pipeline 0",
        },
    }
    response = key_api.post(
        "/api/v1/ingest/eventbridge/", json.dumps(alert), content_type="application/json"
    )
    assert response.status_code == 202, response.content
    process_all()
    batch = IngestBatch.objects.get()
    assert batch.alerts + len(batch.unmapped) >= 1
