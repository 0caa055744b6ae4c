"""POST /api/v1/ingest/prometheus/{event}/: stored as a batch, parsed by the worker's service,
each (feed, metric, time) once; bad bodies are a 400 and store nothing."""

import math
from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from integrations import services, tasks
from integrations.models import IngestBatch, TelemetrySample
from tests.conftest import KEYNOTE_START

from .prometheus_wire import compress, ms, series, write_request

pytestmark = pytest.mark.django_db

URL = "/api/v1/ingest/prometheus/summit/"
HEADERS = {
    "content_type": "application/x-protobuf",
    "HTTP_CONTENT_ENCODING": "snappy",
    "HTTP_X_PROMETHEUS_REMOTE_WRITE_VERSION": "0.1.0",
}
T = ms(KEYNOTE_START + timedelta(minutes=10))


def process_all() -> list[IngestBatch]:
    for pk in IngestBatch.objects.filter(state="pending").values_list("pk", flat=True):
        tasks.process_batch(pk)
    return list(IngestBatch.objects.order_by("pk"))


def stored(feed_slug: str, metric: str) -> list[tuple[int, float]]:
    rows = TelemetrySample.objects.filter(feed__slug=feed_slug, metric__name=metric)
    return sorted((ms(t), v) for t, v in rows.values_list("time", "value"))


def body() -> bytes:
    return write_request(
        series(
            {"__name__": "encoder:fps", "feed": "kn1-asl", "job": "enc"}, [(50, T), (49, T + 1000)]
        ),
        series({"__name__": "recv:packetsLost", "instance": "srt://kn1-contrib-a"}, [(4, T)]),
        series({"__name__": "up", "job": "node", "instance": "10.1.2.3:9100"}, [(1, T)]),
        series({"__name__": "encoder:fps", "feed": "kn1-asl"}, [(math.nan, T + 2000)]),
    )


def test_remote_write_is_stored_per_feed_and_the_rest_rejected_with_reasons(key_api, event):
    response = key_api.post(URL, body(), **HEADERS)
    assert response.status_code == 202, response.content
    (batch,) = process_all()
    assert (batch.state, batch.samples, batch.rejected_count) == ("done", 3, 2)
    assert stored("kn1-asl", "encoder.fps") == [(T, 50.0), (T + 1000, 49.0)]
    assert stored("kn1-contrib-a", "recv.packetsLost") == [(T, 4.0)]
    reasons = [r["reason"] for r in batch.rejected]
    assert "unknown feed" in reasons[0] and 'instance="10.1.2.3:9100"' in reasons[0]
    assert "not a finite number: nan" in reasons[1]


def test_a_resent_request_adds_no_rows(key_api, event):
    for _ in range(2):
        assert key_api.post(URL, body(), **HEADERS).status_code == 202
    batches = process_all()
    assert sorted(b.samples for b in batches) == [0, 3]
    assert sum(b.duplicates + b.replaced for b in batches) == 3
    assert TelemetrySample.objects.filter(feed__event=event).count() == 3


def test_samples_outside_the_event_window_are_rejected_per_sample(key_api, event):
    long_ago = ms(event.start - timedelta(days=20))
    request = write_request(series({"__name__": "up", "feed": "kn1-asl"}, [(1, long_ago), (1, T)]))
    assert key_api.post(URL, request, **HEADERS).status_code == 202
    (batch,) = process_all()
    assert (batch.samples, batch.rejected_count) == (1, 1)
    assert batch.rejected[0]["field"] == "time"


def test_a_body_that_is_not_snappy_is_a_400_and_nothing_is_stored(key_api, event):
    response = key_api.post(URL, b"plain protobuf, never compressed", **HEADERS)
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Not a remote-write body: not snappy")
    assert IngestBatch.objects.count() == 0


def test_a_body_that_is_not_a_write_request_is_a_400(key_api, event):
    response = key_api.post(URL, compress(b"\x08\x96\x01"), **HEADERS)
    assert response.status_code == 400
    assert "not a WriteRequest" in response.json()["detail"]
    assert IngestBatch.objects.count() == 0


def test_remote_write_2_and_other_encodings_are_415(key_api, event):
    zstd = key_api.post(URL, body(), **{**HEADERS, "HTTP_CONTENT_ENCODING": "zstd"})
    v2 = key_api.post(
        URL,
        body(),
        **{
            **HEADERS,
            "content_type": "application/x-protobuf;proto=io.prometheus.write.v2.Request",
        },
    )
    assert (zstd.status_code, v2.status_code) == (415, 415)
    assert IngestBatch.objects.count() == 0


def test_who_may_write(anon_api, viewer, other_event, event, lead):
    assert anon_api.post(URL, body(), **HEADERS).status_code == 401
    _, other_key = services.create_ingest_key(event=other_event, name="other", actor=None)
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {other_key}")
    assert other.post(URL, body(), **HEADERS).status_code == 404
    revoked, secret = services.create_ingest_key(event=event, name="old", actor=lead)
    services.revoke_ingest_key(key=revoked, actor=lead)
    gone = APIClient()
    gone.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert gone.post(URL, body(), **HEADERS).status_code == 401
    as_viewer = APIClient()
    as_viewer.force_authenticate(viewer)
    assert as_viewer.post(URL, body(), **HEADERS).status_code == 403
    assert IngestBatch.objects.count() == 0
