"""Ingest end to end against a raw COPY of the same rows, PostgreSQL + Redis, same run.

Target: >= 50 % of the COPY rate and >= 100,000 samples/s on the 2-core machine, with
deduplication on (each (feed, metric, time) stored once: a unique index on the sample table).

End to end: gunicorn (2 workers x 4 threads) on a free 127.0.0.1 port serving the scratch
database ``tally_bench_ingest``; two Celery worker processes (-c 1 each) on this run's own
queue names (TALLY_QUEUE_PREFIX) through the shared Redis; 4 client threads POST srt-live-transmit
JSON lines (``/api/v1/ingest/srt/<event>/<feed>/``, ingest key auth) in big batches: 1,000
one-second records (36 metrics each, 36,000 samples, ~1.5 MB) per request, 20 feeds x 4
consecutive batches. The clock runs from the first POST to the moment every batch is ``done``;
the rate is the samples stored (batch counts, checked against the table) over that time.

Baseline: the same rows (parsed in this process, untimed), after TRUNCATE of the sample table,
written with one raw psycopg binary ``COPY ... FROM STDIN`` (``write_row``) into the same
partitioned, indexed table in one transaction, timed from the COPY to its commit. The machine is
shared and its speed moves by a third between minutes, so the two are measured in turns, twice
each (COPY, end to end, COPY, end to end, every round on emptied tables), and the best end to end
rate is compared with the best COPY rate. Both write into the same table with the same unique
index. After the last round every batch is POSTed again (a collector resending after a timeout):
it must add 0 rows, and its time is printed.
"""

import atexit
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

if not os.environ.get("DATABASE_URL"):
    from tests.run import choose_services

    choose_services(os.environ)
os.environ["TALLY_QUEUE_PREFIX"] = f"benchingest{os.getpid()}-"
# This run's own prometheus-client value files (gunicorn and the workers inherit it), outside
# the shared data folder, whose finished-run folders other processes sweep away.
os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="tally-bench-ingest-metrics-")
os.environ.setdefault("TALLY_LOG_LEVEL", "WARNING")

from common import ROOT, report, setup_django

DB_NAME = "tally_bench_ingest"
FEEDS = 20
BATCHES_PER_FEED = 4
RECORDS = 1_000  # one-second SRT records per request
CLIENTS = 4
ROUNDS = 2  # raw COPY then end to end, twice; best against best
WORKERS = int(os.environ.get("BENCH_INGEST_WORKERS", 2))  # worker processes, -c 1 each
CAPTURE = ROOT / "tests/integrations/captures/clean-1.srt-stats.jsonl"


