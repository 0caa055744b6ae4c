"""Partial batches: a bad record is rejected with its reason and the rest of its batch is
stored; sample times are bounded in the past and the future, so no request can create more
than a handful of day partitions; EventBridge takes a list, one event or JSON lines."""

import json
import socket
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from integrations import services, storage, tasks
from integrations.formats import parse
from integrations.models import IngestBatch, TelemetryAlert, TelemetrySample
from retro.models import Event
from tests.conftest import KEYNOTE_START, iso

from .conftest import capture_on_air
from .telemetry_factory import eventbridge

pytestmark = pytest.mark.django_db

GENERIC = "/api/v1/ingest/generic/summit/kn1-contrib-a/"


def process_all() -> list[IngestBatch]:
    for pk in IngestBatch.objects.filter(state="pending").values_list("pk", flat=True):
        tasks.process_batch(pk)
    return list(IngestBatch.objects.order_by("pk"))


def partitions() -> set[str]:
    if connection.vendor != "postgresql":
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s",
            [storage.SAMPLE_TABLE],
        )
        return {row[0] for row in cursor.fetchall()}


def samples(n: int, start: datetime, **extra) -> list[dict]:
    return [
        {"metric": "encoder.temperature", "time": iso(start + timedelta(seconds=i)), "value": i}
        | extra
        for i in range(n)
    ]


@pytest.mark.parametrize("field", ["unit", "source"])
def test_a_nul_in_a_generic_record_rejects_that_record_and_stores_the_rest(
    operator_token_api, event, field
):
    records = samples(20, KEYNOTE_START)
    records[3][field] = "C\x00"
    records[11][field] = "\x00"
    response = operator_token_api.post(
        GENERIC, json.dumps(records), content_type="application/json"
    )
    assert response.status_code == 202
    (batch,) = process_all()
    assert batch.state == "done"
    assert (batch.samples, batch.rejected_count) == (18, 2)
    assert {r["field"] for r in batch.rejected} == {field}
    assert all("NUL" in r["reason"] for r in batch.rejected)
    assert TelemetrySample.objects.count() == 18


def test_a_nul_in_a_generic_csv_unit_rejects_that_row_only(operator_token_api, event):
    rows = ["time,metric,value,unit"]
    rows += [
        f"{iso(KEYNOTE_START + timedelta(seconds=i))},encoder.temperature,{i},C" for i in range(5)
    ]
    rows[2] = rows[2][:-1] + "\x00"
    response = operator_token_api.post(GENERIC, "\n".join(rows) + "\n", content_type="text/csv")
    assert response.status_code == 202
    (batch,) = process_all()
    assert (batch.state, batch.samples, batch.rejected_count) == ("done", 4, 1)


def test_samples_dated_ad_1000_create_no_partitions_and_the_valid_ones_are_stored(
    operator_token_api, event
):
    ancient = [
        {
            "metric": f"encoder.m{i % 7}",
            "time": datetime(1000 + i % 14, 1 + i % 12, 1 + i % 28, tzinfo=UTC).isoformat(),
            "value": i,
        }
        for i in range(5_000)
    ]
    valid = samples(10, KEYNOTE_START)
    before = partitions()
    response = operator_token_api.post(
        GENERIC, json.dumps(ancient + valid), content_type="application/json"
    )
    assert response.status_code == 202
    (batch,) = process_all()
    assert batch.state == "done"
    assert batch.samples == 10
    assert batch.rejected_count > 0 and len(batch.rejected) > 0
    assert all(r["field"] == "time" for r in batch.rejected)
    assert all(
        "before the event starts" in r["reason"] or "retention" in r["reason"]
        for r in batch.rejected
    )
    assert TelemetrySample.objects.count() == 10
    assert len(partitions() - before) <= 1


def test_a_sample_older_than_raw_retention_is_rejected_even_inside_the_event(db, settings):
    now = timezone.now()
    Event.objects.create(
        name="Long tour", slug="tour", start=now - timedelta(days=90), end=now + timedelta(hours=2)
    )
    tour = Event.objects.get(slug="tour")
    tour.feeds.create(slug="main", name="Main", stage="contribution")

    old = samples(3, now - timedelta(days=settings.TALLY_RAW_RETENTION_DAYS + 5))
    fresh = samples(2, now - timedelta(hours=1))
    batch, _ = services.ingest_batch(
        event=tour, feed=tour.feeds.get(), fmt="generic-json", body=json.dumps(old + fresh).encode()
    )
    services.process_batch(batch_id=batch.pk)
    batch.refresh_from_db()
    assert (batch.samples, batch.rejected_count) == (2, 3)
    assert all("raw retention" in r["reason"] for r in batch.rejected)


def test_a_sample_days_after_the_event_ended_is_rejected():
    now = timezone.now()
    past = Event.objects.create(
        name="Last week",
        slug="last-week",
        start=now - timedelta(days=12),
        end=now - timedelta(days=10),
    )
    feed = past.feeds.create(slug="main", name="Main", stage="contribution")
    body = json.dumps(
        samples(2, past.end - timedelta(hours=1)) + samples(4, now - timedelta(days=1))
    )
    batch, _ = services.ingest_batch(event=past, feed=feed, fmt="generic-json", body=body.encode())
    services.process_batch(batch_id=batch.pk)
    batch.refresh_from_db()
    assert (batch.samples, batch.rejected_count) == (2, 4)
    assert all("after the event ends" in r["reason"] for r in batch.rejected)


