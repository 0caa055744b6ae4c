"""Moving a model between apps is state only: migrating back and forth keeps the table and
its rows, on PostgreSQL and on SQLite."""

import os
import uuid

import pytest

from tests import services as real
from tests.services import manage

COUNT_REPORTS = (
    "from django.db import connection\n"
    "with connection.cursor() as c:\n"
    "    c.execute('SELECT count(*) FROM retro_report')\n"
    "    print(c.fetchone()[0])\n"
)
ADD_REPORT = (
    "from retro.models import Event\n"
    "from reports.models import Report\n"
    "from django.utils import timezone\n"
    "now = timezone.now()\n"
    "ev = Event.objects.create(name='M', slug='m', start=now, end=now)\n"
    "Report.objects.create(event=ev, format='md')\n"
    "print(Report.objects.count())\n"
)


def round_trip(env: dict) -> None:
    manage(env, "migrate", "--noinput", "-v0")
    assert manage(env, "shell", "-c", ADD_REPORT) == "1"
    manage(env, "migrate", "reports", "zero", "--noinput", "-v0")
    manage(env, "migrate", "retro", "0001", "--noinput", "-v0")
    assert manage(env, "shell", "-c", COUNT_REPORTS) == "1"  # the table and its row stayed
    manage(env, "migrate", "--noinput", "-v0")
    count = "from reports.models import Report; print(Report.objects.count())"
    assert manage(env, "shell", "-c", count) == "1"


def base_env(tmp_path) -> dict:
    env = {**os.environ, "TALLY_DATA_DIR": str(tmp_path), "CELERY_BROKER_URL": ""}
    env.pop("TALLY_TEST_DB", None)
    return env


def test_report_moves_apps_and_back_on_sqlite(tmp_path):
    round_trip({**base_env(tmp_path), "DATABASE_URL": ""})


@pytest.mark.postgres
def test_report_moves_apps_and_back_on_postgresql(tmp_path):
    real.require_postgres()
    import psycopg

    name = f"tally_migrations_{uuid.uuid4().hex[:8]}"
    admin = "postgres://postgres@127.0.0.1:5432/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        round_trip({**base_env(tmp_path), "DATABASE_URL": admin.rsplit("/", 1)[0] + f"/{name}"})
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
