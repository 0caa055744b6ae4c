"""Reads for telemetry: batches, the ingest page, and time series for a feed."""

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import CharField, F, FloatField, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast

from retro.models import Event, Feed
from tally.times import parse_instant

from .models import (
    Anomaly,
    FeedTelemetryStatus,
    IngestBatch,
    Metric,
    TelemetryRollup,
    TelemetrySample,
    UnmappedSource,
)

STEPS = {"raw": 0, "10s": 10, "1m": 60}
MAX_RAW_RANGE = timedelta(days=31)


@dataclass
class SeriesQuery:
    feed: Feed
    metrics: list[Metric]
    start: datetime
    end: datetime
    step: str


def parse_step(raw: str | None, start: datetime, end: datetime) -> str:
    """'raw', '10s' or '1m' from the step parameter (a name or a number of seconds)."""
    if raw in (None, ""):
        span = end - start
        return (
            "raw" if span <= timedelta(hours=2) else "10s" if span <= timedelta(hours=24) else "1m"
        )
    if raw in STEPS:
        return raw
    try:
        seconds = float(raw)
    except ValueError:
        raise ValidationError({"step": "Use raw, 10s, 1m or a number of seconds."}) from None
    if not seconds >= 0:
        raise ValidationError({"step": "Use raw, 10s, 1m or a number of seconds."})
    return "raw" if seconds < 10 else "10s" if seconds < 60 else "1m"


def parse_time(name: str, raw: str | None, default: datetime) -> datetime:
    """A time parameter of the telemetry endpoints (tally.times.parse_instant), or default."""
    return parse_instant(raw, name, default)


def feed_metrics(feed: Feed) -> list[Metric]:
    """Metrics the feed has reported, by name."""
    status = FeedTelemetryStatus.objects.filter(feed=feed).first()
    ids = status.metric_ids if status else []
    return list(Metric.objects.filter(pk__in=ids).order_by("name"))


def series_query(feed: Feed, params, now: datetime) -> SeriesQuery:
    """Validate the telemetry endpoint's parameters (400 naming the bad one)."""
    end = parse_time("end", params.get("end"), now)
    start = parse_time("start", params.get("start"), end - timedelta(hours=1))
    if end <= start:
        raise ValidationError({"end": "end must be after start."})
    step = parse_step(params.get("step"), start, end)
    if step == "raw" and end - start > MAX_RAW_RANGE:
        raise ValidationError({"step": "A raw series covers at most 31 days; use 10s or 1m."})
    names = [m for raw in params.getlist("metric") for m in raw.split(",") if m.strip()]
    if names:
        metrics = list(Metric.objects.filter(name__in=names))
        unknown = sorted(set(names) - {m.name for m in metrics})
        if unknown:
            raise ValidationError({"metric": f"Unknown metric: {', '.join(unknown)}."})
        metrics.sort(key=lambda m: m.name)
    else:
        metrics = feed_metrics(feed)
    return SeriesQuery(feed=feed, metrics=metrics, start=start, end=end, step=step)


def _time_text(column: str) -> str:
    """SQL for a timestamptz column as the API's time text (same text as `_iso`)."""
    utc = f"({column} AT TIME ZONE 'UTC')"
    return (
        f"CASE WHEN date_trunc('second', {column}) = {column} "
        f"""THEN to_char({utc}, 'YYYY-MM-DD"T"HH24:MI:SS"Z"') """
        f"""ELSE to_char({utc}, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') END"""
    )


def _point_time(model, column: str):
    """The column as the API's time text; formatted by PostgreSQL there.

    Django's time-zone-aware timestamptz loader is pure Python: parsing thousands of times into
    datetimes only to format them back cost several times the query itself.
    """
    if connection.vendor != "postgresql":
        return column
    sql = _time_text(f'"{model._meta.db_table}"."{column}"')
    return RawSQL(sql, [], output_field=CharField())


# A raw window on PostgreSQL: one row per metric, its points already as JSON (one json.loads in
# C instead of ~4,600 rows through the ORM for a +-5 min window of 20 metrics).
_RAW_SERIES_PG = f"""
SELECT metric_id, json_agg(json_build_array({_time_text("time")}, value) ORDER BY time)::text
FROM integrations_telemetrysample
WHERE feed_id = %s AND metric_id = ANY(%s) AND time >= %s AND time < %s
GROUP BY metric_id
"""


def _iso(moment: datetime | str) -> str:
    if isinstance(moment, str):
        return moment
    return moment.isoformat().replace("+00:00", "Z")


def series(query: SeriesQuery) -> list[dict]:
    """[{metric, unit, points: [[time, value], ...]}]; gaps stay gaps (no filling)."""
    by_id = {m.pk: {"metric": m.name, "unit": m.unit, "points": []} for m in query.metrics}
    if not by_id:
        return []
    if query.step == "raw" and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_RAW_SERIES_PG, [query.feed.pk, list(by_id), query.start, query.end])
            for metric_id, points in cursor.fetchall():
                by_id[metric_id]["points"] = json.loads(points)
        return list(by_id.values())
    if query.step == "raw":
        rows = (
            TelemetrySample.objects.filter(
                feed_id=query.feed.pk,
                metric_id__in=list(by_id),
                time__gte=query.start,
                time__lt=query.end,
            )
            .order_by("metric_id", "time")
            .values_list("metric_id", _point_time(TelemetrySample, "time"), "value")
        )
    else:
        rows = (
            TelemetryRollup.objects.filter(
                feed_id=query.feed.pk,
                step=STEPS[query.step],
                metric_id__in=list(by_id),
                bucket__gte=query.start,
                bucket__lt=query.end,
            )
            .order_by("metric_id", "bucket")
            .values_list(
                "metric_id",
                _point_time(TelemetryRollup, "bucket"),
                F("sum") / Cast("count", FloatField()),
            )
        )
    for metric_id, moment, value in rows:
        by_id[metric_id]["points"].append([_iso(moment), value])
    return list(by_id.values())


def batches_for_event(event: Event) -> QuerySet[IngestBatch]:
    return IngestBatch.objects.filter(event=event).defer("body").select_related("feed")


def ingest_page(event: Event) -> dict:
    """What the ingest page shows: recent and quarantined batches, unknown sources, keys."""
    batches = batches_for_event(event)
    return {
        "recent": list(batches.order_by("-received_at")[:50]),
        "quarantined": list(
            batches.filter(state__in=["quarantined", "failed"]).order_by("-received_at")[:50]
        ),
        "unmapped": list(UnmappedSource.objects.filter(event=event)[:200]),
        "keys": list(event.ingest_keys.all()),
        "feeds": list(event.feeds.order_by("slug").only("pk", "slug", "name")),
    }


def feeds_with_anomalies(feeds: QuerySet[Feed]) -> set[int]:
    """Those of the feeds that had an anomaly (retro.hooks.anomaly_feeds: the recurrence of a
    place across events of the chain)."""
    return set(
        Anomaly.objects.filter(feed__in=feeds)
        .order_by()
        .values_list("feed_id", flat=True)
        .distinct()
    )
