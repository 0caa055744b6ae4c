"""Bulk storage of raw samples and their rollups, per database vendor.

PostgreSQL: a batch's rows are encoded once as binary COPY data (column arrays written into a
row template with strided slice assignment, no per-row Python call) and go with one COPY
straight into the day-partitioned table; their 10 s and 1 min aggregates, folded in Python in
one pass (about a tenth of the rows), go by a second small binary COPY straight into the
rollup table (the buckets wholly inside the batch's new time range), and one
`INSERT ... SELECT ... ON CONFLICT DO UPDATE` from a temp table adds the edge buckets
(least/greatest/sum+/count+), in key order so concurrent batches lock rollup rows in the same
order. That replaced a COPY of every row into a temp table and a GROUP BY in SQL (measured:
about 50 ms of server time per 38,000-row batch for ~13 ms of Python). A batch whose keys may
exist already is staged whole in a temp table and merged (_merge_staging). An executemany of
one upsert per bucket row, earlier, cost more than parsing and COPY together; an
`INSERT ... SELECT` from a temp table into the partitioned table costs more than a COPY.
SQLite: executemany, Python aggregation and the same upsert with min()/max(). Callers run these
inside the batch's transaction.
"""

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple

import django
import numpy as np
import psycopg
from django.db import connection, transaction

from .models import Metric

SAMPLE_TABLE = "integrations_telemetrysample"
STAGING_TABLE = "integrations_sample_staging"  # per-session temp table, PostgreSQL only
SAMPLE_COLUMNS = ("feed_id", "metric_id", "time", "value", "min", "max", "sum", "count")
COPY_TYPES = ("int8", "int2", "timestamptz", "float8", "float8", "float8", "float8", "float8")
ROLLUP_STEPS = (10, 60)  # PostgreSQL: spelled out in rollup_buckets and _ROLLUP_RECOMPUTE
ROLLUP_TABLE = "integrations_telemetryrollup"
ROLLUP_STAGING_TABLE = "integrations_rollup_staging"  # per-session temp table, PostgreSQL only
ROLLUP_COLUMNS = ("feed_id", "step", "metric_id", "bucket", "min", "max", "sum", "count")

# One sample row: (feed_id, metric_id, time, value, min, max, sum, count)
Row = tuple[int, int, datetime, float, float | None, float | None, float | None, float | None]
# The same rows as columns: feed ids, metric ids, times, values, and per row the CloudWatch
# (min, max, sum, count) or None; `stats` itself is None when no row has any.
Columns = tuple[
    Sequence[int],
    Sequence[int],
    Sequence[datetime],
    Sequence[float],
    Sequence[tuple | None] | None,
]

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


def relax_commit() -> None:
    """Let the current batch transaction commit without waiting for its WAL flush (PostgreSQL).

    Safe for the batch transaction only: the samples, rollups and the batch's change from
    pending to done commit together, so a crash that loses an unflushed commit loses all of it
    and the batch is still pending, which the sweeper re-queues. The request that accepted the
    batch (stored body, 202) commits synchronously as before, and any later synchronous commit
    flushes the WAL before it, this one included.
    """
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")


class Stored(NamedTuple):
    """What storing a batch's samples did, per (feed, metric, time) key.

    new: keys not stored before; replaced: keys stored before with another value (the later
    batch wins); duplicates: keys stored before with the same value (nothing written).
    """

    new: int = 0
    replaced: int = 0
    duplicates: int = 0


def store_samples(rows: list[Row]) -> Stored:
    """Store raw sample rows, each key once, and fold them into the rollups."""
    if not rows:
        return Stored()
    feeds, metrics, times, values, *stats = zip(*rows, strict=True)
    if any(x is not None for x in stats[0]):
        stats = [None if r[4] is None else tuple(r[4:]) for r in rows]
    else:
        stats = None
    return store_columns((feeds, metrics, times, values, stats))


