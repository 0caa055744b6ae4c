"""Each sample once: (feed_id, metric_id, time) becomes unique; batches count what they replaced.

Duplicate rows stored before this migration are removed first (the row written last is kept)
and the rollup buckets they inflated are recomputed from the raw rows that remain, so sums and
counts are exact afterwards. On PostgreSQL the unique index is built on the partitioned table
(the partition key, time, is part of it), which builds one on every day partition.
"""

from django.db import migrations, models

INDEX = "integrations_sample_feed_metric_time"
TABLE = "integrations_telemetrysample"

PG_FORWARD = f"""
CREATE TEMP TABLE integrations_dup_keys ON COMMIT DROP AS
    SELECT feed_id, metric_id, time FROM {TABLE}
    GROUP BY 1, 2, 3 HAVING count(*) > 1;
DELETE FROM {TABLE} a USING {TABLE} b
    WHERE a.feed_id = b.feed_id AND a.metric_id = b.metric_id AND a.time = b.time
      AND a.tableoid = b.tableoid AND a.ctid < b.ctid;
WITH buckets AS (
    SELECT DISTINCT feed_id, metric_id, step,
           date_bin(make_interval(secs => step), time, timestamptz '1970-01-01 00:00:00+00')
               AS bucket
    FROM integrations_dup_keys CROSS JOIN (VALUES (10), (60)) AS steps (step)
)
UPDATE integrations_telemetryrollup r
SET min = agg.min, max = agg.max, sum = agg.sum, count = agg.count
FROM (
    SELECT b.feed_id, b.metric_id, b.step, b.bucket,
           min(s.value) AS min, max(s.value) AS max, sum(s.value) AS sum, count(*) AS count
    FROM buckets b JOIN {TABLE} s
      ON s.feed_id = b.feed_id AND s.metric_id = b.metric_id
     AND s.time >= b.bucket AND s.time < b.bucket + make_interval(secs => b.step)
    GROUP BY 1, 2, 3, 4
) agg
WHERE r.feed_id = agg.feed_id AND r.metric_id = agg.metric_id AND r.step = agg.step
  AND r.bucket = agg.bucket;
DROP INDEX {INDEX};
CREATE UNIQUE INDEX {INDEX} ON {TABLE} (feed_id, metric_id, time);
"""

PG_BACKWARD = f"""
DROP INDEX {INDEX};
CREATE INDEX {INDEX} ON {TABLE} (feed_id, metric_id, time);
"""

SQLITE_FORWARD = [
    f"""DELETE FROM {TABLE} WHERE rowid NOT IN
        (SELECT max(rowid) FROM {TABLE} GROUP BY feed_id, metric_id, time)""",
    f"DROP INDEX {INDEX}",
    f"CREATE UNIQUE INDEX {INDEX} ON {TABLE} (feed_id, metric_id, time)",
]

SQLITE_BACKWARD = [
    f"DROP INDEX {INDEX}",
    f"CREATE INDEX {INDEX} ON {TABLE} (feed_id, metric_id, time)",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_FORWARD)
        return
    # SQLite (development, tests): the duplicate rows are removed; rollups stay as they were.
    for statement in SQLITE_FORWARD:
        schema_editor.execute(statement)


def backward(apps, schema_editor):
    statements = (
        [PG_BACKWARD] if schema_editor.connection.vendor == "postgresql" else SQLITE_BACKWARD
    )
    for statement in statements:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("integrations", "0008_anomaly_kinds")]

    operations = [
        migrations.AddField(
            model_name="ingestbatch",
            name="replaced",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="ingestbatch",
            name="duplicates",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.RunPython(forward, backward),
    ]
