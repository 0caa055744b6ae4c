"""integrations 0009: duplicate sample rows stored before it are removed (the last one kept),
the rollups they inflated are recomputed (PostgreSQL), (feed, metric, time) becomes unique, and
the migration goes back; on SQLite and PostgreSQL."""

import os
import uuid

import psycopg
import pytest

from tests import services as real
from tests.services import manage

# Written against the 0008 schema with plain SQL: feed and metric ids need no rows (no FKs).
SEED = """
from datetime import timedelta
from django.db import connection
from django.utils import timezone
from integrations import storage
t = timezone.now().replace(second=0, microsecond=0) - timedelta(hours=1)
adapt = connection.ops.adapt_datetimefield_value
storage.ensure_partitions({t.date()})
with connection.cursor() as c:
    for value in (1.0, 1.0, 5.0):  # a resend, then a changed value, both stored before 0009
        c.execute(
            "INSERT INTO integrations_telemetrysample (feed_id, metric_id, time, value) "
            "VALUES (7, 3, %s, %s)", [adapt(t), value]
        )
    c.execute(
        "INSERT INTO integrations_telemetrysample (feed_id, metric_id, time, value) "
        "VALUES (7, 3, %s, 2.0)", [adapt(t + timedelta(seconds=1))]
    )
    for step in (10, 60):
        c.execute(
            "INSERT INTO integrations_telemetryrollup "
            "(feed_id, step, metric_id, bucket, min, max, sum, count) "
            "VALUES (7, %s, 3, %s, 1.0, 5.0, 9.0, 4)", [step, adapt(t)]
        )
print("seeded")
"""

STATE = """
from django.db import connection
with connection.cursor() as c:
    c.execute("SELECT count(*), sum(value) FROM integrations_telemetrysample")
    rows, total = c.fetchone()
    c.execute("SELECT sum, count FROM integrations_telemetryrollup WHERE step = 60")
    rollup = c.fetchone()
print(f"{rows} {total} {rollup[0]} {rollup[1]}")
"""

DUPLICATE = """
from django.db import IntegrityError, connection
from integrations.models import TelemetrySample
row = TelemetrySample.objects.values_list("time", flat=True).first()
try:
    with connection.cursor() as c:
        c.execute(
            "INSERT INTO integrations_telemetrysample (feed_id, metric_id, time, value) "
            "VALUES (7, 3, %s, 9.0)", [connection.ops.adapt_datetimefield_value(row)]
        )
    print("stored twice")
except IntegrityError:
    print("refused")
"""


def round_trip(env: dict, rollups_recomputed: bool) -> None:
    manage(env, "migrate", "integrations", "0008", "--noinput", "-v0")
    assert manage(env, "shell", "-c", SEED) == "seeded"
    manage(env, "migrate", "integrations", "0009", "--noinput", "-v0")
    rows, total, rollup_sum, rollup_count = manage(env, "shell", "-c", STATE).split()
    assert (rows, float(total)) == ("2", 7.0)  # the last of the three copies (5.0) was kept
    if rollups_recomputed:
        assert (float(rollup_sum), rollup_count) == (7.0, "2")
    assert manage(env, "shell", "-c", DUPLICATE) == "refused"
    manage(env, "migrate", "integrations", "0008", "--noinput", "-v0")
    assert manage(env, "shell", "-c", DUPLICATE) == "stored twice"  # the index is plain again


def base_env(tmp_path) -> dict:
    env = {**os.environ, "TALLY_DATA_DIR": str(tmp_path), "CELERY_BROKER_URL": ""}
    env.pop("TALLY_TEST_DB", None)
    return env


def test_duplicates_are_removed_and_the_key_made_unique_on_sqlite(tmp_path):
    round_trip({**base_env(tmp_path), "DATABASE_URL": ""}, rollups_recomputed=False)


@pytest.mark.postgres
def test_duplicates_are_removed_rollups_recomputed_and_the_key_made_unique_on_postgresql(
    tmp_path,
):
    real.require_postgres()
    name = f"tally_migrations_{uuid.uuid4().hex[:8]}"
    admin = "postgres://postgres@127.0.0.1:5432/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        env = {**base_env(tmp_path), "DATABASE_URL": admin.rsplit("/", 1)[0] + f"/{name}"}
        round_trip(env, rollups_recomputed=True)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