def store_columns(
    columns: Columns, ranges: Sequence[tuple[datetime, datetime]] = (), *, merge: bool = True
) -> Stored | None:
    """Store sample columns, each (feed, metric, time) once, and keep the rollups exact.

    A key repeated within the columns keeps its last value. The feeds are locked for the rest
    of the transaction (concurrent batches of one feed store one after the other). A batch
    whose time range holds no stored sample of its feeds and metrics, the usual case, is
    written with one COPY and its rollups added; otherwise it is merged (INSERT ... ON
    CONFLICT DO UPDATE, identical rows skipped) and the minutes it touched are re-aggregated
    from the raw rows, so replaced values leave no trace in sums, counts, minima or maxima.

    `ranges`, (first, last) time ranges that hold all the rows, narrow that check: batches
    stored together (services.process_waiting_batches) are checked batch by batch, so another
    worker's batch stored between two of them is no overlap. By default, the rows' whole range.
    With `merge` False, rows that cannot all go by that one COPY are not merged: nothing is
    written and None is returned (PostgreSQL).
    """
    if not columns[0]:
        return Stored()
    if connection.vendor != "postgresql":
        lock_feeds(set(columns[0]))
        columns, repeats = last_per_key(columns)
        return _store_sqlite(columns, repeats)
    # Encoded and aggregated before the feeds are locked: another worker storing a batch of
    # the same feeds (a remote write spans them all) waits only for the database's work.
    micros = _micros(columns[2])
    hull = [(min(micros), max(micros))]
    data = copy_data(columns, micros)
    buckets = rollup_buckets(columns, micros)
    lock_feeds(set(columns[0]))
    # The whole range first: when it is free, so is every bucket inside it. Else, with
    # `ranges`, only theirs must be.
    spans = hull
    overlap = _overlaps(columns, hull)
    if overlap and ranges:
        spans = _spans(ranges)
        overlap = _overlaps(columns, spans)
    copy = f"COPY %s ({', '.join(SAMPLE_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
    with connection.cursor() as cursor:
        # No overlap: the rows go straight into the partitioned table and their 10 s / 1 min
        # aggregates (a tenth of the rows) are added to the rollups. A key repeated within the
        # batch fails that COPY: then, as with an overlap, the rows are staged and merged.
        if not overlap and _copy_new(cursor.cursor, copy % SAMPLE_TABLE, data):
            _add_rollups(cursor, buckets, spans)
            return Stored(len(columns[0]))
        if not merge:
            return None
        _temp_table(cursor, STAGING_TABLE, SAMPLE_TABLE)
        with cursor.cursor.copy(copy % STAGING_TABLE) as stream:
            stream.write(data)
        return _merge_staging(cursor)


def _temp_table(cursor, name: str, like: str) -> None:
    """An empty per-session temp table shaped like `like` (PostgreSQL).

    ON COMMIT DELETE ROWS frees it between batches; the TRUNCATE matters when the batch
    transaction is a savepoint in a longer one (then nothing commits in between).
    """
    cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {name} (LIKE {like}) ON COMMIT DELETE ROWS")
    cursor.execute(f"TRUNCATE {name}")


def _spans(ranges: Sequence[tuple[datetime, datetime]]) -> list[tuple[int, int]]:
    """Time ranges as sorted, disjoint (first, last) spans in _micros."""
    spans: list[list[int]] = []
    for first, last in sorted(
        zip(_micros([r[0] for r in ranges]), _micros([r[1] for r in ranges]), strict=True)
    ):
        if spans and first <= spans[-1][1] + 1:
            spans[-1][1] = max(spans[-1][1], last)
        else:
            spans.append([first, last])
    return [(first, last) for first, last in spans]


