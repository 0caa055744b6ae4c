"""Each sample once: a sample is (feed, metric, time); resends, overlaps and redeliveries
store nothing twice, a changed value replaces the stored one (the later batch wins, counted
as replaced), and the rollups stay exactly the aggregate of the raw rows."""

import json
import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection

from integrations import services, storage, tasks
from integrations.formats import parse
from integrations.models import IngestBatch, TelemetryAlert, TelemetryRollup, TelemetrySample
from retro.models import Feed
from tests.conftest import KEYNOTE_START, iso
from tests.workers import wait_for

from .conftest import capture, capture_on_air
from .telemetry_factory import eventbridge

pytestmark = pytest.mark.django_db


def process_all() -> list[IngestBatch]:
    pending = IngestBatch.objects.filter(state="pending").order_by("pk")
    for pk in pending.values_list("pk", flat=True):
        tasks.process_batch(pk)
    return list(IngestBatch.objects.order_by("pk"))


def assert_rollups_exact() -> None:
    """Every 10 s / 1 min bucket equals the aggregate of the raw rows it covers."""
    rows = [
        (f, m, t, v, None, None, None, None)
        for f, m, t, v in TelemetrySample.objects.values_list(
            "feed_id", "metric_id", "time", "value"
        )
    ]
    expected = {a[:4]: a[4:] for a in storage.rollup_rows(rows)}
    got = {
        (r.feed_id, r.step, r.metric_id, r.bucket): (r.min, r.max, r.sum, r.count)
        for r in TelemetryRollup.objects.all()
    }
    assert got.keys() == expected.keys()
    for key, (low, high, total, count) in expected.items():
        assert got[key] == pytest.approx((low, high, total, count)), key


def post_srt(api, body: bytes, content_type: str = "application/x-ndjson"):
    response = api.post("/api/v1/ingest/srt/summit/kn1-contrib-a/", body, content_type=content_type)
    assert response.status_code == 202, response.content
    return response.json()["batch"]


@pytest.mark.parametrize(
    ("name", "content_type"),
    [("clean-1.srt-stats.jsonl", "application/x-ndjson"), ("clean-2.srt-stats.csv", "text/csv")],
)
def test_a_resent_srt_batch_stores_nothing_twice(operator_token_api, event, name, content_type):
    body = capture_on_air(name)
    post_srt(operator_token_api, body, content_type)
    post_srt(operator_token_api, body, content_type)
    first, again = process_all()
    assert first.state == again.state == "done"
    assert first.samples > 0
    assert (again.samples, again.replaced, again.duplicates) == (0, 0, first.samples)
    assert TelemetrySample.objects.count() == first.samples
    points = TelemetrySample.objects.filter(metric__name="recv.mbitRate").count()
    assert points == 65  # 65 records, 65 distinct times
    status = operator_token_api.get(f"/api/v1/ingest/batches/{again.pk}/").json()
    assert (status["samples"], status["replaced"], status["duplicates"]) == (0, 0, first.samples)
    assert_rollups_exact()


def test_an_overlapping_batch_adds_only_what_is_new(operator_token_api, event):
    lines = capture_on_air("clean-1.srt-stats.jsonl").splitlines(keepends=True)
    post_srt(operator_token_api, b"".join(lines[:40]))
    post_srt(operator_token_api, b"".join(lines[25:]))
    first, second = process_all()
    distinct = len(parse("srt-json", b"".join(lines)).samples)
    overlap = len(parse("srt-json", b"".join(lines[25:40])).samples)
    assert first.samples + second.samples == distinct == TelemetrySample.objects.count()
    assert (second.duplicates, second.replaced) == (overlap, 0)
    assert_rollups_exact()


