"""PostgreSQL unreachable: the entry and ingest APIs answer 503 with a JSON error, nothing is
half-written, and when the database comes back everything works without a restart."""

import json
import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.authtoken.models import Token

from retro.models import Entry
from tests import services as real
from tests.conftest import iso
from tests.reliability.servers import Gunicorn, TcpProxy, request

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def entry_body(event, text: str) -> bytes:
    occurred = (event.start + timedelta(hours=3)).isoformat()
    return json.dumps(
        {"id": str(uuid.uuid4()), "kind": "learning", "body": text, "occurred_at": occurred}
    ).encode()


def generic_batch(event) -> bytes:
    moment = iso(event.start + timedelta(hours=3))
    return json.dumps([{"metric": "probe.value", "time": moment, "value": 1}]).encode()


def test_database_outage_gives_503_then_recovers_without_restart(event, operator):
    real.require_postgres()
    token = Token.objects.create(user=operator).key
    s = connection.settings_dict
    proxy = TcpProxy(int(s.get("PORT") or 5432)).start()
    db_url = f"postgres://{s['USER']}@127.0.0.1:{proxy.port}/{s['NAME']}"
    web = Gunicorn(
        {
            "DATABASE_URL": db_url,
            "CELERY_BROKER_URL": "",
            "TALLY_QUEUE_PREFIX": settings.QUEUE_PREFIX,
        }
    ).start()
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    entries = f"{web.url}/api/v1/events/{event.slug}/entries/"
    ingest = f"{web.url}/api/v1/ingest/generic/{event.slug}/kn1-program/"
    try:
        status, _, _ = request(
            entries, method="POST", body=entry_body(event, "before"), headers=headers
        )
        assert status == 201

        proxy.stop()
        lost = entry_body(event, "during the outage")
        status, body, response_headers = request(entries, method="POST", body=lost, headers=headers)
        assert status == 503
        assert "database" in json.loads(body)["detail"]
        assert response_headers["Retry-After"] == "5"
        status, body, _ = request(ingest, method="POST", body=generic_batch(event), headers=headers)
        assert status == 503 and json.loads(body)["detail"]

        proxy.start()
        status, body, _ = request(entries, method="POST", body=lost, headers=headers)
        assert status == 201, body
        status, body, _ = request(ingest, method="POST", body=generic_batch(event), headers=headers)
        assert status == 202, body
    finally:
        web.stop()
        proxy.stop()
    assert sorted(Entry.objects.values_list("body", flat=True)) == ["before", "during the outage"]
    assert "Traceback" not in web.output or "OperationalError" in web.output
