"""Snapshot task for an entry with 5 feeds at 100 M stored samples: p95 <= 200 ms.

Reuses the window-query benchmark's scratch database ``bench_telemetry_100m`` (300 feeds x 20
SRT metrics x 16,667 points = 100,002,000 samples on 2026-11-26 08:00-20:00 UTC, one point per
feed and metric every 2.592 s; see bench_window_query.py, which builds it once with
generate_series; this script builds it the same way only if it is missing). Five of those
metrics are key SRT metrics (recv.mbitRate, recv.packetsLost, recv.packetsDropped,
recv.packetsRetransmitted, link.rtt), so a ± 5 min window freezes 5 feeds x 5 series x ~231
points.

Timed: ``integrations.snapshots.freeze(entry_id=...)``, i.e. what the Celery task does: read the
entry and its feeds, the feeds' key metrics, the raw samples of the window per feed, the
anomalies overlapping it, downsample, draw the sparkline, upsert the snapshot row. One entry per
run (created untimed, with its 5 random feeds and a random moment in the day), 20 warm-up then
200 measured runs. Baseline in the same run: the same task for entries with 1 feed.
"""

import random
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import percentile, report, setup_django

DB_NAME = "bench_telemetry_100m"
FEEDS_PER_ENTRY = 5
WARMUP, RUNS = 20, 200


def ensure_data():
    import bench_window_query as wq

    feeds, metric_ids = wq.fixtures(300)
    expected = 300 * wq.METRICS * wq.POINTS
    count = wq.sample_count()
    if count != expected:
        print(f"  {count:,} samples, want {expected:,}: building", flush=True)
        wq.build([f.pk for f in feeds], metric_ids)
    else:
        print(f"  {count:,} samples already there, not rebuilt", flush=True)
    return feeds, wq.START


def one_entry(event, feeds, moment):
    from retro.models import Entry

    entry = Entry.objects.create(event=event, kind="learning", body="bench", occurred_at=moment)
    entry.feeds.set(feeds)
    return entry


def measure(feeds, start, per_entry: int, rng) -> list[float]:
    from integrations import snapshots

    event = feeds[0].event
    span = timedelta(hours=12) - timedelta(minutes=10)
    times = []
    for i in range(WARMUP + RUNS):
        moment = start + timedelta(minutes=5) + span * rng.random()
        entry = one_entry(event, rng.sample(feeds, per_entry), moment)
        started = time.perf_counter()
        snapshot = snapshots.freeze(entry_id=entry.pk)
        elapsed = (time.perf_counter() - started) * 1000
        assert snapshot is not None and snapshot.has_data
        if i >= WARMUP:
            times.append(elapsed)
    return times


def main() -> int:
    setup_django(DB_NAME)
    from integrations.models import TelemetrySnapshot
    from retro.models import Entry

    feeds, start = ensure_data()
    Entry.objects.filter(event=feeds[0].event).delete()
    rng = random.Random(5)
    five = measure(feeds, start, FEEDS_PER_ENTRY, rng)
    one = measure(feeds, start, 1, rng)
    sample = TelemetrySnapshot.objects.filter(entry__feeds__isnull=False).first()
    points = sum(len(s["points"]) for f in sample.feeds for s in f["series"]) if sample else 0
    Entry.objects.filter(event=feeds[0].event).delete()
    p95 = percentile(five, 95)
    print(
        f"  5 feeds: p50 {percentile(five, 50):.1f} ms, p95 {p95:.1f} ms, max {max(five):.1f} ms;"
        f" {RUNS} runs; a snapshot holds about {points} points"
    )
    ok = p95 <= 200
    report(
        "snapshot task, entry with 5 feeds at 100 M samples, p95",
        p95,
        "ms",
        "<= 200 ms",
        ok,
        baseline=f"p95 {percentile(one, 95):.1f} ms for an entry with 1 feed",
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