def _add_rollups(cursor, buckets: np.ndarray, spans: list[tuple[int, int]]) -> None:
    """Add a batch's 10 s and 1 min aggregates (rollup_buckets) to the rollups, in key order
    (concurrent batches lock rollup rows in the same order).

    Called only when no stored sample of the batch's feeds and metrics lies in its `spans`
    (first and last sample of each, _spans), with the feeds locked: a bucket wholly inside
    one of them has no rollup row yet, so those (nearly all) go by one binary COPY straight into
    the rollup table, and only the buckets at the edges are staged (binary COPY into a temp
    table) and upserted. Staging every bucket cost about twice the server time per SRT batch;
    upserting the edges from arrays instead cost more Python (psycopg dumps arrays element by
    element) than the staging, when a short remote write makes every bucket an edge.
    """
    start, end = buckets["bucket"], buckets["bucket"] + buckets["step"] * 1_000_000
    inside = np.zeros(len(buckets), dtype=bool)
    for first, last in spans:
        inside |= (start >= first) & (end <= last + 1)
    edges = buckets[~inside]
    if inside.any() and not _copy_new(
        cursor.cursor, _ROLLUP_COPY, _rollup_copy_data(buckets[inside])
    ):
        # A bucket row without raw samples left (raw pruned, rollups kept): merge them all.
        edges = buckets
    if len(edges):  # staged by binary COPY: a remote write of a few seconds is all edges
        _temp_table(cursor, ROLLUP_STAGING_TABLE, ROLLUP_TABLE)
        columns = ", ".join(ROLLUP_COLUMNS)
        with cursor.cursor.copy(
            f"COPY {ROLLUP_STAGING_TABLE} ({columns}) FROM STDIN (FORMAT BINARY)"
        ) as stream:
            stream.write(_rollup_copy_data(edges))
        cursor.execute(_ROLLUP_ADD_EDGES)


def _copy_new(raw_cursor, copy: str, data: bytes) -> bool:
    """COPY the rows into the sample table in a savepoint; False, with nothing written, when
    one of their keys exists (psycopg cursor: the error never reaches Django's wrapper)."""
    raw_cursor.execute("SAVEPOINT tally_copy_samples")
    try:
        with raw_cursor.copy(copy) as stream:
            stream.write(data)
    except psycopg.errors.UniqueViolation:
        raw_cursor.execute("ROLLBACK TO SAVEPOINT tally_copy_samples")
        return False
    raw_cursor.execute("RELEASE SAVEPOINT tally_copy_samples")
    return True


def last_per_key(columns: Columns) -> tuple[Columns, tuple[int, int]]:
    """The columns with each (feed, metric, time) once, its last value kept; and how many
    earlier rows were dropped (replaced: another value, duplicates: the same one)."""
    feeds, metrics, times, values, stats = columns
    keys = list(zip(feeds, metrics, times, strict=True))
    last = dict(zip(keys, range(len(keys)), strict=True))
    if len(last) == len(keys):
        return columns, (0, 0)
    replaced = duplicates = 0
    for i, key in enumerate(keys):
        j = last[key]
        if j != i:
            same = values[i] == values[j] and (stats is None or stats[i] == stats[j])
            duplicates += same
            replaced += not same
    kept = sorted(last.values())
    picked = tuple([column[i] for i in kept] for column in (feeds, metrics, times, values))
    return (*picked, [stats[i] for i in kept] if stats else None), (replaced, duplicates)


_FEED_LOCK_CLASS = 0x7A11  # advisory lock namespace (classid) for "this feed's samples"


def lock_feeds(feed_ids: set[int]) -> None:
    """Lock the feeds' samples until the transaction ends, in id order (PostgreSQL).

    Two workers storing overlapping batches of a feed then merge one after the other: the
    overlap check and the merge see every sample committed before. SQLite has one writer.
    """
    if connection.vendor != "postgresql" or not feed_ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_advisory_xact_lock(%s, f)) FROM "
            "(SELECT f FROM unnest(%s::int[]) AS f ORDER BY f) AS feeds",
            [_FEED_LOCK_CLASS, sorted(feed_ids)],
        )