def srt_body(feed: int, batch: int, start: datetime) -> bytes:
    """1,000 srt-live-transmit JSON records of one socket, consecutive seconds."""
    import json

    template = [json.loads(line) for line in CAPTURE.read_text().splitlines()]
    lines = []
    for i in range(RECORDS):
        n = batch * RECORDS + i
        record = template[n % len(template)]
        record["sid"] = 500_000_000 + feed
        record["timepoint"] = (start + timedelta(seconds=n)).strftime("%Y-%m-%dT%H:%M:%S.%f+0000")
        record["time"] = (n + 1) * 1000
        lines.append(json.dumps(record, separators=(",", ":")))
    return ("\n".join(lines) + "\n").encode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(port: int) -> subprocess.Popen:
    env = dict(os.environ)
    env.update(
        DJANGO_DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="127.0.0.1",
        TALLY_SSL_REDIRECT="0",
    )
    command = [sys.executable, "-m", "gunicorn", "tally.wsgi", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", "2", "--threads", "4", "--timeout", "120", "--log-level", "warning"]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("gunicorn did not start")


def fresh_data():
    """Empty sample/batch tables, an event with FEEDS feeds and an ingest key."""
    from django.db import connection

    from integrations import services, storage
    from integrations.models import IngestBatch, TelemetryRollup
    from retro.models import Event, Feed

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {storage.SAMPLE_TABLE}")
    IngestBatch.objects.all().delete()
    TelemetryRollup.objects.all().delete()
    Event.objects.filter(slug="bench-ingest").delete()
    now = datetime.now(UTC)
    event = Event.objects.create(
        name="Ingest bench", slug="bench-ingest", start=now - timedelta(days=1), end=now
    )
    feeds = [
        Feed.objects.create(event=event, slug=f"f{i:02}", name=f"Feed {i}", stage="contribution")
        for i in range(FEEDS)
    ]
    _, key = services.create_ingest_key(event=event, name="bench", actor=None)
    return event, feeds, key


def post_all(
    port: int, jobs: list[tuple[str, bytes]], key: str, headers: dict | None = None
) -> list[int]:
    """POST every (path, body) from CLIENTS threads, with the ingest key as Bearer (and
    `headers`, default NDJSON); return the batch ids."""
    import requests

    ids: list[int] = []
    lock = threading.Lock()
    queue = list(jobs)

    def client():
        session = requests.Session()
        sent = {"Content-Type": "application/x-ndjson", **(headers or {})}
        sent["Authorization"] = f"Bearer {key}"
        while True:
            with lock:
                if not queue:
                    return
                path, body = queue.pop(0)
            response = session.post(f"http://127.0.0.1:{port}{path}", data=body, headers=sent)
            assert response.status_code == 202, response.text[:500]
            with lock:
                ids.append(response.json()["batch"])

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return ids


def wait_done(ids: list[int], timeout: float = 600) -> None:
    from django.db.models import Count

    from integrations.models import IngestBatch

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = dict(
            IngestBatch.objects.filter(pk__in=ids).values_list("state").annotate(n=Count("pk"))
        )
        if states.get("done", 0) == len(ids):
            return
        if set(states) - {"done", "pending"}:
            raise RuntimeError(f"batches not done: {states}")
        time.sleep(0.05)
    raise RuntimeError("batches still pending after the timeout")


def copy_rows(jobs, feeds) -> list[tuple]:
    """The rows the pipeline stores for these bodies, built here (untimed) for the baseline."""
    from integrations import storage
    from integrations.formats import parse

    by_slug = {f.slug: f.pk for f in feeds}
    results = [
        (by_slug[path.rstrip("/").rsplit("/", 1)[1]], parse("srt-json", b)) for path, b in jobs
    ]
    ids = storage.metric_ids({s.metric: s.unit for _, r in results for s in r.samples})
    return [
        (feed_id, ids[s.metric], s.time, s.value, None, None, None, None)
        for feed_id, r in results
        for s in r.samples
    ]


def raw_copy(rows: list[tuple], binary: bool) -> float:
    """TRUNCATE, then one raw psycopg COPY of the rows; seconds from COPY to commit."""
    import psycopg

    from integrations import storage

    columns = ", ".join(storage.SAMPLE_COLUMNS)
    sql = f"COPY {storage.SAMPLE_TABLE} ({columns}) FROM STDIN" + (
        " (FORMAT BINARY)" if binary else ""
    )
    with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
        conn.execute(f"TRUNCATE {storage.SAMPLE_TABLE}")
        conn.commit()
        started = time.perf_counter()
        with conn.cursor() as cursor, cursor.copy(sql) as copy:
            if binary:
                copy.set_types(storage.COPY_TYPES)
            for row in rows:
                copy.write_row(row)
        conn.commit()
        elapsed = time.perf_counter() - started
        stored = conn.execute(f"SELECT count(*) FROM {storage.SAMPLE_TABLE}").fetchone()[0]
    assert stored == len(rows), (stored, len(rows))
    return elapsed


def load() -> str:
    """The machine's load average (it is shared: figures move with it)."""
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> int:
    atexit.register(shutil.rmtree, os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
    setup_django(DB_NAME)

    from integrations import storage

    print(f"load average (1/5/15 min) at start: {load()}", flush=True)
    event, feeds, key = fresh_data()
    start = (datetime.now(UTC) - timedelta(hours=6)).replace(minute=0, second=0, microsecond=0)
    jobs = [
        (f"/api/v1/ingest/srt/{event.slug}/{feed.slug}/", srt_body(i, b, start))
        for b in range(BATCHES_PER_FEED)
        for i, feed in enumerate(feeds)
    ]
    rows = copy_rows(jobs, feeds)
    storage.ensure_partitions({row[2].date() for row in rows})  # as ingest does first
    copies, runs = [], []
    for _ in range(ROUNDS):  # interleaved, so both sides see the machine's drift alike
        copies.append(len(rows) / raw_copy(rows, binary=True))
        print(f"raw binary COPY: {copies[-1]:,.0f} rows/s", flush=True)
        reset(event)
        runs.append(end_to_end(jobs, key, resend=len(runs) == ROUNDS - 1))
        reset(event)
    rate, best = max(runs), max(copies)
    ratio = rate / best
    print(f"best of {ROUNDS}: end to end {rate:,.0f} samples/s, raw COPY {best:,.0f} rows/s")
    print(f"ratio: {ratio:.0%} of the fastest COPY")
    print(f"load average (1/5/15 min) at the end: {load()}")
    ok = ratio >= 0.5 and rate >= 100_000
    report(
        "ingest end to end (deduplicated)",
        rate,
        "samples/s",
        ">= 100,000 samples/s and >= 50% of raw COPY",
        ok,
        baseline=f"raw psycopg binary COPY {best:,.0f} rows/s same run ({ratio:.0%})",
    )
    return 0 if ok else 1


def resend_all(port: int, jobs: list[tuple[str, bytes]], key: str) -> tuple[list[int], float]:
    """POST every job again and wait for the workers; (batch ids, seconds)."""
    started = time.perf_counter()
    ids = post_all(port, jobs, key)
    wait_done(ids)
    return ids, time.perf_counter() - started


def sample_count() -> int:
    from django.db import connection

    from integrations import storage

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {storage.SAMPLE_TABLE}")
        return cursor.fetchone()[0]


def resend_report(again: tuple[list[int], float], stored_before: int) -> None:
    """Print what the resend added (must be 0 rows) and its time; fail the run otherwise."""
    from integrations.models import IngestBatch

    ids, seconds = again
    counts = list(IngestBatch.objects.filter(pk__in=ids).values_list("samples", "duplicates"))
    added = sample_count() - stored_before
    print(
        f"resend of all {len(ids)} batches: {added} rows added, "
        f"{sum(d for _, d in counts):,} samples recognised as stored, in {seconds:.1f}s",
        flush=True,
    )
    assert added == 0 and sum(n for n, _ in counts) == 0, (added, list(counts)[:5])


def reset(event) -> None:
    """Empty the sample, rollup and batch tables between rounds (each round starts alike)."""
    from django.db import connection

    from integrations import storage
    from integrations.models import FeedTelemetryStatus, IngestBatch

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {storage.SAMPLE_TABLE}, integrations_telemetryrollup")
    IngestBatch.objects.filter(event=event).delete()
    FeedTelemetryStatus.objects.filter(feed__event=event).delete()
    connection.close()


def end_to_end(jobs: list[tuple[str, bytes]], key: str, resend: bool = False) -> float:
    """POST every job to gunicorn, wait until workers stored them all; samples per second.

    With `resend`, POST every job again afterwards and check it adds no row (untimed for the
    rate; its own time is printed)."""
    from django.conf import settings
    from django.db import connection

    from integrations import storage
    from integrations.models import IngestBatch
    from tests.workers import WorkerProcess

    port = free_port()
    web = start_gunicorn(port)
    workers = [
        WorkerProcess(concurrency=1, queues=[settings.QUEUE_INGEST], name=f"bench-ingest-{n}")
        for n in range(WORKERS)
    ]
    try:
        for worker in workers:
            worker.start()
        started = time.perf_counter()
        ids = post_all(port, jobs, key)
        posted = time.perf_counter() - started
        wait_done(ids)
        elapsed = time.perf_counter() - started
        if resend:
            before = sample_count()
            again = resend_all(port, jobs, key)
    finally:
        for worker in workers:
            worker.stop()
        os.killpg(web.pid, 15)
        web.wait(30)
    samples = sum(IngestBatch.objects.filter(pk__in=ids).values_list("samples", flat=True))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {storage.SAMPLE_TABLE}")
        stored = cursor.fetchone()[0]
    assert stored == samples, (stored, samples)
    rate = samples / elapsed
    if resend:
        resend_report(again, before)
    print(
        f"end to end: {samples:,} samples in {len(ids)} batches ({len(jobs[0][1]) / 1e6:.1f} MB "
        f"each) in {elapsed:.1f}s (all POSTs answered after {posted:.1f}s): {rate:,.0f} samples/s",
        flush=True,
    )
    return rate


if __name__ == "__main__":
    sys.exit(main())