def test_consecutive_batches_sharing_a_minute_add_up_to_exact_rollups(operator_token_api, event):
    lines = capture_on_air("clean-1.srt-stats.jsonl").splitlines(keepends=True)
    for part in (lines[:20], lines[20:33], lines[33:]):  # cuts inside 10 s and 1 min buckets
        post_srt(operator_token_api, b"".join(part))
    batches = process_all()
    assert [b.duplicates for b in batches] == [0, 0, 0]
    assert sum(b.samples for b in batches) == TelemetrySample.objects.count() > 0
    assert TelemetryRollup.objects.filter(step=60).count() > 0
    assert_rollups_exact()


def test_a_batch_over_rollups_whose_raw_samples_are_gone_adds_to_them(operator_token_api, event):
    body = capture_on_air("clean-1.srt-stats.jsonl")
    post_srt(operator_token_api, body)
    (first,) = process_all()
    rollup = TelemetryRollup.objects.filter(step=60).order_by("bucket", "metric_id").first()
    with connection.cursor() as cursor:  # raw samples pruned, rollups kept
        cursor.execute(f"DELETE FROM {storage.SAMPLE_TABLE}")
    post_srt(operator_token_api, body)
    again = process_all()[-1]
    assert again.state == "done" and again.samples == first.samples
    key = {"feed_id": rollup.feed_id, "metric_id": rollup.metric_id, "bucket": rollup.bucket}
    after = TelemetryRollup.objects.get(step=60, **key)
    assert (after.count, after.sum) == (2 * rollup.count, pytest.approx(2 * rollup.sum))


def test_ffmpeg_progress_resent_stores_nothing_twice(operator_token_api, event):
    body = capture("clean-1.ffmpeg-progress.txt").read_bytes()
    url = f"/api/v1/ingest/ffmpeg/summit/kn1-contrib-a/?started_at={iso(KEYNOTE_START)}"
    for _ in range(2):
        assert operator_token_api.post(url, body, content_type="text/plain").status_code == 202
    first, again = process_all()
    assert first.samples > 0 and again.samples == 0
    assert again.duplicates == first.samples
    assert TelemetrySample.objects.count() == first.samples
    assert_rollups_exact()


def test_a_firehose_body_redelivered_under_a_new_request_id_stores_nothing_twice(
    anon_api, ingest_key, event
):
    raw = capture_on_air("firehose-metric-stream-clean.http")
    body = raw.partition(b"\r\n\r\n")[2]
    sources = sorted({s.source for s in parse("firehose", body).samples})
    for n, source in enumerate(sources):  # one feed per flow / channel, as a rundown maps them
        Feed.objects.create(
            event=event,
            slug=f"cw-{n}",
            name=f"CloudWatch {n}",
            stage="contribution",
            source_ids=[source],
        )
    for request_id in ("delivery-1", "delivery-1-retried-as-new"):
        response = anon_api.post(
            "/api/v1/ingest/firehose/",
            body,
            content_type="application/json",
            HTTP_X_AMZ_FIREHOSE_ACCESS_KEY=ingest_key[1],
            HTTP_X_AMZ_FIREHOSE_REQUEST_ID=request_id,
        )
        assert response.status_code == 200
    first, again = process_all()
    assert first.state == again.state == "done"
    assert first.samples == len(parse("firehose", body).samples) > 0
    assert again.samples == 0
    assert again.duplicates == first.samples
    assert TelemetrySample.objects.count() == first.samples
    assert_rollups_exact()


def generic(samples: list[tuple[str, object, float]]) -> bytes:
    return json.dumps(
        [
            {"metric": m, "time": iso(t) if not isinstance(t, str) else t, "value": v}
            for m, t, v in samples
        ]
    ).encode()


