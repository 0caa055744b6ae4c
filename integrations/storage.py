"""Bulk storage of raw samples and their rollups, per database vendor.

PostgreSQL: samples go in with one COPY into the day-partitioned parent table; rollups with
one INSERT ... ON CONFLICT DO UPDATE per bucket row (least/greatest/sum+/count+), sorted so
concurrent batches lock rollup rows in the same order. SQLite: executemany and the same upsert
with min()/max(). Callers run these inside the batch's transaction.
"""

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from django.db import connection, transaction

from .models import Metric

SAMPLE_TABLE = "integrations_telemetrysample"
SAMPLE_COLUMNS = ("feed_id", "metric_id", "time", "value", "min", "max", "sum", "count")
ROLLUP_STEPS = (10, 60)

# One sample row: (feed_id, metric_id, time, value, min, max, sum, count)
Row = tuple[int, int, datetime, float, float | None, float | None, float | None, float | None]

_partitions: set[date] = set()


def metric_ids(units: dict[str, str]) -> dict[str, int]:
    """Ids of the named metrics, creating the missing ones (unit taken from the first report).

    Looked up per batch (one small query), not cached: ids must stay right if rows go away.
    """
    found = dict(Metric.objects.filter(name__in=list(units)).values_list("name", "id"))
    missing = [name for name in units if name not in found]
    if missing:
        Metric.objects.bulk_create(
            [Metric(name=name, unit=units[name][:32]) for name in missing], ignore_conflicts=True
        )
        found.update(Metric.objects.filter(name__in=missing).values_list("name", "id"))
    return found


def forget_cached_ids() -> None:
    """Forget which partitions exist (after a prune or a failed batch)."""
    _partitions.clear()


def partition_name(day: date) -> str:
    return f"{SAMPLE_TABLE}_p{day:%Y%m%d}"


def ensure_partitions(days: Iterable[date]) -> None:
    """Create the day partitions the rows need (PostgreSQL), each in its own short transaction.

    Run before the batch transaction: CREATE TABLE ... PARTITION OF locks the parent, which
    must not happen while this worker holds row locks other workers wait on.
    """
    if connection.vendor != "postgresql":
        return
    for day in sorted(set(days) - _partitions):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [SAMPLE_TABLE])
            cursor.execute("SELECT to_regclass(%s)", [partition_name(day)])
            if cursor.fetchone()[0] is None:
                start = datetime(day.year, day.month, day.day, tzinfo=UTC)
                cursor.execute(
                    f"CREATE TABLE {partition_name(day)} PARTITION OF {SAMPLE_TABLE} "
                    "FOR VALUES FROM (%s) TO (%s)",
                    [start, start + timedelta(days=1)],
                )
        _partitions.add(day)


def write_samples(rows: list[Row]) -> None:
    """Store raw sample rows in one bulk operation."""
    if not rows:
        return
    columns = ", ".join(SAMPLE_COLUMNS)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            raw = cursor.cursor  # the psycopg 3 cursor under Django's wrapper
            with raw.copy(f"COPY {SAMPLE_TABLE} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            adapt = connection.ops.adapt_datetimefield_value
            cursor.executemany(
                f"INSERT INTO {SAMPLE_TABLE} ({columns}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                [(r[0], r[1], adapt(r[2]), *r[3:]) for r in rows],
            )


def rollup_rows(rows: list[Row]) -> list[tuple]:
    """Aggregate sample rows into (feed, step, metric, bucket, min, max, sum, count), sorted."""
    buckets: dict[tuple, list[float]] = {}
    for feed_id, metric_id, moment, value, *_ in rows:
        seconds = int(moment.timestamp())
        for step in ROLLUP_STEPS:
            key = (feed_id, step, metric_id, seconds - seconds % step)
            agg = buckets.get(key)
            if agg is None:
                buckets[key] = [value, value, value, 1]
            else:
                if value < agg[0]:
                    agg[0] = value
                if value > agg[1]:
                    agg[1] = value
                agg[2] += value
                agg[3] += 1
    return [
        (feed, step, metric, datetime.fromtimestamp(start, UTC), *agg)
        for (feed, step, metric, start), agg in sorted(buckets.items())
    ]


def upsert_rollups(rows: list[Row]) -> int:
    """Fold the rows into the 10 s and 1 min rollups; return how many bucket rows were touched."""
    aggregates = rollup_rows(rows)
    if not aggregates:
        return 0
    pg = connection.vendor == "postgresql"
    low, high = ("least", "greatest") if pg else ("min", "max")
    sql = (
        "INSERT INTO integrations_telemetryrollup "
        "(feed_id, step, metric_id, bucket, min, max, sum, count) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (feed_id, step, metric_id, bucket) DO UPDATE SET "
        f"min = {low}(integrations_telemetryrollup.min, excluded.min), "
        f"max = {high}(integrations_telemetryrollup.max, excluded.max), "
        "sum = integrations_telemetryrollup.sum + excluded.sum, "
        "count = integrations_telemetryrollup.count + excluded.count"
    )
    if not pg:
        adapt = connection.ops.adapt_datetimefield_value
        aggregates = [(a[0], a[1], a[2], adapt(a[3]), *a[4:]) for a in aggregates]
    with connection.cursor() as cursor:
        cursor.executemany(sql, aggregates)
    return len(aggregates)


def prune_raw(before: datetime) -> int:
    """Drop raw samples older than `before` (whole day partitions on PostgreSQL)."""
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.execute(
                f"DELETE FROM {SAMPLE_TABLE} WHERE time < %s",
                [connection.ops.adapt_datetimefield_value(before)],
            )
            return cursor.rowcount
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s",
            [SAMPLE_TABLE],
        )
        dropped = 0
        for (name,) in cursor.fetchall():
            day = datetime.strptime(name[-8:], "%Y%m%d").replace(tzinfo=UTC)
            if day + timedelta(days=1) <= before:
                cursor.execute(f"DROP TABLE {name}")
                _partitions.discard(day.date())
                dropped += 1
        return dropped