def events_jsonl(*moments_and_ids) -> bytes:
    return (
        b"\n".join(
            eventbridge(alarm, "SET", moment).replace(b"\n", b"")
            for alarm, moment in moments_and_ids
        )
        + b"\n"
    )


def test_eventbridge_accepts_json_lines_a_list_and_one_event(key_api, event):
    t = KEYNOTE_START + timedelta(minutes=5)
    lines = events_jsonl(("A-1", t), ("A-2", t), ("A-3", t))
    one = eventbridge("B-1", "SET", t)
    many = b"[" + b",".join(eventbridge(f"C-{n}", "SET", t) for n in range(2)) + b"]"
    for body in (lines, one, many):
        response = key_api.post(
            "/api/v1/ingest/eventbridge/", body, content_type="application/json"
        )
        assert response.status_code == 202, response.content
    process_all()
    got = set(TelemetryAlert.objects.values_list("alarm_id", flat=True))
    assert got == {"A-1", "A-2", "A-3", "B-1", "C-0", "C-1"}


def test_an_eventbridge_line_that_is_not_json_is_rejected_and_the_rest_stored(key_api, event):
    t = KEYNOTE_START + timedelta(minutes=5)
    good = events_jsonl(("A-1", t), ("A-2", t)).splitlines()
    body = b"\n".join([good[0], b'{"version": "0", "id": truncated', good[1]]) + b"\n"
    response = key_api.post("/api/v1/ingest/eventbridge/", body, content_type="application/json")
    assert response.status_code == 202
    (batch,) = process_all()
    assert (batch.state, batch.alerts, batch.rejected_count) == ("done", 2, 1)
    assert batch.rejected[0]["record"] == 2


def test_ingest_file_takes_eventbridge_json_lines(event, tmp_path):
    t = KEYNOTE_START + timedelta(minutes=5)
    path = tmp_path / "archive.jsonl"
    path.write_bytes(events_jsonl(("A-1", t), ("A-2", t)))
    call_command("ingest_file", "--event", "summit", "--format", "eventbridge", str(path))
    (batch,) = process_all()
    assert (batch.state, batch.alerts) == ("done", 2)


@pytest.mark.django_db(transaction=True)
def test_a_chunked_upload_to_a_real_server_is_411_and_stores_nothing(
    live_server, event, ingest_key
):
    body = json.dumps(samples(5, KEYNOTE_START)).encode()
    chunked = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    host, port = live_server.url.removeprefix("http://").split(":")
    request = (
        f"POST {GENERIC} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {ingest_key[1]}\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    ).encode() + chunked
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.split(b"\r\n", 1)[0].split()[1] == b"411"
    assert b"Content-Length" in answer
    assert IngestBatch.objects.count() == 0


def test_an_srt_json_line_cut_short_is_rejected_and_the_other_records_stored(
    operator_token_api, event
):
    lines = capture_on_air("clean-1.srt-stats.jsonl").splitlines(keepends=True)
    body = b"".join(lines[:10]) + b"not json at all\n" + b"".join(lines[10:20]) + lines[20][:40]
    response = operator_token_api.post(
        "/api/v1/ingest/srt/summit/kn1-contrib-a/", body, content_type="application/x-ndjson"
    )
    assert response.status_code == 202, response.content
    (batch,) = process_all()
    assert batch.state == "done"
    assert [r["record"] for r in batch.rejected] == [11, 22]
    assert batch.samples == len(parse("srt-json", b"".join(lines[:20])).samples)


def test_a_generic_csv_row_without_the_header_columns_is_rejected_alone(operator_token_api, event):
    rows = ["time,metric,value,unit"]
    rows += [
        f"{iso(KEYNOTE_START + timedelta(seconds=i))},encoder.temperature,{i},C" for i in range(4)
    ]
    rows.insert(3, f"{iso(KEYNOTE_START)},encoder.temperature")
    response = operator_token_api.post(GENERIC, "\n".join(rows) + "\n", content_type="text/csv")
    assert response.status_code == 202
    (batch,) = process_all()
    assert (batch.samples, batch.rejected_count) == (4, 1)
    assert batch.rejected[0]["record"] == 4


def test_the_window_margin_is_a_setting(operator_token_api, event, settings):
    settings.TALLY_INGEST_WINDOW_MARGIN_DAYS = 0
    early = samples(2, event.start - timedelta(hours=1))
    inside = samples(3, KEYNOTE_START)
    response = operator_token_api.post(
        GENERIC, json.dumps(early + inside), content_type="application/json"
    )
    assert response.status_code == 202
    (batch,) = process_all()
    assert (batch.samples, batch.rejected_count) == (3, 2)
    assert all("0 days before the event starts" in r["reason"] for r in batch.rejected)