def _overlaps(columns: Columns, spans: list[tuple[int, int]]) -> bool:
    """True when a stored sample of these feeds and metrics lies in one of the spans (_spans).

    Coarse (the spans for all of them) but sound: False means no key can already exist.
    """
    feeds, metrics = columns[0], columns[1]
    within = " OR ".join(["time BETWEEN %s AND %s"] * len(spans))
    bounds = [_PG_EPOCH + timedelta(microseconds=m) for span in spans for m in span]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {SAMPLE_TABLE} WHERE feed_id = ANY(%s) AND metric_id = ANY(%s) "
            f"AND ({within}) LIMIT 1",
            [sorted(set(feeds)), sorted(set(metrics)), *bounds],
        )
        return cursor.fetchone() is not None


_SAME_KEY = "t.feed_id = s.feed_id AND t.metric_id = s.metric_id AND t.time = s.time"


_SAME_VALUES = (
    "t.value = s.value AND t.min IS NOT DISTINCT FROM s.min AND t.max IS NOT DISTINCT FROM s.max "
    "AND t.sum IS NOT DISTINCT FROM s.sum AND t.count IS NOT DISTINCT FROM s.count"
)


def _merge_staging(cursor) -> Stored:
    """Merge the staged rows into the sample table; re-aggregate the minutes they touch.

    A key repeated within the batch keeps its last row: the staging table is emptied and
    filled by one COPY per batch, so physical order (ctid) is the batch's order.
    """
    repeats = []
    for same in (f"AND {_SAME_VALUES}", ""):  # earlier copies: identical, then the others
        cursor.execute(
            f"DELETE FROM {STAGING_TABLE} s USING {STAGING_TABLE} t "
            f"WHERE {_SAME_KEY} AND s.ctid < t.ctid {same}"
        )
        repeats.append(cursor.rowcount)
    cursor.execute(
        f"DELETE FROM {STAGING_TABLE} s USING {SAMPLE_TABLE} t WHERE {_SAME_KEY} AND {_SAME_VALUES}"
    )
    duplicates = cursor.rowcount + repeats[0]
    cursor.execute(f"SELECT count(*) FROM {STAGING_TABLE} s JOIN {SAMPLE_TABLE} t ON {_SAME_KEY}")
    replaced = cursor.fetchone()[0]
    columns = ", ".join(SAMPLE_COLUMNS)
    cursor.execute(
        f"INSERT INTO {SAMPLE_TABLE} ({columns}) SELECT {columns} FROM {STAGING_TABLE} "
        "ORDER BY feed_id, metric_id, time "
        "ON CONFLICT (feed_id, metric_id, time) DO UPDATE SET value = excluded.value, "
        "min = excluded.min, max = excluded.max, sum = excluded.sum, count = excluded.count"
    )
    written = cursor.rowcount
    if written:
        cursor.execute(_ROLLUP_RECOMPUTE)
    return Stored(written - replaced, replaced + repeats[1], duplicates)


_PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, header extension
_COPY_TRAILER = b"\xff\xff"


def _copy_row(*fields: tuple[str, str | None]) -> np.ndarray:
    """One binary COPY row layout as a packed big-endian numpy record, filled but for the
    values: the field count, then per field its byte length and value (NULL: length -1 and no
    value; `fields` gives a column name and numpy type, or None for a NULL)."""
    parts: list[tuple[str, str]] = [("fields", ">i2")]
    lengths = {}
    for index, (name, code) in enumerate(fields):
        parts.append((f"length{index}", ">i4"))
        if code is None:
            lengths[f"length{index}"] = -1
        else:
            parts.append((name, code))
            lengths[f"length{index}"] = np.dtype(code).itemsize
    template = np.zeros(1, np.dtype(parts))
    template["fields"] = len(fields)
    for name, length in lengths.items():
        template[name] = length
    return template


