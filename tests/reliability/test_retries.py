"""Retries are harmless: the same Firehose request delivered three times and the same entry
POST sent five times are each stored once, through the real worker."""

import uuid
from datetime import timedelta

import pytest

from integrations import services as ingest_services
from integrations.models import IngestBatch, TelemetrySample
from retro.models import Entry
from tests.integrations.test_api import firehose_body
from tests.workers import wait_for


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_firehose_three_times_and_entry_five_times_are_stored_once(
    celery_worker, anon_api, operator_api, event, lead
):
    feed = event.feeds.get(slug="kn1-program")
    headers, body = firehose_body()
    assert headers["X-Amz-Firehose-Protocol-Version"] == "1.0"  # a delivery request as sent
    _, key = ingest_services.create_ingest_key(event=event, name="firehose", actor=lead)
    extra = {
        "HTTP_X_AMZ_FIREHOSE_ACCESS_KEY": key,
        "HTTP_X_AMZ_FIREHOSE_REQUEST_ID": headers["X-Amz-Firehose-Request-Id"],
    }
    replies = [
        anon_api.post("/api/v1/ingest/firehose/", body, content_type="application/json", **extra)
        for _ in range(3)
    ]
    assert [r.status_code for r in replies] == [200, 200, 200]
    assert IngestBatch.objects.count() == 1
    batch = wait_for(lambda: IngestBatch.objects.exclude(state="pending").first(), 60)
    stored = TelemetrySample.objects.count()
    ingest_services.process_batch(batch_id=batch.pk)  # a redelivered task changes nothing
    assert TelemetrySample.objects.count() == stored
    assert batch.state in ("done", "quarantined")

    entry = {
        "id": str(uuid.uuid4()),
        "kind": "learning",
        "body": "ASL return dropped 20 s",
        "feeds": [feed.slug],
        "occurred_at": (event.start + timedelta(hours=2)).isoformat(),
    }
    statuses = [
        operator_api.post(f"/api/v1/events/{event.slug}/entries/", entry, format="json").status_code
        for _ in range(5)
    ]
    assert statuses == [201, 200, 200, 200, 200]
    assert Entry.objects.filter(pk=entry["id"]).count() == 1
    assert Entry.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_entry_posted_twice_at_the_same_moment_is_stored_once(event, operator):
    """Both requests pass the 'already logged?' read before either inserts: the loser of
    the insert returns the winner's entry instead of failing (it once answered 500)."""
    import threading

    from django.db import connections

    from retro import services
    from tests import services as real

    real.require_postgres()
    pairs, results, errors = 25, [], []

    def post(client_id, barrier):
        try:
            barrier.wait(timeout=10)
            entry, _ = services.log_entry(
                event=event,
                author=operator,
                kind="win",
                body="twice",
                client_id=client_id,
                occurred_at=event.start + timedelta(hours=3),
            )
            results.append((client_id, entry.pk))
        except Exception as exc:
            errors.append(repr(exc))
        finally:
            connections.close_all()

    for _ in range(pairs):
        client_id, barrier = uuid.uuid4(), threading.Barrier(2)
        threads = [threading.Thread(target=post, args=(client_id, barrier)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert errors == []
    assert len(results) == 2 * pairs and all(sent == got for sent, got in results)
    assert Entry.objects.count() == pairs
