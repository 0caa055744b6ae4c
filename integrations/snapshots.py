"""Frozen telemetry evidence for entries: the key metrics of an entry's feeds around its moment.

When an entry is logged, or its time, feeds or window change, the entry service
(retro.services.queue_telemetry_freeze) queues `tasks.snapshot_entry` after commit. The task
rebuilds the snapshot from what is stored now: raw samples for windows up to 2 h, 10 s rollups
beyond, downsampled to at most MAX_POINTS points per series, plus the anomalies overlapping the
window as spans. The result survives raw-sample retention and later telemetry edits; charts,
the board sparkline, the API and the PDF report all read it.
"""

import json
import math
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import F, FloatField, Q
from django.db.models.functions import Cast
from django.utils import timezone

from retro.models import Entry
from retro.services import MAX_TELEMETRY_WINDOW
from tally import charts

from . import selectors
from .formats import KEY_METRICS
from .models import (
    Anomaly,
    FeedTelemetryStatus,
    Metric,
    TelemetryRollup,
    TelemetrySample,
    TelemetrySnapshot,
)

MAX_WINDOW = MAX_TELEMETRY_WINDOW
RAW_UP_TO = timedelta(hours=2)
MAX_POINTS = 600
MAX_METRICS_PER_FEED = 8
MAX_FEEDS = 12
# Counters: a bucket keeps its largest value (a spike must survive downsampling); gauges: mean.
PEAK_UNITS = {"packets", "frames", "Count", "Seconds", "Percent", "%"}
KEY_ORDER = list(dict.fromkeys(name for names in KEY_METRICS.values() for name in names))


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def window_of(entry) -> tuple[datetime, datetime]:
    return (
        entry.occurred_at - timedelta(seconds=entry.window_before),
        entry.occurred_at + timedelta(seconds=entry.window_after),
    )


def _key_rank(name: str) -> int:
    base = name.split("/", 1)[0]
    return KEY_ORDER.index(base) if base in KEY_ORDER else -1


def feed_metrics(feeds) -> dict[int, list[Metric]]:
    """Feed id -> the key metrics it has reported, in KEY_METRICS order."""
    statuses = dict(
        FeedTelemetryStatus.objects.filter(feed__in=feeds).values_list("feed_id", "metric_ids")
    )
    wanted = {pk for ids in statuses.values() for pk in ids}
    metrics = {m.pk: m for m in Metric.objects.filter(pk__in=wanted)}
    out = {}
    for feed in feeds:
        found = [metrics[pk] for pk in statuses.get(feed.pk, []) if pk in metrics]
        found = [m for m in found if _key_rank(m.name) >= 0]
        found.sort(key=lambda m: (_key_rank(m.name), m.name))
        out[feed.pk] = found[:MAX_METRICS_PER_FEED]
    return out


def _rows(feed_ids: list[int], metric_ids: list[int], start: datetime, end: datetime):
    """(feed, metric, time text, value) of every wanted series in one query; PostgreSQL formats
    the times (parsing thousands of timestamps into datetimes costs more than the query)."""
    if end - start <= RAW_UP_TO:
        model, column, value = TelemetrySample, "time", F("value")
        rows = TelemetrySample.objects.filter(
            feed_id__in=feed_ids, metric_id__in=metric_ids, time__gte=start, time__lte=end
        )
    else:
        model, column, value = TelemetryRollup, "bucket", F("sum") / Cast("count", FloatField())
        rows = TelemetryRollup.objects.filter(
            feed_id__in=feed_ids,
            step=10,
            metric_id__in=metric_ids,
            bucket__gte=start,
            bucket__lte=end,
        )
    return rows.order_by("feed_id", "metric_id", column).values_list(
        "feed_id", "metric_id", selectors._point_time(model, column), value
    )


_PG_SERIES = """
SELECT feed_id, metric_id, count(*), json_agg(json_build_array(
    CASE WHEN date_trunc('second', {t}) = {t}
         THEN to_char({t} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
         ELSE to_char({t} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') END,
    CASE WHEN {v} IN ('NaN'::float8, 'Infinity'::float8, '-Infinity'::float8) THEN NULL
         ELSE round(({v})::numeric, 4) END
) ORDER BY {t})
FROM {table}
WHERE feed_id = ANY(%s) AND metric_id = ANY(%s) AND {t} >= %s AND {t} <= %s {extra}
GROUP BY feed_id, metric_id
"""