_SAMPLE_VALUES = (("feed_id", ">i8"), ("metric_id", ">i2"), ("time", ">i8"), ("value", ">f8"))
_ROW_NO_STATS = _copy_row(
    *_SAMPLE_VALUES, ("min", None), ("max", None), ("sum", None), ("count", None)
)
_ROW_STATS = _copy_row(
    *_SAMPLE_VALUES, ("min", ">f8"), ("max", ">f8"), ("sum", ">f8"), ("count", ">f8")
)
_ROLLUP_ROW = _copy_row(
    ("feed_id", ">i8"),
    ("step", ">i2"),
    ("metric_id", ">i2"),
    ("bucket", ">i8"),
    ("min", ">f8"),
    ("max", ">f8"),
    ("sum", ">f8"),
    ("count", ">i4"),
)


def _micros(times: Sequence[datetime]) -> list[int]:
    """PostgreSQL timestamptz values (microseconds since 2000-01-01 UTC), one per time.

    Converted once per distinct time (a record's samples share theirs).
    """
    micros = {}
    for moment in set(times):
        delta = moment - _PG_EPOCH
        micros[moment] = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return list(map(micros.__getitem__, times))


def _copy_stream(template: np.ndarray, columns: dict) -> bytes:
    """Rows of one layout (`template`: _copy_row) with each named column's values written in
    (numpy converts and byte-swaps a whole column at once), as one binary COPY stream.

    A value that does not fit its column's type (a metric id past int2) raises OverflowError.
    """
    rows = np.repeat(template, len(next(iter(columns.values()))))
    for name, values in columns.items():
        if not isinstance(values, np.ndarray):  # checked against the column's range
            values = np.array(values, dtype=rows.dtype[name].newbyteorder("="))
        rows[name] = values
    return b"".join((_COPY_HEADER, rows.tobytes(), _COPY_TRAILER))


def copy_data(columns: Columns, micros: list[int] | None = None) -> bytes:
    """The rows as one PostgreSQL binary COPY stream (SAMPLE_COLUMNS, COPY_TYPES); `micros`
    are the times as _micros gives them, when the caller has them already."""
    feeds, metrics, times, values, stats = columns
    micros = _micros(times) if micros is None else micros
    named = {"feed_id": feeds, "metric_id": metrics, "time": micros, "value": values}
    if stats is None or not any(stats):
        return _copy_stream(_ROW_NO_STATS, named)
    plain = [i for i, s in enumerate(stats) if s is None]
    full = [i for i, s in enumerate(stats) if s is not None]
    parts = []
    for template, picked in ((_ROW_NO_STATS, plain), (_ROW_STATS, full)):
        if picked:
            cols = {name: [column[i] for i in picked] for name, column in named.items()}
            if template is _ROW_STATS:
                for k, name in enumerate(("min", "max", "sum", "count")):
                    cols[name] = [float(stats[i][k]) for i in picked]
            parts.append(_copy_stream(template, cols)[len(_COPY_HEADER) : -len(_COPY_TRAILER)])
    return b"".join((_COPY_HEADER, *parts, _COPY_TRAILER))


_TEN_S, _ONE_MIN = 10_000_000, 60_000_000  # bucket widths in microseconds
# A batch's rollup rows (ROLLUP_COLUMNS, the bucket in _micros), as rollup_buckets gives them.
BUCKETS = np.dtype(
    [
        ("feed_id", "i8"),
        ("step", "i8"),
        ("metric_id", "i8"),
        ("bucket", "i8"),
        ("min", "f8"),
        ("max", "f8"),
        ("sum", "f8"),
        ("count", "i8"),
    ]
)


