"""Batches of one stream waiting together are stored together (one transaction), each with
its own outcome; whatever cannot be told apart that way (a resend, an overlap) is stored batch
by batch; a batch another worker claimed is left to it. PostgreSQL: on SQLite every batch is
stored on its own (one writer, tasks run in the request)."""

import psycopg
import pytest
from django.db import connection, transaction

from integrations import services
from integrations.formats import parse
from integrations.models import IngestBatch, TelemetrySample
from tests import services as real
from tests.conftest import KEYNOTE_START
from tests.workers import wait_for

from .conftest import capture, capture_on_air
from .test_dedup import assert_rollups_exact

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture(autouse=True)
def _postgres():
    real.require_postgres()


def lines() -> list[bytes]:
    return capture_on_air("clean-1.srt-stats.jsonl").splitlines(keepends=True)


def queue(event, bodies: list[bytes], feed_slug: str = "kn1-contrib-a", fmt: str = "srt-json"):
    feed = event.feeds.get(slug=feed_slug)
    return [
        services.ingest_batch(event=event, feed=feed, fmt=fmt, body=body)[0].pk for body in bodies
    ]


def transactions(ids: list[int]) -> int:
    """How many transactions last wrote these batches (rows written together share xmin)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(DISTINCT xmin::text) FROM integrations_ingestbatch WHERE id = ANY(%s)",
            [ids],
        )
        return cursor.fetchone()[0]


def count(body: bytes) -> int:
    return len(parse("srt-json", body).samples)


def test_waiting_batches_of_a_stream_are_stored_in_one_transaction_each_with_its_counts(event):
    rows = lines()
    chunks = [b"".join(rows[i : i + 15]) for i in range(0, 60, 15)]
    ids = queue(event, chunks)
    other = queue(event, [b"".join(rows[:15])], feed_slug="kn1-program")  # another stream

    done = services.process_waiting_batches(batch_id=ids[0])

    assert [b.pk for b in done] == ids
    batches = list(IngestBatch.objects.filter(pk__in=ids).order_by("pk"))
    assert [b.state for b in batches] == ["done"] * 4
    assert [b.samples for b in batches] == [count(c) for c in chunks]
    assert [(b.duplicates, b.replaced, b.attempts) for b in batches] == [(0, 0, 1)] * 4
    assert transactions(ids) == 1
    assert IngestBatch.objects.get(pk=other[0]).state == "pending"
    assert TelemetrySample.objects.count() == sum(count(c) for c in chunks)
    assert_rollups_exact()


def test_a_resend_among_waiting_batches_is_stored_batch_by_batch_and_counted(event):
    rows = lines()
    first, second = b"".join(rows[:30]), b"".join(rows[30:60])
    ids = queue(event, [first, second, first])

    done = services.process_waiting_batches(batch_id=ids[0])

    assert sorted(b.pk for b in done) == ids
    a, b, again = IngestBatch.objects.filter(pk__in=ids).order_by("pk")
    assert (a.samples, b.samples) == (count(first), count(second))
    assert (again.samples, again.duplicates, again.replaced) == (0, count(first), 0)
    assert transactions(ids) == 3  # one by one: each says what it replaced
    assert TelemetrySample.objects.count() == count(first) + count(second)
    assert_rollups_exact()


def test_a_group_around_a_batch_stored_in_between_is_still_stored_together(event):
    """Two workers' groups interleave in time: a batch of the other's, stored between two of
    this group's, is no overlap (each batch's own range is checked, not the group's)."""
    rows = lines()
    chunks = [b"".join(rows[i : i + 12]) for i in range(0, 60, 12)]
    ids = queue(event, chunks)
    services.process_batch(batch_id=ids[2])  # the other worker's, committed first

    done = services.process_waiting_batches(batch_id=ids[0])

    together = [ids[0], ids[1], ids[3], ids[4]]
    assert [b.pk for b in done] == together
    assert transactions(together) == 1
    assert [b.duplicates for b in IngestBatch.objects.filter(pk__in=ids)] == [0] * 5
    assert TelemetrySample.objects.count() == sum(count(c) for c in chunks)
    assert_rollups_exact()


