"""Feed.derived_from becomes many-to-many (retro 0004): stored links survive the migration
forward, and back each feed keeps one upstream (path A first), on SQLite and PostgreSQL."""

import os
import uuid

import psycopg
import pytest

from tests import services as real
from tests.services import manage

# Written against the 0003 schema with plain SQL: the models in the code are already 0004's.
SEED = """
from django.db import connection
from django.utils import timezone
now = timezone.now()
with connection.cursor() as c:
    c.execute(
        "INSERT INTO retro_event (name, slug, venue, time_zone, start, \\"end\\", state, "
        "thresholds, retro_override_reason, created_at) "
        "VALUES ('M', 'm', '', 'UTC', %s, %s, 'live', '{}', '', %s)",
        [now, now + timezone.timedelta(hours=4), now],
    )
    c.execute("SELECT id FROM retro_event WHERE slug = 'm'")
    event = c.fetchone()[0]
    ids = {}
    for slug, path, parent in (("a", "A", None), ("b", "B", None), ("tx", "A", "a")):
        c.execute(
            "INSERT INTO retro_feed (event_id, slug, name, kind, language, stage, transport, "
            "path, source_ids, derived_from_id) "
            "VALUES (%s, %s, %s, 'program', '', 'contribution', 'srt', %s, '[]', %s)",
            [event, slug, slug, path, ids.get(parent)],
        )
        c.execute("SELECT id FROM retro_feed WHERE slug = %s", [slug])
        ids[slug] = c.fetchone()[0]
print("seeded")
"""

UPSTREAMS = (
    "from retro.models import Feed\n"
    "tx = Feed.objects.get(slug='tx')\n"
    "print(','.join(sorted(tx.derived_from.values_list('slug', flat=True))))\n"
)
ADD_B = (
    "from retro.models import Feed\n"
    "Feed.objects.get(slug='tx').derived_from.add(Feed.objects.get(slug='b'))\n"
    "print('added')\n"
)
SINGLE = (
    "from django.db import connection\n"
    "with connection.cursor() as c:\n"
    "    c.execute('SELECT u.slug FROM retro_feed f JOIN retro_feed u ON u.id = f.derived_from_id"
    " WHERE f.slug = %s', ['tx'])\n"
    "    print(c.fetchone()[0])\n"
)


def round_trip(env: dict) -> None:
    manage(env, "migrate", "retro", "0003", "--noinput", "-v0")
    assert manage(env, "shell", "-c", SEED) == "seeded"
    manage(env, "migrate", "--noinput", "-v0")
    assert manage(env, "shell", "-c", UPSTREAMS) == "a"  # the stored link was kept
    assert manage(env, "shell", "-c", ADD_B) == "added"
    assert manage(env, "shell", "-c", UPSTREAMS) == "a,b"
    manage(env, "migrate", "retro", "0003", "--noinput", "-v0")
    assert manage(env, "shell", "-c", SINGLE) == "a"  # back: one upstream, path A first
    manage(env, "migrate", "--noinput", "-v0")
    assert manage(env, "shell", "-c", UPSTREAMS) == "a"


def base_env(tmp_path) -> dict:
    env = {**os.environ, "TALLY_DATA_DIR": str(tmp_path), "CELERY_BROKER_URL": ""}
    env.pop("TALLY_TEST_DB", None)
    return env


def test_derived_from_links_survive_the_migration_both_ways_on_sqlite(tmp_path):
    round_trip({**base_env(tmp_path), "DATABASE_URL": ""})


@pytest.mark.postgres
def test_derived_from_links_survive_the_migration_both_ways_on_postgresql(tmp_path):
    real.require_postgres()
    name = f"tally_migrations_{uuid.uuid4().hex[:8]}"
    admin = "postgres://postgres@127.0.0.1:5432/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        round_trip({**base_env(tmp_path), "DATABASE_URL": admin.rsplit("/", 1)[0] + f"/{name}"})
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
