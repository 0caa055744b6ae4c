"""Prometheus remote write end to end: HTTP POST -> stored rows, PostgreSQL + Redis.

Target (issue 17): >= 100,000 samples/s on the 2-core machine, deduplication on.

End to end, as bench_ingest measures the other formats: gunicorn (2 workers x 4 threads) on a
free 127.0.0.1 port serving the scratch database ``tally_bench_remote_write``; two Celery worker
processes (-c 1 each) on this run's own queues; 4 client threads POST remote-write requests
(``/api/v1/ingest/prometheus/<event>/``, ingest key as Bearer, snappy protobuf WriteRequests)
the way a Prometheus server sends them: one sample per TimeSeries, every series with its full
label set (``__name__``, ``feed``, ``instance``, ``job``). 200 feeds x 10 metrics = 2,000
series scraped every second; a request holds 10,000 samples, i.e. five scrape rounds (what one
shard sends with the README's queue_config, ``max_samples_per_send: 10000`` and
``batch_send_deadline: 5s``); 100 requests: 1,000,000 samples. The clock runs from the first POST
until every batch is ``done``; the rate is the samples stored (batch counts, checked against
the table) over that time. Then 10 of the requests are sent again (a Prometheus retrying after
a timeout): they must add 0 rows.

For comparison, samples are also sent at Prometheus's default request size (2,000 samples per
request, one scrape round each: 100,000 samples), printed, not judged.
"""

import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

if not os.environ.get("DATABASE_URL"):
    from tests.run import choose_services

    choose_services(os.environ)

import bench_ingest  # gunicorn, waiting, counting: shared with the ingest bench

os.environ["TALLY_QUEUE_PREFIX"] = f"benchrw{os.getpid()}-"
os.environ.setdefault("TALLY_LOG_LEVEL", "WARNING")

from common import report, setup_django

DB_NAME = "tally_bench_remote_write"
FEEDS = 200
METRICS = 10
PER_REQUEST = 10_000  # five scrape rounds of the 2,000 series
ROUNDS = 100 * PER_REQUEST // (FEEDS * METRICS)
DEFAULT_PER_REQUEST = 2_000  # Prometheus's default max_samples_per_send (informational run)
DEFAULT_ROUNDS = 50
RESENT = 10
WORKERS = int(os.environ.get("BENCH_INGEST_WORKERS", 2))
HEADERS = {
    "Content-Type": "application/x-protobuf",
    "Content-Encoding": "snappy",
    "X-Prometheus-Remote-Write-Version": "0.1.0",
}
# A few of Tally's own metrics (colon for dot), the rest as exporters name theirs.
NAMES = ["recv:mbitRate", "link:rtt", "encoder:fps", "encoder:bitrate", "send:mbitRate"] + [
    f"gear_metric_{i:02}_ratio" for i in range(METRICS - 5)
]
# A healthy show (within 5 % of these), like bench_ingest's clean capture: no anomalies.
BASE_VALUES = [6.0, 25.0, 50.0, 6000.0, 6.0] + [0.5] * (METRICS - 5)


def requests_for(start: datetime, rounds: int, per_request: int) -> list[bytes]:
    """Remote-write bodies: `rounds` scrape rounds of every series, one second apart, cut into
    requests of `per_request` samples in the order a shard sends them (round after round)."""
    from tests.integrations import prometheus_wire as wire

    labels = [
        b"".join(
            wire.label(k, v)
            for k, v in (
                ("__name__", name),
                ("feed", f"f{feed:03}"),
                ("instance", f"enc-{feed:03}:9100"),
                ("job", "encoders"),
            )
        )
        for feed in range(FEEDS)
        for name in NAMES
    ]
    t0 = int(start.timestamp() * 1000)
    steady = [BASE_VALUES[i % METRICS] for i in range(len(labels))]
    series = [
        wire.field(
            1, lab + wire.sample(steady[i] * (1 + (i + round_) % 5 / 100), t0 + round_ * 1000)
        )
        for round_ in range(rounds)
        for i, lab in enumerate(labels)
    ]
    return [
        wire.compress(b"".join(series[first : first + per_request]))
        for first in range(0, len(series), per_request)
    ]


def fresh_event() -> str:
    """An event with FEEDS feeds (f000...); empty tables; its new ingest key."""
    from django.db import connection

    from integrations import services, storage
    from integrations.models import IngestBatch, TelemetryRollup
    from retro.models import Event, Feed

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {storage.SAMPLE_TABLE}")
    IngestBatch.objects.all().delete()
    TelemetryRollup.objects.all().delete()
    Event.objects.filter(slug="bench-rw").delete()
    now = datetime.now(UTC)
    event = Event.objects.create(
        name="Remote write bench", slug="bench-rw", start=now - timedelta(days=1), end=now
    )
    Feed.objects.bulk_create(
        Feed(event=event, slug=f"f{i:03}", name=f"Feed {i}", stage="contribution")
        for i in range(FEEDS)
    )
    _, key = services.create_ingest_key(event=event, name="bench", actor=None)
    return key


