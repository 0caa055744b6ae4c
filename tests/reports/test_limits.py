"""A report past its limits fails with a clear reason in a real worker; the worker goes on."""

import uuid

import pytest

from reports import tasks
from reports.models import Report
from tests.workers import WorkerProcess, wait_for

from .helpers import add_entry, retro_entries

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def run_limited(event, lead, **limits) -> Report:
    """Render one PDF in a slow worker of its own (own queue) started with these limits."""
    from tests import services as real

    real.require_redis()
    queue = f"limits-{uuid.uuid4().hex[:8]}"
    report = Report.objects.create(event=event, format="pdf", requested_by=lead)
    worker = WorkerProcess(concurrency=1, queues=[queue], extra_env=limits, name="limits")
    worker.command += ["--max-tasks-per-child", "1"]  # as the Procfile's slow worker
    worker.start()
    try:
        # Celery sends the sender's limits with the message: send the worker's.
        soft = float(limits.get("TALLY_REPORT_SOFT_TIME_LIMIT", 270))
        tasks.render_report.apply_async(
            kwargs={"report_id": report.pk}, queue=queue, soft_time_limit=soft
        )
        wait_for(
            lambda: Report.objects.filter(pk=report.pk, state__in=["done", "failed"]).exists(),
            timeout=90,
        )
        # The worker is still alive: it takes the next message and finishes it.
        second = Report.objects.create(event=event, format="md", requested_by=lead)
        tasks.render_report.apply_async(kwargs={"report_id": second.pk}, queue=queue)
        wait_for(
            lambda: Report.objects.filter(pk=second.pk, state__in=["done", "failed"]).exists(),
            timeout=60,
        )
    except AssertionError:
        state = Report.objects.filter(pk=report.pk).values("state", "progress", "error").first()
        raise AssertionError(f"{state}\n" + "".join(worker.output[-8:])) from None
    finally:
        worker.stop()
    report.refresh_from_db()
    return report


def test_a_report_past_its_time_limit_fails_saying_so(event, lead, operator):
    retro_entries(event, lead, operator)
    for number in range(150):  # a PDF that takes seconds; Celery checks limits every second
        add_entry(event, operator, "learning", f"Learning number {number} " + "text " * 60)
    report = run_limited(event, lead, TALLY_REPORT_SOFT_TIME_LIMIT="0.5")
    assert report.state == Report.State.FAILED
    assert "exceeded its time limit (0.5 s)" in report.error
    assert not report.file


def test_a_report_past_its_memory_limit_fails_saying_so(event, lead, operator):
    retro_entries(event, lead, operator)
    report = run_limited(event, lead, TALLY_REPORT_MEMORY_LIMIT_MB="1")
    assert report.state == Report.State.FAILED
    assert "memory limit" in report.error
    assert not report.file


@pytest.mark.django_db(transaction=True)
def test_a_limit_that_lands_inside_a_query_still_fails_the_report(event, lead, monkeypatch):
    """Celery's soft limit is a signal: its exception can land while a query is on the wire,
    leaving the connection mid-command. The report must still be failed, saying why."""
    import signal

    import psycopg
    from celery.exceptions import SoftTimeLimitExceeded
    from django.db import connection

    from reports import services as reports
    from tests import services as real

    real.require_postgres()
    monkeypatch.setattr(reports, "SOFT_TIME_LIMIT", 0.2)
    report = Report.objects.create(event=event, format="md", requested_by=lead)
    params = connection.get_connection_params()
    # Another session holds the entries table, so the render's first entry query waits.
    with psycopg.connect(
        dbname=params["dbname"],
        host=params.get("host"),
        port=params.get("port"),
        user=params.get("user"),
        autocommit=False,
    ) as holder:
        holder.execute("LOCK TABLE retro_entry IN ACCESS EXCLUSIVE MODE")

        def limit(signum, frame):
            raise SoftTimeLimitExceeded()

        previous = signal.signal(signal.SIGALRM, limit)
        signal.setitimer(signal.ITIMER_REAL, 0.5)
        try:
            reports.render_report(report_id=report.pk)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
            holder.rollback()
    report.refresh_from_db()
    assert report.state == Report.State.FAILED
    assert "exceeded its time limit (0.2 s)" in report.error
