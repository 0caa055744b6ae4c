"""One-feed window query (± 5 min, all metrics): p95 <= 50 ms at 100 M samples and <= 2x its
p95 at 1 M samples, through the telemetry endpoint's code path (integrations.selectors).

Two scratch PostgreSQL databases, same per-feed shape, different total size:

- ``bench_telemetry_1m``: 3 feeds x 20 metrics x 16,667 points = 1,000,020 samples.
- ``bench_telemetry_100m``: 300 feeds x 20 metrics x 16,667 points = 100,002,000 samples
  (reused by other benchmarks: do not change its shape without saying so).

Shape of both: event slug ``bench-telemetry``, feeds ``f000``.. (``Feed.pk`` order), the first
20 SRT metric names of ``integrations.formats.srt.METRICS`` (sorted), one point per feed and
metric every 2.592 s (12 h / 16,667) from 2026-11-26 08:00 UTC to 20:00 UTC, a per-feed phase of
``7 * feed index ms``, ``value`` random in [0, 100), no CloudWatch statistics. Rows are written in
arrival order (time-major: every feed's 20 metrics per tick), all in the day partition
``integrations_telemetrysample_p20261126`` (the app's partitioning), and
``FeedTelemetryStatus.metric_ids`` lists the 20 metrics so "all metrics" is what the endpoint
would ask for. The 100 M partition is 5.7 GB heap + 3.9 GB index (9.7 GB database).

The data is built in SQL (INSERT ... SELECT generate_series, in time order) into a standalone
UNLOGGED table that gets the app's unique (feed_id, metric_id, time) index afterwards and is
attached as the day partition (much faster than keeping the B-tree during the load, and no WAL
for 10 GB of scratch rows; the bulk-built index is a little denser than one grown by inserts,
and reads of an unlogged table cost the same). Older day partitions of earlier runs are
dropped. A database whose day partition already holds the right row count is not rebuilt. Each size runs in
its own process (Django talks to one database); the sizes alternate in 3 rounds of 10 warm-up
and 100 measured queries (300 per size), each for a random feed and a random 10-minute window,
timed around ``series_query`` + ``series``, so both sizes see the same load from the rest of
the shared machine.
EXPLAIN (ANALYZE, BUFFERS) of one run's SQL is printed for each size.
"""

import json
import os
import random
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import percentile, report, setup_django

DAY = (datetime.now(UTC) - timedelta(days=2)).replace(hour=0, minute=0, second=0, microsecond=0)
START = DAY + timedelta(hours=8)
POINTS = 16_667
STEP_MS = 2_592  # 12 h / 16,667 points
METRICS = 20
SIZES = {"bench_telemetry_1m": 3, "bench_telemetry_100m": 300}
WARMUP = 10
RUNS = 300  # per size, in ROUNDS alternating rounds
ROUNDS = 3
HALF_WINDOW = timedelta(minutes=5)
SLUG = "bench-telemetry"


def fixtures(feeds: int):
    """Event, feeds, metrics and feed statuses (idempotent)."""
    from integrations.formats.srt import METRICS as SRT_METRICS
    from integrations.models import FeedTelemetryStatus, Metric
    from retro.models import Event, Feed

    event, _ = Event.objects.update_or_create(  # the day moves with the date of the run
        slug=SLUG,
        defaults={"name": "Telemetry bench", "start": START, "end": START + timedelta(hours=12)},
    )
    have = {f.slug for f in event.feeds.all()}
    Feed.objects.bulk_create(
        [
            Feed(event=event, slug=f"f{i:03}", name=f"Feed {i}", stage="contribution")
            for i in range(feeds)
            if f"f{i:03}" not in have
        ]
    )
    names = sorted(SRT_METRICS)[:METRICS]
    Metric.objects.bulk_create(
        [Metric(name=n, unit=SRT_METRICS[n][0]) for n in names], ignore_conflicts=True
    )
    metric_ids = sorted(Metric.objects.filter(name__in=names).values_list("pk", flat=True))
    feed_list = list(event.feeds.order_by("pk"))[:feeds]
    for feed in feed_list:
        FeedTelemetryStatus.objects.update_or_create(
            feed=feed, defaults={"metric_ids": metric_ids, "last_sample_at": START}
        )
    return feed_list, metric_ids


def build(feed_ids: list[int], metric_ids: list[int]) -> None:
    """Fill the day partition with len(feeds) x 20 x 16,667 samples, in arrival order."""
    from django.db import connection

    from integrations import storage

    part = storage.partition_name(DAY.date())
    per_tick = len(feed_ids) * len(metric_ids)
    total = per_tick * POINTS
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '1GB'")
        cursor.execute("SET synchronous_commit = off")
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s",
            [storage.SAMPLE_TABLE],
        )
        for (stale,) in cursor.fetchall():  # earlier runs' days: scratch data, 10 GB each
            cursor.execute(f"DROP TABLE {stale}")
        cursor.execute(f"DROP TABLE IF EXISTS {part}")
        cursor.execute(f"CREATE UNLOGGED TABLE {part} (LIKE {storage.SAMPLE_TABLE})")
        # n -> tick i = n / per_tick, feed index (n / 20) % feeds, metric index n % 20
        cursor.execute(
            f"""INSERT INTO {part} (feed_id, metric_id, time, value)
            SELECT (%(feeds)s::bigint[])[((n / %(m)s) %% %(f)s) + 1],
                   (%(metrics)s::smallint[])[(n %% %(m)s) + 1],
                   %(start)s::timestamptz + interval '1 millisecond'
                       * ((n / %(tick)s) * %(step)s + ((n / %(m)s) %% %(f)s) * 7),
                   random() * 100
            FROM generate_series(0::bigint, %(total)s - 1) AS n""",
            {
                "feeds": feed_ids,
                "metrics": metric_ids,
                "m": len(metric_ids),
                "f": len(feed_ids),
                "tick": per_tick,
                "step": STEP_MS,
                "start": START,
                "total": total,
            },
        )
        print(f"  loaded {total:,} rows in {time.monotonic() - started:.0f}s", flush=True)
        cursor.execute(
            # Unique, like the app's index on the parent: ATTACH adopts it instead of building
            # a second one.
            f"CREATE UNIQUE INDEX {part}_feed_id_metric_id_time_idx "
            f"ON {part} (feed_id, metric_id, time)"
        )
        print(f"  indexed in {time.monotonic() - started:.0f}s", flush=True)
        cursor.execute(
            f"ALTER TABLE {storage.SAMPLE_TABLE} ATTACH PARTITION {part} "
            "FOR VALUES FROM (%s) TO (%s)",
            [DAY, DAY + timedelta(days=1)],
        )
        cursor.execute(f"VACUUM (ANALYZE) {part}")
    print(f"  attached and vacuumed in {time.monotonic() - started:.0f}s", flush=True)