def rollup_buckets(columns: Columns, micros: list[int]) -> np.ndarray:
    """The 10 s and 1 min aggregates of sample columns (BUCKETS rows), in key order (feed,
    step, metric, bucket).

    Vectorized: the rows sorted by (feed, metric, 10 s bucket), stably, then reduced per run
    of equal keys; the minutes from the 10 s buckets (exact: 60 is a multiple of 10, and
    buckets are aligned on 2000-01-01, itself a whole minute since 1970, as date_bin's are).
    Sending these (a tenth of the rows) replaced a second COPY of every row into a temp table
    and its GROUP BY in SQL; numpy replaced a dict per bucket, which cost as much as parsing.
    """
    feeds = np.array(columns[0], dtype=np.int64)
    metrics = np.array(columns[1], dtype=np.int64)
    times = np.array(micros, dtype=np.int64)
    values = np.array(columns[3], dtype=np.float64)
    tens = times - times % _TEN_S
    order = np.lexsort((tens, metrics, feeds))
    ten = _reduce_runs(feeds[order], metrics[order], tens[order], values[order])
    ten["step"] = 10
    minutes = ten["bucket"] - ten["bucket"] % _ONE_MIN
    minute = _reduce_runs(ten["feed_id"], ten["metric_id"], minutes, ten)
    minute["step"] = 60
    both = np.concatenate((ten, minute))
    return both[np.lexsort((both["bucket"], both["metric_id"], both["step"], both["feed_id"]))]


def _reduce_runs(feeds, metrics, buckets, values) -> np.ndarray:
    """BUCKETS rows of sorted (feed, metric, bucket) keys: one per run of equal keys, from raw
    values (a float array) or from finer BUCKETS rows (min of mins, sum of counts...)."""
    size = len(feeds)
    new = np.ones(size, dtype=bool)
    new[1:] = (
        (feeds[1:] != feeds[:-1]) | (metrics[1:] != metrics[:-1]) | (buckets[1:] != buckets[:-1])
    )
    starts = np.flatnonzero(new)
    out = np.zeros(len(starts), dtype=BUCKETS)
    out["feed_id"], out["metric_id"], out["bucket"] = (
        feeds[starts],
        metrics[starts],
        buckets[starts],
    )
    if values.dtype == BUCKETS:
        out["min"] = np.minimum.reduceat(values["min"], starts)
        out["max"] = np.maximum.reduceat(values["max"], starts)
        out["sum"] = np.add.reduceat(values["sum"], starts)
        out["count"] = np.add.reduceat(values["count"], starts)
    else:
        out["min"] = np.minimum.reduceat(values, starts)
        out["max"] = np.maximum.reduceat(values, starts)
        out["sum"] = np.add.reduceat(values, starts)
        out["count"] = np.diff(np.append(starts, size))
    return out


def _rollup_copy_data(buckets: np.ndarray) -> bytes:
    """BUCKETS rows as one binary COPY stream (ROLLUP_COLUMNS)."""
    return _copy_stream(_ROLLUP_ROW, {name: buckets[name] for name in BUCKETS.names})


_ROLLUP_COPY = f"COPY {ROLLUP_TABLE} ({', '.join(ROLLUP_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
# The staged aggregates of buckets at a batch's edges (or all of them, see _add_rollups)
# merged into the rollups, in key order.
_ROLLUP_ADD_EDGES = f"""
INSERT INTO {ROLLUP_TABLE} ({", ".join(ROLLUP_COLUMNS)})
SELECT {", ".join(ROLLUP_COLUMNS)} FROM {ROLLUP_STAGING_TABLE} ORDER BY 1, 2, 3, 4
ON CONFLICT (feed_id, step, metric_id, bucket) DO UPDATE SET
    min = least({ROLLUP_TABLE}.min, excluded.min),
    max = greatest({ROLLUP_TABLE}.max, excluded.max),
    sum = {ROLLUP_TABLE}.sum + excluded.sum,
    count = {ROLLUP_TABLE}.count + excluded.count
"""


