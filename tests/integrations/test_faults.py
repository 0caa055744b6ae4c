"""Faults against real services: kill -9 mid-batch, Redis restarted and flushed, poison batches."""

import contextlib

import pytest
from django.db import connection

from integrations import tasks
from integrations.models import IngestBatch, TelemetrySample
from retro.models import Feed
from tests import services as real
from tests.workers import wait_for

from .helpers import PrivateWorker, ThrowawayRedis, old_batch, rows_csv

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def redis():
    server = ThrowawayRedis().start()
    yield server
    server.stop()


def _in_batch_transaction() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL AND "
            "(query ILIKE '%%FOR UPDATE%%' OR query ILIKE 'COPY%%' OR query ILIKE '%%rollup%%')"
        )
        return cursor.fetchone()[0] > 0


def test_worker_killed_mid_batch_then_a_new_worker_stores_every_sample_once(event, redis):
    real.require_postgres()
    feed = Feed.objects.get(slug="kn1-contrib-a")
    batch = old_batch(event=event, feed=feed, format="generic-csv", body=rows_csv(150_000))
    first = PrivateWorker(redis.url).start()
    try:
        first.send(tasks.process_batch, batch.pk)
        wait_for(_in_batch_transaction, timeout=60, interval=0.02)
        first.kill()
    finally:
        first.kill()
    batch.refresh_from_db()
    assert batch.state == "pending"
    assert TelemetrySample.objects.filter(feed=feed).count() == 0  # nothing half-stored
    second = PrivateWorker(redis.url, prefix=first.prefix).start()
    try:
        second.send(tasks.sweep_pending_batches)
        wait_for(lambda: IngestBatch.objects.get(pk=batch.pk).state == "done", timeout=60)
    finally:
        second.stop()
    assert TelemetrySample.objects.filter(feed=feed).count() == 150_000
    assert IngestBatch.objects.get(pk=batch.pk).samples == 150_000


def test_redis_restarted_and_flushed_during_ingest_loses_nothing(event, redis):
    feed = Feed.objects.get(slug="kn1-contrib-a")
    batches = [
        old_batch(
            event=event, feed=feed, format="generic-csv", body=rows_csv(2_000, offset=n * 100)
        )
        for n in range(12)
    ]
    worker = PrivateWorker(redis.url, concurrency=2).start()
    try:
        for batch in batches[:4]:
            worker.send(tasks.process_batch, batch.pk)
        for batch in batches[4:]:
            worker.send(tasks.process_batch, batch.pk)
        redis.stop()  # flushed: no persistence, every queued message is gone
        redis.start()
        worker.send(tasks.sweep_pending_batches)
        wait_for(lambda: not IngestBatch.objects.filter(state="pending").exists(), timeout=60)
    finally:
        worker.stop()
    assert set(IngestBatch.objects.values_list("state", flat=True)) == {"done"}
    assert TelemetrySample.objects.filter(feed=feed).count() == 12 * 2_000


def test_poison_batch_fails_after_max_attempts_and_others_are_stored(event, settings):
    settings.TALLY_INGEST_MAX_ATTEMPTS = 3
    feed = Feed.objects.get(slug="kn1-contrib-a")
    poison = old_batch(
        event=event,
        feed=feed,
        format="ffmpeg",
        body=b"frame=1\nfps=25\nprogress=continue\n",
        options={"received_at": "not a time"},
    )
    good = old_batch(event=event, feed=feed, format="generic-csv", body=rows_csv(100))
    for _ in range(5):
        for batch in (poison, good):
            with contextlib.suppress(Exception):  # a worker logs it; the batch counts it
                tasks.process_batch(batch.pk)
    poison.refresh_from_db()
    good.refresh_from_db()
    assert poison.state == "failed" and poison.attempts == 3
    assert "not a time" in poison.error
    assert good.state == "done" and good.samples == 100
    assert tasks.sweep_pending_batches() == 0