def sample_count() -> int:
    """Rows in this run's day partition (0 when it does not exist: built on another day)."""
    from django.db import connection

    from integrations import storage

    part = storage.partition_name(DAY.date())
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [part])
        if cursor.fetchone()[0] is None:
            return 0
        cursor.execute(f"SELECT count(*) FROM {part}")
        return cursor.fetchone()[0]


def one_query(feed, center: datetime) -> tuple[float, int]:
    """Run the endpoint's selector path once; (ms, points)."""
    from django.http import QueryDict

    from integrations import selectors

    params = QueryDict(mutable=True)
    params["start"] = (center - HALF_WINDOW).isoformat()
    params["end"] = (center + HALF_WINDOW).isoformat()
    params["step"] = "raw"
    started = time.perf_counter()
    query = selectors.series_query(feed, params, datetime.now(UTC))
    result = selectors.series(query)
    elapsed = (time.perf_counter() - started) * 1000
    return elapsed, sum(len(s["points"]) for s in result)


def explain(feed, center: datetime) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of the sample query one run sends."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        one_query(feed, center)
    sql = next(q["sql"] for q in captured.captured_queries if "telemetrysample" in q["sql"])
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


def measure(db_name: str, feeds: int, runs: int, seed: int, plan: bool) -> dict:
    """Child process: build (unless present) and time the window query on one database."""
    setup_django(db_name)
    feed_list, metric_ids = fixtures(feeds)
    expected = feeds * METRICS * POINTS
    count = sample_count() if seed == 0 else expected  # counted (and built) in the first round
    if count != expected:
        print(f"  {db_name}: {count:,} samples, want {expected:,}: building", flush=True)
        build([f.pk for f in feed_list], metric_ids)
        count = sample_count()
    rng = random.Random(seed)
    span = timedelta(hours=12) - 2 * HALF_WINDOW
    times, points = [], []
    for i in range(WARMUP + runs):
        center = START + HALF_WINDOW + span * rng.random()
        elapsed, n = one_query(rng.choice(feed_list), center)
        if i >= WARMUP:
            times.append(elapsed)
            points.append(n)
    return {
        "samples": count,
        "times": times,
        "points": points,
        "plan": explain(feed_list[0], START + timedelta(hours=6)) if plan else "",
    }


def load() -> str:
    """The machine's load average (it is shared: figures move with it)."""
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> int:
    if "--measure" in sys.argv:
        db_name, feeds, runs, seed = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
        result = measure(db_name, feeds, runs, int(seed), plan="--plan" in sys.argv)
        print("RESULT " + json.dumps(result), flush=True)
        return 0
    if not os.environ.get("DATABASE_URL"):
        from tests.run import choose_services

        choose_services(os.environ)
    print(f"load average (1/5/15 min) at start: {load()}", flush=True)
    # Sizes alternate in rounds so both see the same load from the rest of the machine.
    results = {db: {"times": [], "points": []} for db in SIZES}
    for round_ in range(ROUNDS):
        for db_name, feeds in SIZES.items():
            command = [sys.executable, __file__, "--measure", db_name, str(feeds)]
            command += [str(RUNS // ROUNDS), str(round_)]
            command += ["--plan"] if round_ == ROUNDS - 1 else []
            out = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True).stdout
            print(out.rsplit("RESULT ", 1)[0], end="")
            result = json.loads(out.rsplit("RESULT ", 1)[1])
            results[db_name]["times"] += result["times"]
            results[db_name]["points"] += result["points"]
            results[db_name].update(samples=result["samples"], plan=result["plan"])
    print(f"load average (1/5/15 min) at the end: {load()}")
    for db_name, r in results.items():
        r["p95"], r["p50"] = percentile(r["times"], 95), percentile(r["times"], 50)
        print(
            f"{db_name}: {r['samples']:,} samples: p95 {r['p95']:.1f} ms, p50 {r['p50']:.1f} ms, "
            f"max {max(r['times']):.1f} ms, {sum(r['points']) / len(r['points']):.0f} points per "
            f"query, {len(r['times'])} runs"
        )
        print("  plan:\n    " + r["plan"].replace("\n", "\n    "))
    small, big = results["bench_telemetry_1m"], results["bench_telemetry_100m"]
    ok = big["p95"] <= 50 and big["p95"] <= 2 * small["p95"]
    report(
        "window query p95 at 100 M samples",
        big["p95"],
        "ms",
        "<= 50 ms and <= 2x the 1 M p95",
        ok,
        baseline=f"p95 {small['p95']:.1f} ms at 1 M samples (ratio {big['p95'] / small['p95']:.2f}x)",
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
