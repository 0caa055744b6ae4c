"""Anomaly detection keeps up with ingest: the batch path with and without detection, same run.

Targets: with detection, one worker process stores >= 9,000 samples/s (the design peak) and is
at most 10 % slower than the same batches without detection.

Scratch PostgreSQL database ``bench_detection``: one event, 8 SRT feeds whose session is on
air, each fed batches of 1,000 one-second srt-live-transmit JSON records (36 metrics, 36,000
samples per batch; the records of tests/integrations/captures/clean-1.srt-stats.jsonl with a
loss burst and a 40 s stats gap in every batch, so detection finds and merges anomalies). Each
round stores one batch per feed twice: once with detection off (TALLY_DETECT_ANOMALIES=False)
and once on, on distinct feeds and times, alternating which goes first; batches are created as
IngestBatch rows and stored with ``services.process_batch`` (parse, COPY, rollups, hook, all of
it), timed per batch. The rate is the total samples over the total time with detection; the
slowdown is the median over the paired batches (same feed slot and round, one right after the
other) of time with / time without, so a pause of the shared machine during one batch does not
decide it. The total-time slowdown is printed beside it.
"""

import json
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, report, setup_django

DB_NAME = "bench_detection"
FEEDS = 8
ROUNDS = 6
RECORDS = 1_000
CAPTURE = ROOT / "tests/integrations/captures/clean-1.srt-stats.jsonl"
START = (datetime.now(UTC) - timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)


def body(sid: int, start: datetime) -> bytes:
    template = [json.loads(line) for line in CAPTURE.read_text().splitlines()]
    lines = []
    for n in range(RECORDS):
        if 500 <= n < 540:
            continue  # a stats gap: input loss while on air
        record = json.loads(json.dumps(template[n % len(template)]))
        record["sid"] = sid
        record["timepoint"] = (start + timedelta(seconds=n)).strftime("%Y-%m-%dT%H:%M:%S.%f+0000")
        record["time"] = (n + 1) * 1000
        if 200 <= n < 230:  # a loss burst
            record["recv"]["packetsLost"] = 30
        lines.append(json.dumps(record, separators=(",", ":")))
    return ("\n".join(lines) + "\n").encode()


def fixtures():
    from integrations.models import Anomaly, IngestBatch
    from retro.models import Event, Feed, Session

    event, _ = Event.objects.get_or_create(
        slug="bench-detection",
        defaults={"name": "Detection bench", "start": START, "end": START + timedelta(days=2)},
    )
    IngestBatch.objects.filter(event=event).delete()
    Anomaly.objects.filter(event=event).delete()
    session, _ = Session.objects.get_or_create(
        event=event,
        slug="all-day",
        defaults={
            "title": "All day",
            "day": START.date(),
            "scheduled_start": START,
            "scheduled_end": START + timedelta(days=1),
        },
    )
    feeds = []
    for i in range(2 * FEEDS):
        feed, _ = Feed.objects.get_or_create(
            event=event,
            slug=f"d{i:02}",
            defaults={"name": f"Feed {i}", "stage": "contribution", "session": session},
        )
        feeds.append(feed)
    from django.db import connection

    from integrations import storage

    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {storage.SAMPLE_TABLE}")
        cursor.execute("DELETE FROM integrations_telemetryrollup")
    return event, feeds


def store(event, feed, payload, detect: bool) -> tuple[float, int]:
    from django.test import override_settings

    from integrations import services
    from integrations.models import IngestBatch

    batch = IngestBatch.objects.create(event=event, feed=feed, format="srt-json", body=payload)
    with override_settings(TALLY_DETECT_ANOMALIES=detect):
        started = time.perf_counter()
        done = services.process_batch(batch_id=batch.pk)
        elapsed = time.perf_counter() - started
    assert done is not None and done.state == "done", done
    return elapsed, done.samples


def main() -> int:
    setup_django(DB_NAME)
    from integrations.models import Anomaly

    event, feeds = fixtures()
    off_feeds, on_feeds = feeds[:FEEDS], feeds[FEEDS:]
    totals = {False: [0.0, 0], True: [0.0, 0]}
    ratios, pair = [], {}  # per feed and round: time with detection / time without
    store(event, off_feeds[0], body(1, START - timedelta(hours=2)), False)  # warm-up
    for r in range(ROUNDS):
        start = START + timedelta(seconds=r * RECORDS)
        order = (False, True) if r % 2 == 0 else (True, False)
        for i in range(FEEDS):
            for detect in order:
                feed = (on_feeds if detect else off_feeds)[i]
                payload = body(900_000 + feed.pk * 10 + r, start)
                elapsed, samples = store(event, feed, payload, detect)
                totals[detect][0] += elapsed
                totals[detect][1] += samples
                pair[detect] = elapsed
            ratios.append(pair[True] / pair[False])
    rate = {mode: n / t for mode, (t, n) in totals.items()}
    total_slower = (totals[True][0] / totals[False][0] - 1) * 100
    slower = (statistics.median(ratios) - 1) * 100
    found = Anomaly.objects.filter(event=event, feed__in=on_feeds)
    print(
        f"  {totals[True][1]:,} samples per mode; anomalies on the detecting feeds: "
        f"{found.filter(kind='packet_loss').count()} packet loss, "
        f"{found.filter(kind='input_loss').count()} input loss "
        f"(expected {FEEDS * ROUNDS} each); none on the others: "
        f"{not Anomaly.objects.filter(feed__in=off_feeds).exists()}"
    )
    ok_rate = rate[True] >= 9_000
    report(
        "ingest with detection",
        rate[True],
        "samples/s",
        ">= 9,000 samples/s in one worker process",
        ok_rate,
        baseline=f"{rate[False]:,.0f} samples/s without detection",
    )
    report(
        "detection slowdown of ingest",
        slower,
        "%",
        "<= 10 %",
        slower <= 10,
        baseline=f"{totals[False][0]:.2f} s without vs {totals[True][0]:.2f} s with detection "
        f"in total ({total_slower:+.1f} %); the figure is the median of {len(ratios)} paired batches",
    )
    return 0 if ok_rate and slower <= 10 else 1


if __name__ == "__main__":
    sys.exit(main())