def _series_pg(feed_ids, metric_ids, start, end) -> dict[tuple[int, int], tuple[int, list]]:
    """PostgreSQL builds each series' JSON points itself: (feed, metric) -> (count, points)."""
    if end - start <= RAW_UP_TO:
        sql = _PG_SERIES.format(t="time", v="value", table=TelemetrySample._meta.db_table, extra="")
    else:
        sql = _PG_SERIES.format(
            t="bucket",
            v="sum / count",
            table=TelemetryRollup._meta.db_table,
            extra="AND step = 10",
        )
    out = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, [feed_ids, metric_ids, start, end])
        for feed_id, metric_id, count, points in cursor.fetchall():
            out[(feed_id, metric_id)] = (
                count,
                json.loads(points) if isinstance(points, str) else points,
            )
    return out


def _text(moment) -> str:
    return moment if isinstance(moment, str) else iso(moment)


def downsample(
    points: list, start: datetime, end: datetime, peak: bool, limit: int = MAX_POINTS
) -> list:
    """At most `limit` points: fixed buckets over the window, max or mean per bucket."""
    if len(points) <= limit:
        return points
    width = max((end - start).total_seconds() / limit, 1e-3)
    buckets: dict[int, list] = {}
    for moment, value in points:
        buckets.setdefault(int((moment - start).total_seconds() // width), []).append(
            (moment, value)
        )
    out = []
    for _, items in sorted(buckets.items()):
        values = [v for _, v in items]
        out.append((items[0][0], max(values) if peak else sum(values) / len(values)))
    return out


def _spans(feed_ids: list[int], start: datetime, end: datetime) -> dict[int, list[dict]]:
    rows = (
        Anomaly.objects.filter(feed_id__in=feed_ids, start__lte=end)
        .filter(Q(end__isnull=True) | Q(end__gte=start))
        .order_by("start")
    )
    out: dict[int, list[dict]] = {}
    for a in rows:
        out.setdefault(a.feed_id, []).append(
            {
                "start": iso(a.start),
                "end": iso(a.end) if a.end else None,
                "label": a.get_kind_display() + (f" ({a.key})" if a.kind == "alert" else ""),
                "kind": a.kind,
            }
        )
    return out


def build(entry) -> dict:
    """The snapshot content for an entry as telemetry stands now (not saved)."""
    start, end = window_of(entry)
    feeds = list(entry.feeds.order_by("slug")[:MAX_FEEDS])
    metrics = feed_metrics(feeds)
    spans = _spans([f.pk for f in feeds], start, end)
    wanted = {(f.pk, m.pk) for f in feeds for m in metrics.get(f.pk, [])}
    points: dict[tuple[int, int], list] = {key: [] for key in wanted}
    ready: dict[tuple[int, int], list] = {}
    if wanted and connection.vendor == "postgresql":
        metric_ids = sorted({m for _, m in wanted})
        for key, (count, found) in _series_pg(
            [f.pk for f in feeds], metric_ids, start, end
        ).items():
            if key not in wanted:
                continue
            if count <= MAX_POINTS:
                ready[key] = found
            else:
                points[key] = [(t, v) for t, v in found]
    elif wanted:
        metric_ids = sorted({m for _, m in wanted})
        for feed_id, metric_id, moment, value in _rows(
            [f.pk for f in feeds], metric_ids, start, end
        ):
            if (feed_id, metric_id) in points:
                points[(feed_id, metric_id)].append((_text(moment), value))
    out = []
    for feed in feeds:
        series = []
        for metric in metrics.get(feed.pk, []):
            if (feed.pk, metric.pk) in ready:  # PostgreSQL built the points
                series.append(
                    {
                        "metric": metric.name,
                        "unit": metric.unit,
                        "points": ready[(feed.pk, metric.pk)],
                    }
                )
                continue
            found = points[(feed.pk, metric.pk)]  # in time order (ORDER BY)
            if not found:
                continue
            if len(found) > MAX_POINTS:
                parsed = [(datetime.fromisoformat(t), v) for t, v in found]
                found = [
                    (iso(m), v)
                    for m, v in downsample(parsed, start, end, metric.unit in PEAK_UNITS)
                ]
            series.append(
                {
                    "metric": metric.name,
                    "unit": metric.unit,
                    "points": [[t, _round(v)] for t, v in found],
                }
            )
        out.append(
            {
                "feed": feed.slug,
                "name": feed.name,
                "transport": feed.transport,
                "series": series,
                "spans": spans.get(feed.pk, []),
            }
        )
    return {"window": {"start": iso(start), "end": iso(end)}, "feeds": out}


def _round(value: float) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(value, 4)


def _points(raw: list) -> list[tuple[datetime, float | None]]:
    return [(datetime.fromisoformat(t), v) for t, v in raw]


def sparkline_for(content: dict, marker: datetime) -> str:
    for feed in content["feeds"]:
        for one in feed["series"]:
            if one["points"]:
                return charts.sparkline(
                    _points(one["points"]),
                    marker=marker,
                    label=one["metric"],
                    unit=one.get("unit", ""),
                )
    return ""


def freeze(*, entry_id) -> TelemetrySnapshot | None:
    """Build and store (or replace) the entry's snapshot; None when the entry is gone."""
    entry = Entry.objects.filter(pk=entry_id).first()
    if entry is None:
        return None
    content = build(entry)
    has_data = any(feed["series"] for feed in content["feeds"])
    if not content["feeds"]:
        TelemetrySnapshot.objects.filter(entry=entry).delete()
        return None
    values = {
        "window_start": datetime.fromisoformat(content["window"]["start"]),
        "window_end": datetime.fromisoformat(content["window"]["end"]),
        "feeds": content["feeds"],
        "sparkline": sparkline_for(content, entry.occurred_at) if has_data else "",
        "has_data": has_data,
        "entry_version": entry.version,
        "created_at": timezone.now(),
    }
    for _ in range(2):  # two workers freezing the same entry: the second one updates
        try:
            with transaction.atomic():
                snapshot, _ = TelemetrySnapshot.objects.update_or_create(
                    entry=entry, defaults=values
                )
                return snapshot
        except IntegrityError:
            continue
    return TelemetrySnapshot.objects.filter(entry=entry).first()


def as_json(snapshot: TelemetrySnapshot | None, content: dict | None = None) -> dict:
    """The entry telemetry API body."""
    if snapshot is not None:
        return {
            "window": {"start": iso(snapshot.window_start), "end": iso(snapshot.window_end)},
            "frozen": True,
            "frozen_at": iso(snapshot.created_at),
            "feeds": snapshot.feeds,
        }
    return {**content, "frozen": False, "frozen_at": None}


def chart_svgs(
    entry,
    snapshot: TelemetrySnapshot | None = None,
    tz=None,
    *,
    max_feeds: int | None = None,
    max_metrics: int | None = None,
    width: int = 640,
    height: int = 170,
) -> list[dict]:
    """[{feed, name, svgs: [svg]}] for an entry's snapshot, its moment marked."""
    snapshot = snapshot or TelemetrySnapshot.objects.filter(entry=entry).first()
    if snapshot is None:
        return []
    tz = tz or entry.event.tz
    out = []
    feeds = [f for f in snapshot.feeds if f["series"]] if max_feeds else snapshot.feeds
    for feed in feeds[:max_feeds]:
        spans = [
            charts.Span(
                start=datetime.fromisoformat(s["start"]),
                end=datetime.fromisoformat(s["end"]) if s["end"] else None,
                label=s["label"],
            )
            for s in feed.get("spans", [])
        ]
        svgs = [
            charts.line_chart(
                title=f"{feed['feed']} · {one['metric']}",
                series=[charts.Series(one["metric"], one["unit"], _points(one["points"]))],
                start=snapshot.window_start,
                end=snapshot.window_end,
                tz=tz,
                marker=entry.occurred_at,
                marker_label="entry",
                spans=spans,
                width=width,
                height=height,
            )
            for one in feed["series"][:max_metrics]
        ]
        out.append({"feed": feed["feed"], "name": feed.get("name", ""), "svgs": svgs})
    return out