def test_the_same_key_with_another_value_is_replaced_by_the_later_batch(operator_token_api, event):
    start = KEYNOTE_START + timedelta(minutes=3)
    url = "/api/v1/ingest/generic/summit/kn1-contrib-a/"
    before = [("encoder.temperature", start + timedelta(seconds=s), 40.0 + s) for s in range(30)]
    after = [(m, t, v + 100) for m, t, v in before[10:20]] + before[20:]
    for payload in (before, after):
        response = operator_token_api.post(url, generic(payload), content_type="application/json")
        assert response.status_code == 202
    first, second = process_all()
    assert (first.samples, first.replaced) == (30, 0)
    assert (second.samples, second.replaced, second.duplicates) == (0, 10, 10)
    status = operator_token_api.get(f"/api/v1/ingest/batches/{second.pk}/").json()
    assert status["replaced"] == 10
    values = dict(TelemetrySample.objects.values_list("time", "value"))
    assert len(values) == 30
    assert values[start + timedelta(seconds=15)] == 155.0
    assert values[start + timedelta(seconds=5)] == 45.0
    assert_rollups_exact()  # max now 159, sums moved by +1000, counts unchanged


def test_a_key_repeated_within_one_batch_keeps_its_last_value(operator_token_api, event):
    moment = KEYNOTE_START + timedelta(minutes=4)
    payload = [("encoder.temperature", moment, 41.0), ("encoder.temperature", moment, 42.0)]
    response = operator_token_api.post(
        "/api/v1/ingest/generic/summit/kn1-contrib-a/",
        generic(payload),
        content_type="application/json",
    )
    assert response.status_code == 202
    (batch,) = process_all()
    assert (batch.samples, batch.replaced) == (1, 1)
    assert list(TelemetrySample.objects.values_list("value", flat=True)) == [42.0]
    assert_rollups_exact()


def test_a_resent_eventbridge_event_is_one_alert(key_api, event):
    body = eventbridge("InputLoss-1", "SET", KEYNOTE_START + timedelta(minutes=2))
    for _ in range(2):
        assert (
            key_api.post(
                "/api/v1/ingest/eventbridge/", body, content_type="application/json"
            ).status_code
            == 202
        )
    process_all()
    assert TelemetryAlert.objects.filter(alarm_id="InputLoss-1").count() == 1


def test_ingest_file_twice_stores_each_sample_once(event, tmp_path):
    path = tmp_path / "clean-1.srt-stats.jsonl"
    path.write_bytes(capture_on_air("clean-1.srt-stats.jsonl"))
    args = ["ingest_file", "--event", "summit", "--feed", "kn1-contrib-a", "--format", "srt-json"]
    call_command(*args, str(path))
    call_command(*args, str(path))
    first, again = process_all()
    assert first.samples > 0 and again.samples == 0 and again.duplicates == first.samples
    assert TelemetrySample.objects.count() == first.samples
    assert_rollups_exact()


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres  # SQLite has one writer: concurrency is PostgreSQL's case
def test_two_workers_storing_overlapping_batches_at_once_store_each_sample_once(event):
    feed = event.feeds.get(slug="kn1-contrib-a")
    lines = capture_on_air("clean-1.srt-stats.jsonl").splitlines(keepends=True)
    # Six batches, each overlapping the next by half: two workers take them at once.
    bodies = [b"".join(lines[i : i + 20]) for i in range(0, 60, 10)]
    ids = [
        services.ingest_batch(event=event, feed=feed, fmt="srt-json", body=body)[0].pk
        for body in bodies
    ]
    errors: list[Exception] = []
    barrier = threading.Barrier(2)

    def worker(mine: list[int]) -> None:
        try:
            barrier.wait()
            for pk in mine:
                services.process_batch(batch_id=pk)
        except Exception as err:  # reported below
            errors.append(err)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(ids[n::2],)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    # A real worker of the run may take some of the queued batches too (the skip-locked claim
    # lets the threads pass over them): that is a third concurrent writer, so wait for it.
    wait_for(lambda: not IngestBatch.objects.filter(pk__in=ids, state="pending").exists())
    batches = IngestBatch.objects.filter(pk__in=ids)
    assert {b.state for b in batches} == {"done"}
    distinct = len(parse("srt-json", b"".join(lines)).samples)
    posted = sum(len(parse("srt-json", body).samples) for body in bodies)
    assert TelemetrySample.objects.count() == sum(b.samples for b in batches) == distinct
    assert sum(b.duplicates + b.replaced for b in batches) == posted - distinct > 0
    assert_rollups_exact()
