"""Feed page for a whole 12 h day (1 min rollups): server time p95 <= 300 ms.

Scratch PostgreSQL database ``bench_feed_page``: one event, one SRT feed whose keynote is on air
two hours of the day, 8 key SRT metrics with 10 s and 1 min rollups for 2026-11-26 08:00-20:00
UTC (4,320 + 720 buckets per metric, built with generate_series), one hour of raw 1 Hz samples
(13:00-14:00), 40 anomalies and 60 entries on the feed. Requests go through Django's test client
(the whole view: access check, queries, SVG drawing, template) as a signed-in lead; 10 warm-up
then 100 timed requests per case. Baseline in the same run: the same page zoomed to one hour of
raw samples.
"""

import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import percentile, report, setup_django

from integrations.formats import KEY_METRICS

DB_NAME = "bench_feed_page"
METRICS = KEY_METRICS["srt"]  # the charts the feed page draws for an SRT feed
DAY = (datetime.now(UTC) - timedelta(days=1)).replace(hour=8, minute=0, second=0, microsecond=0)
WARMUP, RUNS = 10, 100


def fixtures():
    from django.contrib.auth import get_user_model
    from django.db import connection

    from integrations import storage
    from integrations.formats.srt import METRICS as SRT
    from integrations.models import Anomaly, FeedTelemetryStatus, Metric, TelemetryRollup
    from retro.models import Entry, Event, Feed, Session

    event, _ = Event.objects.get_or_create(
        slug="bench-feed-page",
        defaults={"name": "Feed page bench", "start": DAY, "end": DAY + timedelta(hours=12)},
    )
    session, _ = Session.objects.get_or_create(
        event=event,
        slug="kn",
        defaults={
            "title": "Keynote",
            "day": DAY.date(),
            "scheduled_start": DAY + timedelta(hours=5),
            "scheduled_end": DAY + timedelta(hours=7),
        },
    )
    feed, _ = Feed.objects.get_or_create(
        event=event,
        slug="kn-contrib-a",
        defaults={"name": "A", "stage": "contribution", "session": session},
    )
    user = get_user_model().objects.filter(
        username="bench-lead"
    ).first() or get_user_model().objects.create_user("bench-lead", is_staff=True)
    Metric.objects.bulk_create(
        [Metric(name=n, unit=SRT[n][0]) for n in METRICS], ignore_conflicts=True
    )
    ids = list(Metric.objects.filter(name__in=METRICS).values_list("pk", flat=True))
    FeedTelemetryStatus.objects.update_or_create(
        feed=feed, defaults={"metric_ids": sorted(ids), "last_sample_at": DAY + timedelta(hours=12)}
    )
    if not TelemetryRollup.objects.filter(feed=feed).exists():
        storage.ensure_partitions([DAY.date()])
        with connection.cursor() as cursor:
            for step in (10, 60):
                cursor.execute(
                    """INSERT INTO integrations_telemetryrollup
                       (feed_id, step, metric_id, bucket, min, max, sum, count)
                       SELECT %s, %s, m, %s::timestamptz + make_interval(secs => b * %s),
                              v, v, v * %s, %s
                       FROM unnest(%s::int[]) AS m, generate_series(0, %s - 1) AS b,
                            LATERAL (SELECT random() * 100 + m * 0 + b * 0 AS v) AS r""",
                    [feed.pk, step, DAY, step, step, step, ids, 12 * 3600 // step],
                )
            cursor.execute(
                f"""INSERT INTO {storage.SAMPLE_TABLE} (feed_id, metric_id, time, value)
                   SELECT %s, m, %s::timestamptz + make_interval(secs => s), random() * 100
                   FROM unnest(%s::int[]) AS m, generate_series(0, 3599) AS s""",
                [feed.pk, DAY + timedelta(hours=5), ids],
            )
        Anomaly.objects.bulk_create(
            [
                Anomaly(
                    event=event,
                    feed=feed,
                    kind="packet_loss",
                    key="recv.packetsLost",
                    source="detector",
                    start=DAY + timedelta(minutes=17 * i),
                    end=DAY + timedelta(minutes=17 * i, seconds=40),
                    peak=5.0,
                )
                for i in range(40)
            ]
        )
        for i in range(60):
            entry = Entry.objects.create(
                event=event,
                kind="learning",
                body=f"note {i}",
                occurred_at=DAY + timedelta(minutes=12 * i),
            )
            entry.feeds.add(feed)
    return event, feed, user


def timed(client, url: str, params: dict) -> list[float]:
    out = []
    for i in range(WARMUP + RUNS):
        started = time.perf_counter()
        response = client.get(url, params)
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, response.status_code
        if i >= WARMUP:
            out.append(elapsed)
    return out


def main() -> int:
    setup_django(DB_NAME)
    from django.test import Client

    event, feed, user = fixtures()
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    url = f"/events/{event.slug}/telemetry/{feed.slug}/"
    day = {"start": DAY.isoformat(), "end": (DAY + timedelta(hours=12)).isoformat()}
    hour = {
        "start": (DAY + timedelta(hours=5)).isoformat(),
        "end": (DAY + timedelta(hours=6)).isoformat(),
    }
    page = client.get(url, day).content.decode()
    assert "1m rollups" in page, page[:3000]
    assert page.count('class="chart"') == len(METRICS), page.count('class="chart"')
    day_times = timed(client, url, day)
    hour_times = timed(client, url, hour)
    p95 = percentile(day_times, 95)
    print(f"  12 h day: p50 {percentile(day_times, 50):.1f} ms, p95 {p95:.1f} ms, {RUNS} requests")
    ok = p95 <= 300
    report(
        "feed page, 12 h day of 1 min rollups, server time p95",
        p95,
        "ms",
        "<= 300 ms",
        ok,
        baseline=f"p95 {percentile(hour_times, 95):.1f} ms for one hour (10 s rollups)",
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
