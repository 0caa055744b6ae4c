"""Bad input gets a clear 4xx JSON error and nothing is half-stored."""

import gzip
import json
from datetime import timedelta

import pytest

from integrations import tasks
from integrations.models import IngestBatch, TelemetrySample
from tests.conftest import EVENT_START, iso

pytestmark = pytest.mark.django_db

SRT = "/api/v1/ingest/srt/summit/kn1-contrib-a/"
ON_AIR = EVENT_START + timedelta(hours=4)


def test_missing_or_wrong_token_is_401_and_nothing_stored(anon_api, event):
    assert anon_api.post(SRT, b"{}", content_type="application/json").status_code == 401
    anon_api.credentials(HTTP_AUTHORIZATION="Token nope")
    assert anon_api.post(SRT, b"{}", content_type="application/json").status_code == 401
    anon_api.credentials(HTTP_AUTHORIZATION="Bearer tik_wrong")
    assert (
        anon_api.post(
            "/api/v1/ingest/eventbridge/", b"[]", content_type="application/json"
        ).status_code
        == 401
    )
    assert not IngestBatch.objects.exists()


def test_firehose_with_a_wrong_key_answers_the_documented_error_body(anon_api, event):
    response = anon_api.post(
        "/api/v1/ingest/firehose/",
        b'{"requestId":"r","records":[]}',
        content_type="application/json",
        HTTP_X_AMZ_FIREHOSE_ACCESS_KEY="tik_x",
        HTTP_X_AMZ_FIREHOSE_REQUEST_ID="r1",
    )
    assert response.status_code == 401
    assert set(response.json()) == {"requestId", "timestamp", "errorMessage"}


def test_body_over_the_limit_is_413(operator_token_api, event, settings):
    settings.TALLY_INGEST_MAX_BYTES = 1000
    response = operator_token_api.post(SRT, b"x" * 2000, content_type="application/json")
    assert response.status_code == 413
    assert "detail" in response.json()
    assert not IngestBatch.objects.exists()


def test_gzip_bomb_is_stopped_at_the_cap(anon_api, ingest_key, settings):
    settings.TALLY_FIREHOSE_MAX_BYTES = 100_000
    bomb = gzip.compress(b"{" + b" " * 10_000_000 + b"}")
    response = anon_api.post(
        "/api/v1/ingest/firehose/",
        bomb,
        content_type="application/json",
        HTTP_CONTENT_ENCODING="gzip",
        HTTP_X_AMZ_FIREHOSE_ACCESS_KEY=ingest_key[1],
    )
    assert response.status_code == 413
    assert "errorMessage" in response.json()


def test_truncated_gzip_is_400(anon_api, ingest_key):
    body = gzip.compress(b'{"requestId":"r","records":[]}')[:-10]
    response = anon_api.post(
        "/api/v1/ingest/firehose/",
        body,
        content_type="application/json",
        HTTP_CONTENT_ENCODING="gzip",
        HTTP_X_AMZ_FIREHOSE_ACCESS_KEY=ingest_key[1],
    )
    assert response.status_code == 400


def test_invalid_and_deeply_nested_json_are_400_naming_the_line(operator_token_api, event):
    bad = operator_token_api.post(SRT, b'{"sid": 1,\n', content_type="application/json")
    deep = operator_token_api.post(
        SRT, b"[" * 100_000 + b"]" * 100_000, content_type="application/json"
    )
    assert bad.status_code == deep.status_code == 400
    assert bad.json()["line"] is not None
    assert not IngestBatch.objects.exists()


def test_csv_with_missing_columns_is_400(operator_token_api, event):
    body = f"time,metric,value\n{iso(ON_AIR)},a.b\n".encode()
    response = operator_token_api.post(
        "/api/v1/ingest/generic/summit/kn1-contrib-a/", body, content_type="text/csv"
    )
    assert response.status_code == 400
    assert "line" in response.json()


def test_bad_records_are_rejected_one_by_one_and_the_rest_kept(operator_token_api, event):
    samples = [
        {"metric": "x.ok", "time": iso(ON_AIR), "value": 1},
        {"metric": "x.naive", "time": iso(ON_AIR).rstrip("Z"), "value": 1},
        {"metric": "x.text", "time": iso(ON_AIR), "value": "abc"},
        {"metric": "x.future", "time": iso(ON_AIR + timedelta(days=400)), "value": 1},
    ]
    body = json.dumps({"samples": samples}).replace('"abc"', "NaN").encode()
    response = operator_token_api.post(
        "/api/v1/ingest/generic/summit/kn1-contrib-a/", body, content_type="application/json"
    )
    assert response.status_code == 202, response.content
    tasks.process_batch(response.json()["batch"])
    batch = IngestBatch.objects.get()
    assert batch.samples == 1 and batch.rejected_count == 3
    assert TelemetrySample.objects.count() == 1
    status = operator_token_api.get(f"/api/v1/ingest/batches/{batch.pk}/").json()
    assert status["state"] == "done" and len(status["rejected_records"]) == 3


def test_unknown_event_or_feed_is_404(operator_token_api, event, other_event):
    assert (
        operator_token_api.post(
            "/api/v1/ingest/srt/nope/kn1-contrib-a/", b"{}", content_type="application/json"
        ).status_code
        == 404
    )
    assert (
        operator_token_api.post(
            "/api/v1/ingest/srt/summit/nope/", b"{}", content_type="application/json"
        ).status_code
        == 404
    )
    assert (
        operator_token_api.get("/api/v1/events/other/feeds/kn1-contrib-a/telemetry/").status_code
        == 404
    )


def test_firehose_with_zero_records_is_200_and_stores_nothing(anon_api, ingest_key):
    response = anon_api.post(
        "/api/v1/ingest/firehose/",
        b'{"requestId":"r0","timestamp":1,"records":[]}',
        content_type="application/json",
        HTTP_X_AMZ_FIREHOSE_ACCESS_KEY=ingest_key[1],
        HTTP_X_AMZ_FIREHOSE_REQUEST_ID="r0",
    )
    assert response.status_code == 200 and response.json()["requestId"] == "r0"
    assert not IngestBatch.objects.exists()


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"metric": "no.such"}, "metric"),
        ({"start": "yesterday"}, "start"),
        (
            {
                "start": iso(EVENT_START),
                "end": iso(EVENT_START + timedelta(days=60)),
                "step": "raw",
            },
            "step",
        ),
    ],
)
def test_telemetry_query_errors_name_the_parameter(viewer_api, event, params, field):
    response = viewer_api.get("/api/v1/events/summit/feeds/kn1-contrib-a/telemetry/", params)
    assert response.status_code == 400
    assert field in response.json()