# 10 s buckets from staged rows, 1 min buckets from those (exact: 60 is a multiple of 10 and
# both are aligned on the epoch), so only the 10 s aggregation reads every row.
# Both rollup writes share one tail: the 10 s buckets of a `ten` CTE and the 1 min buckets made
# from them, upserted in key order (so concurrent batches lock rollup rows in the same order).
_ROLLUP_UPSERT = """
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
"""

# The minutes the staged rows touch, re-aggregated from the raw rows (after a merge): exact
# whatever was replaced. Both steps are rewritten, not added to.
_ROLLUP_RECOMPUTE = f"""
WITH minutes AS (
    SELECT DISTINCT feed_id, metric_id,
           date_bin(interval '60 seconds', time, timestamptz '1970-01-01 00:00:00+00') AS minute
    FROM {STAGING_TABLE}
), ten AS (
    SELECT s.feed_id, s.metric_id,
           date_bin(interval '10 seconds', s.time, timestamptz '1970-01-01 00:00:00+00') AS bucket,
           min(s.value) AS min, max(s.value) AS max, sum(s.value) AS sum, count(*) AS count
    FROM minutes m JOIN {SAMPLE_TABLE} s
      ON s.feed_id = m.feed_id AND s.metric_id = m.metric_id
     AND s.time >= m.minute AND s.time < m.minute + interval '60 seconds'
    GROUP BY 1, 2, 3
)
{_ROLLUP_UPSERT}
    min = excluded.min, max = excluded.max, sum = excluded.sum, count = excluded.count
"""


def _store_sqlite(columns: Columns, repeats: tuple[int, int]) -> Stored:
    """SQLite: rows whose key exists are compared in Python; new rows are inserted and their
    rollups added, replaced rows updated and the minutes they touch re-aggregated."""
    feeds, metrics, times, values, stats = columns
    stats = stats or [None] * len(feeds)
    no_stats = (None, None, None, None)
    rows = [
        (f, m, t, v, *(s or no_stats))
        for f, m, t, v, s in zip(feeds, metrics, times, values, stats, strict=True)
    ]
    stored = _stored_rows(set(feeds), min(times), max(times))
    new, changed, duplicates = [], [], repeats[1]
    for row in rows:
        old = stored.get((row[0], row[1], row[2]))
        if old is None:
            new.append(row)
        elif old == tuple(row[3:]):
            duplicates += 1
        else:
            changed.append(row)
    write_samples(new + changed)
    upsert_rollups(new)
    if changed:
        recompute_rollups({(r[0], r[1], _minute(r[2])) for r in changed})
    return Stored(len(new), len(changed) + repeats[0], duplicates)


def _stored_rows(feed_ids: set[int], start: datetime, end: datetime) -> dict[tuple, tuple]:
    """SQLite: (feed, metric, time) -> (value, min, max, sum, count) of the rows in a range."""
    adapt = connection.ops.adapt_datetimefield_value
    marks = ", ".join(["%s"] * len(feed_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(SAMPLE_COLUMNS)} FROM {SAMPLE_TABLE} "
            f"WHERE feed_id IN ({marks}) AND time >= %s AND time <= %s",
            [*sorted(feed_ids), adapt(start), adapt(end)],
        )
        return {(r[0], r[1], _stored_time(r[2])): tuple(r[3:]) for r in cursor.fetchall()}


