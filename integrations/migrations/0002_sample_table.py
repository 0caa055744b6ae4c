"""The raw sample table: partitioned by day on PostgreSQL, a plain indexed table on SQLite.

Django treats TelemetrySample as unmanaged, so the table shape lives here. Rows are narrow
(feed, small metric id, time, value, optional CloudWatch statistics) and have no surrogate
key: the (feed_id, metric_id, time) B-tree serves every read, and day partitions are dropped
whole by the retention task. Partitions are created on demand by integrations.storage.
"""

from django.db import migrations

PG = """
CREATE TABLE integrations_telemetrysample (
    feed_id bigint NOT NULL,
    metric_id smallint NOT NULL,
    time timestamptz NOT NULL,
    value double precision NOT NULL,
    min double precision,
    max double precision,
    sum double precision,
    count double precision
) PARTITION BY RANGE (time);
CREATE INDEX integrations_sample_feed_metric_time
    ON integrations_telemetrysample (feed_id, metric_id, time);
"""

SQLITE = [
    """CREATE TABLE integrations_telemetrysample (
        feed_id integer NOT NULL,
        metric_id integer NOT NULL,
        time datetime NOT NULL,
        value real NOT NULL,
        min real, max real, sum real, count real
    )""",
    """CREATE INDEX integrations_sample_feed_metric_time
        ON integrations_telemetrysample (feed_id, metric_id, time)""",
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG)
    else:
        for statement in SQLITE:
            schema_editor.execute(statement)


def drop(apps, schema_editor):
    schema_editor.execute("DROP TABLE integrations_telemetrysample")


class Migration(migrations.Migration):
    dependencies = [("integrations", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