def test_a_batch_another_worker_claimed_is_left_to_it(event):
    rows = lines()
    ids = queue(event, [b"".join(rows[i : i + 20]) for i in range(0, 60, 20)])
    url = connection.settings_dict
    other = psycopg.connect(
        host=url["HOST"], port=url["PORT"] or 5432, user=url["USER"], dbname=url["NAME"]
    )
    try:
        claim = "SELECT pg_try_advisory_lock(%s, %s)"
        assert other.execute(claim, [services._CLAIM_CLASS, ids[1]]).fetchone()[0]

        assert [b.pk for b in services.process_waiting_batches(batch_id=ids[0])] == [ids[0], ids[2]]
        assert IngestBatch.objects.get(pk=ids[1]).state == "pending"
        assert services.process_waiting_batches(batch_id=ids[1]) == []  # its worker stores it
        assert IngestBatch.objects.get(pk=ids[1]).state == "pending"
    finally:
        other.close()  # a worker that dies lets go of its claims with its connection
    assert [b.pk for b in services.process_waiting_batches(batch_id=ids[1])] == [ids[1]]
    assert set(IngestBatch.objects.filter(pk__in=ids).values_list("state", flat=True)) == {"done"}


def test_the_group_settings_bound_a_group_by_batches_and_by_bytes(event, settings):
    settings.TALLY_INGEST_GROUP_BATCHES = 2
    rows = lines()
    bodies = [b"".join(rows[i : i + 10]) for i in range(0, 60, 10)]
    ids = queue(event, bodies)

    assert [b.pk for b in services.process_waiting_batches(batch_id=ids[0])] == ids[:2]
    settings.TALLY_INGEST_GROUP_BATCHES = 16
    settings.TALLY_INGEST_GROUP_BYTES = sum(map(len, bodies[2:5])) + 1  # three, not four
    assert [b.pk for b in services.process_waiting_batches(batch_id=ids[2])] == ids[2:5]
    settings.TALLY_INGEST_GROUP_BYTES = 1  # a batch bigger than a group still goes, alone
    assert [b.pk for b in services.process_waiting_batches(batch_id=ids[5])] == [ids[5]]
    assert IngestBatch.objects.filter(pk__in=ids, state="pending").count() == 0


def test_ffmpeg_progress_batches_are_never_grouped(event):
    """An encoder exit is read from one progress file's end: those batches stay one by one."""
    body = capture("killed.ffmpeg-progress.txt").read_bytes()
    feed = event.feeds.get(slug="kn1-program")
    options = {"started_at": KEYNOTE_START.isoformat()}
    ids = [
        services.ingest_batch(event=event, feed=feed, fmt="ffmpeg", body=body, options=options)[
            0
        ].pk
        for _ in range(2)
    ]

    assert [b.pk for b in services.process_waiting_batches(batch_id=ids[0])] == [ids[0]]
    assert IngestBatch.objects.get(pk=ids[1]).state == "pending"


def test_a_batch_that_cannot_be_parsed_is_quarantined_and_the_rest_stored(event):
    rows = lines()
    ids = queue(event, [b"".join(rows[:20]), b"".join(rows[20:40])])
    IngestBatch.objects.filter(pk=ids[1]).update(body=b"\xff\xfe not text")

    done = services.process_waiting_batches(batch_id=ids[0])

    assert sorted(b.pk for b in done) == ids
    good, bad = IngestBatch.objects.filter(pk__in=ids).order_by("pk")
    assert (good.state, good.samples) == ("done", count(b"".join(rows[:20])))
    assert bad.state == "quarantined" and "UTF-8" in bad.error


@pytest.mark.django_db(transaction=True)
def test_real_workers_store_a_queued_stream_in_groups_each_sample_once(celery_worker, event):
    """Batches queued at once (one commit) reach the run's real worker (2 processes): they
    are stored in fewer transactions than batches, every sample once; a resend queued with
    new data afterwards is stored batch by batch and counted."""
    rows = lines()
    chunks = [b"".join(rows[i : i + 10]) for i in range(0, 60, 10)]
    with transaction.atomic():  # the tasks are sent on commit: all six wait together
        ids = queue(event, chunks)
    wait_for(lambda: not IngestBatch.objects.filter(pk__in=ids, state="pending").exists(), 60)
    assert transactions(ids) < len(ids)
    again = [chunks[1], chunks[4], b"".join(rows[60:])]
    with transaction.atomic():
        more = queue(event, again)
    wait_for(lambda: not IngestBatch.objects.filter(pk__in=more, state="pending").exists(), 60)

    batches = {b.pk: b for b in IngestBatch.objects.filter(pk__in=ids + more)}
    assert {b.state for b in batches.values()} == {"done"}
    assert [batches[pk].samples for pk in ids] == [count(c) for c in chunks]
    assert [batches[pk].duplicates for pk in more] == [count(chunks[1]), count(chunks[4]), 0]
    assert batches[more[2]].samples == count(again[2]) > 0
    distinct = count(b"".join(rows))
    assert TelemetrySample.objects.count() == sum(b.samples for b in batches.values()) == distinct
    assert_rollups_exact()