def _minute(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def recompute_rollups(minutes: set[tuple[int, int, datetime]]) -> None:
    """SQLite: rewrite the 10 s and 1 min buckets of these (feed, metric, minute) from the raw
    rows (after a replacement: exact whatever the replaced values were)."""
    adapt = connection.ops.adapt_datetimefield_value
    rows = []
    with connection.cursor() as cursor:
        for feed_id, metric_id, minute in sorted(minutes):
            cursor.execute(
                f"SELECT time, value FROM {SAMPLE_TABLE} WHERE feed_id = %s AND metric_id = %s "
                "AND time >= %s AND time < %s",
                [feed_id, metric_id, adapt(minute), adapt(minute + timedelta(minutes=1))],
            )
            rows += [
                (feed_id, metric_id, _stored_time(text), value, None, None, None, None)
                for text, value in cursor.fetchall()
            ]
    upsert_rollups(rows, replace=True)


def _stored_time(value) -> datetime:
    """A time read back from SQLite's text column, as an aware UTC datetime."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def write_samples(rows: list[Row]) -> None:
    """Store raw sample rows with executemany (SQLite; PostgreSQL uses store_samples); a key
    stored already takes the row's values."""
    if not rows:
        return
    columns = ", ".join(SAMPLE_COLUMNS)
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {SAMPLE_TABLE} ({columns}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (feed_id, metric_id, time) DO UPDATE SET value = excluded.value, "
            "min = excluded.min, max = excluded.max, sum = excluded.sum, count = excluded.count",
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


def upsert_rollups(rows: list[Row], *, replace: bool = False) -> int:
    """Fold the rows into the 10 s and 1 min rollups in Python (SQLite); rows touched.

    With `replace`, the rows are all of their buckets' rows: the buckets are rewritten.
    """
    aggregates = rollup_rows(rows)
    if not aggregates:
        return 0
    fold = (
        "min = excluded.min, max = excluded.max, sum = excluded.sum, count = excluded.count"
        if replace
        else "min = min(integrations_telemetryrollup.min, excluded.min), "
        "max = max(integrations_telemetryrollup.max, excluded.max), "
        "sum = integrations_telemetryrollup.sum + excluded.sum, "
        "count = integrations_telemetryrollup.count + excluded.count"
    )
    sql = (
        "INSERT INTO integrations_telemetryrollup "
        "(feed_id, step, metric_id, bucket, min, max, sum, count) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
        f"ON CONFLICT (feed_id, step, metric_id, bucket) DO UPDATE SET {fold}"
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


# --- The one place that uses Django internals ---------------------------------------

# The Django versions insert_batch was checked against; tests/integrations/test_storage_internals
# fails on any other, so an upgrade re-reads this function before it ships.
INSERT_BATCH_CHECKED_ON = ((5, 2),)


def insert_batch(batch) -> None:
    """INSERT a new ingest batch; on PostgreSQL its body is sent as a binary parameter.

    Django's psycopg cursors bind parameters client side, so a body went as a hex literal twice
    its size: built and sent by the request, decoded again by the server (~8 ms of a 0.7 MB
    request). Django 5.2's public alternative, the connection option `server_side_binding`,
    switches every query of the connection to server-side binding (and prepared statements),
    which changes how all other queries are planned; so this one INSERT uses a psycopg cursor
    wrapped by Django (`connection._prepare_cursor`: errors, execute wrappers, query logging)
    and marks the instance saved (`_state`). These are private Django APIs, used here only;
    `INSERT_BATCH_CHECKED_ON` names the versions they were checked on.
    """
    if connection.vendor != "postgresql":
        batch.save(force_insert=True)
        return
    meta = batch._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    values = [f.get_db_prep_save(f.pre_save(batch, True), connection) for f in fields]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    sql = (
        f"INSERT INTO {connection.ops.quote_name(meta.db_table)} ({columns}) "
        f"VALUES ({', '.join(['%s'] * len(fields))}) RETURNING {meta.pk.column}"
    )
    connection.ensure_connection()
    with connection._prepare_cursor(psycopg.Cursor(connection.connection)) as cursor:
        cursor.execute(sql, values)
        batch.pk = cursor.fetchone()[0]
    batch._state.adding = False
    batch._state.db = connection.alias


def insert_batch_internals_present() -> bool:
    """True when the Django internals insert_batch relies on are still there."""
    return django.VERSION[:2] in INSERT_BATCH_CHECKED_ON and hasattr(connection, "_prepare_cursor")