def post_all(port: int, bodies: list[bytes], key: str) -> list[int]:
    """POST every body as a remote write from bench_ingest's client threads; the batch ids."""
    path = "/api/v1/ingest/prometheus/bench-rw/"
    return bench_ingest.post_all(port, [(path, body) for body in bodies], key, headers=HEADERS)


def timed_run(port: int, bodies: list[bytes], key: str) -> tuple[list[int], float, float]:
    """(batch ids, seconds until all stored, seconds until all answered)."""
    started = time.perf_counter()
    ids = post_all(port, bodies, key)
    posted = time.perf_counter() - started
    bench_ingest.wait_done(ids)
    return ids, time.perf_counter() - started, posted


def stored_samples(ids: list[int]) -> int:
    from integrations.models import IngestBatch

    batches = IngestBatch.objects.filter(pk__in=ids)
    assert not batches.exclude(rejected_count=0).exists(), "samples were rejected"
    return sum(batches.values_list("samples", flat=True))


def run_all(key: str, main_bodies: list[bytes], default_bodies: list[bytes]) -> dict:
    """gunicorn and the workers up, the timed runs, the resend; figures as a dict."""
    from django.conf import settings

    from tests.workers import WorkerProcess

    port = bench_ingest.free_port()
    web = bench_ingest.start_gunicorn(port)
    workers = [
        WorkerProcess(concurrency=1, queues=[settings.QUEUE_INGEST], name=f"bench-rw-{n}")
        for n in range(WORKERS)
    ]
    figures = {}
    try:
        for worker in workers:
            worker.start()
        ids, elapsed, posted = timed_run(port, main_bodies, key)
        samples = stored_samples(ids)
        assert bench_ingest.sample_count() == samples, (bench_ingest.sample_count(), samples)
        figures["main"] = (samples, len(ids), elapsed, posted)
        before = bench_ingest.sample_count()
        again = post_all(port, main_bodies[:RESENT], key)
        bench_ingest.wait_done(again)
        figures["resend_added"] = bench_ingest.sample_count() - before
        ids, elapsed, posted = timed_run(port, default_bodies, key)
        figures["default"] = (stored_samples(ids), len(ids), elapsed, posted)
    finally:
        for worker in workers:
            worker.stop()
        os.killpg(web.pid, 15)
        web.wait(30)
    return figures


def main() -> int:
    setup_django(DB_NAME)
    from integrations import storage

    print(f"load average (1/5/15 min) at start: {bench_ingest.load()}", flush=True)
    key = fresh_event()
    start = (datetime.now(UTC) - timedelta(hours=6)).replace(minute=0, second=0, microsecond=0)
    main_bodies = requests_for(start, ROUNDS, PER_REQUEST)
    later = start + timedelta(hours=1)  # other timestamps: new rows, not duplicates
    default_bodies = requests_for(later, DEFAULT_ROUNDS, DEFAULT_PER_REQUEST)
    storage.ensure_partitions({start.date(), later.date()})
    size = sum(map(len, main_bodies)) / len(main_bodies) / 1024
    print(
        f"{len(main_bodies)} requests of {PER_REQUEST:,} samples ({size:.0f} KiB snappy each), "
        f"{FEEDS * METRICS:,} series"
    )
    figures = run_all(key, main_bodies, default_bodies)
    samples, batches, elapsed, posted = figures["main"]
    rate = samples / elapsed
    print(
        f"end to end: {samples:,} samples in {batches} requests in {elapsed:.1f}s "
        f"(all answered after {posted:.1f}s): {rate:,.0f} samples/s",
        flush=True,
    )
    print(f"resend of {RESENT} requests: {figures['resend_added']} rows added (must be 0)")
    d_samples, d_batches, d_elapsed, _ = figures["default"]
    print(
        f"at Prometheus's default {DEFAULT_PER_REQUEST:,} samples per request: {d_samples:,} "
        f"samples in {d_batches} requests in {d_elapsed:.1f}s: {d_samples / d_elapsed:,.0f} "
        "samples/s (informational)"
    )
    print(f"load average (1/5/15 min) at the end: {bench_ingest.load()}")
    ok = rate >= 100_000 and figures["resend_added"] == 0
    report(
        "remote write end to end (deduplicated)",
        rate,
        "samples/s",
        ">= 100,000 samples/s, a resend adds 0 rows",
        ok,
        baseline=f"{d_samples / d_elapsed:,.0f} samples/s at {DEFAULT_PER_REQUEST:,} per request",
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
