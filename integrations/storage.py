"""Bulk storage of raw samples and their rollups, per database vendor.

PostgreSQL: a batch's rows go with one COPY into a session temp table (no index, no WAL), then
`INSERT ... SELECT` moves them into the day-partitioned table and one `INSERT ... SELECT
date_bin(...) ... GROUP BY ... ON CONFLICT DO UPDATE` folds them into the rollups
(least/greatest/sum+/count+), in key order so concurrent batches lock rollup rows in the same
order. Aggregating in SQL from the staged rows replaced a Python aggregation plus an
executemany of one upsert per bucket row, which cost more than parsing and COPY together.
SQLite: executemany, Python aggregation and the same upsert with min()/max(). Callers run these
inside the batch's transaction.
"""

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from django.db import connection, transaction

from .models import Metric

SAMPLE_TABLE = "integrations_telemetrysample"
STAGING_TABLE = "integrations_sample_staging"  # per-session temp table, PostgreSQL only
SAMPLE_COLUMNS = ("feed_id", "metric_id", "time", "value", "min", "max", "sum", "count")
COPY_TYPES = ("int8", "int2", "timestamptz", "float8", "float8", "float8", "float8", "float8")
ROLLUP_STEPS = (10, 60)  # PostgreSQL: spelled out in _ROLLUP_FROM_STAGING

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
    # Inside an outer transaction (a test, a management command's atomic block) the new
    # partition may still be rolled back: check every time instead of trusting the cache.
    durable = not connection.in_atomic_block
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
        if durable:
            _partitions.add(day)


def store_samples(rows: list[Row]) -> int:
    """Store raw sample rows and fold them into the rollups; return the rollup rows touched."""
    if not rows:
        return 0
    if connection.vendor != "postgresql":
        write_samples(rows)
        return upsert_rollups(rows)
    columns = ", ".join(SAMPLE_COLUMNS)
    with connection.cursor() as cursor:
        # ON COMMIT DELETE ROWS frees it between batches; the TRUNCATE matters when the batch
        # transaction is a savepoint in a longer one (then nothing commits in between).
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {STAGING_TABLE} (LIKE {SAMPLE_TABLE}) "
            "ON COMMIT DELETE ROWS"
        )
        cursor.execute(f"TRUNCATE {STAGING_TABLE}")
        # Binary COPY: psycopg's C dumpers skip formatting timestamps and floats as text
        # (about 3x less client time per row than text COPY).
        with cursor.cursor.copy(
            f"COPY {STAGING_TABLE} ({columns}) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(COPY_TYPES)
            for row in rows:
                copy.write_row(row)
        cursor.execute(
            f"INSERT INTO {SAMPLE_TABLE} ({columns}) SELECT {columns} FROM {STAGING_TABLE}"
        )
        cursor.execute(_ROLLUP_FROM_STAGING)
        return cursor.rowcount


# 10 s buckets from the staged rows, 1 min buckets from those (exact: 60 is a multiple of 10 and
# both are aligned on the epoch), so only the 10 s aggregation reads every row.
_ROLLUP_FROM_STAGING = f"""
WITH ten AS (
    SELECT feed_id, metric_id,
           date_bin(interval '10 seconds', time, timestamptz '1970-01-01 00:00:00+00') AS bucket,
           min(value) AS min, max(value) AS max, sum(value) AS sum, count(*) AS count
    FROM {STAGING_TABLE} GROUP BY 1, 2, 3
)
INSERT INTO integrations_telemetryrollup (feed_id, step, metric_id, bucket, min, max, sum, count)
SELECT * FROM (
    SELECT feed_id, 10, metric_id, bucket, min, max, sum, count FROM ten
    UNION ALL
    SELECT feed_id, 60, metric_id,
           date_bin(interval '60 seconds', bucket, timestamptz '1970-01-01 00:00:00+00'),
           min(min), max(max), sum(sum), sum(count)
    FROM ten GROUP BY 1, 3, 4
) buckets
ORDER BY 1, 2, 3, 4
ON CONFLICT (feed_id, step, metric_id, bucket) DO UPDATE SET
    min = least(integrations_telemetryrollup.min, excluded.min),
    max = greatest(integrations_telemetryrollup.max, excluded.max),
    sum = integrations_telemetryrollup.sum + excluded.sum,
    count = integrations_telemetryrollup.count + excluded.count
"""


def write_samples(rows: list[Row]) -> None:
    """Store raw sample rows with executemany (SQLite; PostgreSQL uses store_samples)."""
    columns = ", ".join(SAMPLE_COLUMNS)
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
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
    """Fold the rows into the 10 s and 1 min rollups in Python (SQLite); rows touched."""
    aggregates = rollup_rows(rows)
    if not aggregates:
        return 0
    sql = (
        "INSERT INTO integrations_telemetryrollup "
        "(feed_id, step, metric_id, bucket, min, max, sum, count) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (feed_id, step, metric_id, bucket) DO UPDATE SET "
        "min = min(integrations_telemetryrollup.min, excluded.min), "
        "max = max(integrations_telemetryrollup.max, excluded.max), "
        "sum = integrations_telemetryrollup.sum + excluded.sum, "
        "count = integrations_telemetryrollup.count + excluded.count"
    )
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
