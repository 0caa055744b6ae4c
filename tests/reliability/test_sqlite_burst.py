"""Embedded SQLite: web and (eager) worker writes in a burst, and no "database is locked"
reaches a user."""

import json
import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from tests.reliability.servers import Gunicorn, request
from tests.services import manage

SETUP = """
from datetime import datetime, timedelta, UTC
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from retro.models import Event, Feed, Membership
start = datetime.now(UTC) - timedelta(hours=2)
ev = Event.objects.create(name="Burst", slug="burst", start=start, end=start + timedelta(days=1))
Feed.objects.create(event=ev, slug="f1", name="F1", stage="contribution")
u = User.objects.create_user("burst-op", password="x" * 20)
Membership.objects.create(event=ev, user=u, role="operator")
print(Token.objects.create(user=u).key)
"""
COUNT = """
from retro.models import Entry
from integrations.models import IngestBatch
print(Entry.objects.count(), IngestBatch.objects.filter(state="done").count())
"""


def test_burst_of_entries_and_ingest_on_sqlite_never_reports_a_lock(tmp_path):
    env = {
        **os.environ,
        "TALLY_DATA_DIR": str(tmp_path),
        "DATABASE_URL": "",
        "CELERY_BROKER_URL": "",
        "CACHE_URL": "",
    }
    manage(env, "migrate", "--noinput", "-v0")
    token = manage(env, "shell", "-c", SETUP)
    web = Gunicorn(
        {k: env[k] for k in ("TALLY_DATA_DIR", "DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL")},
        workers=2,
        threads=4,
    ).start()
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}

    def post_entry(n):
        body = json.dumps({"id": str(uuid.uuid4()), "kind": "win", "body": f"burst {n}"}).encode()
        return request(
            f"{web.url}/api/v1/events/burst/entries/", method="POST", body=body, headers=headers
        )[:2]

    hour = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H")

    def post_batch(n):
        rows = [
            {"metric": "burst.value", "time": f"{hour}:{n % 60:02d}:{s:02d}Z", "value": s}
            for s in range(60)
        ]
        return request(
            f"{web.url}/api/v1/ingest/generic/burst/f1/",
            method="POST",
            body=json.dumps(rows).encode(),
            headers=headers,
        )[:2]

    try:
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(post_entry, range(120))) + list(pool.map(post_batch, range(60)))
    finally:
        web.stop()
    statuses = [status for status, _ in results]
    assert statuses.count(201) == 120 and statuses.count(202) == 60, set(statuses)
    assert not any(b"locked" in body for _, body in results)
    assert "database is locked" not in web.output
    assert manage(env, "shell", "-c", COUNT) == "120 60"
