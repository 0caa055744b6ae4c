"""GET /metrics: who may read it, what it shows (request latency by URL name, ingest counters
from real worker processes, database gauges at scrape time), and the multiprocess folder."""

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from integrations.models import IngestBatch
from retro import services as retro_services
from tally import metrics
from tests.conftest import KEYNOTE_START, iso
from tests.integrations.telemetry_factory import eventbridge, ingest
from tests.workers import wait_for

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-for-tests-0123456789"


@pytest.fixture
def token(settings):
    settings.TALLY_METRICS_TOKEN = TOKEN
    return TOKEN


def scrape(client=None) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} of one authorised scrape."""
    response = (client or Client()).get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.content.decode())
        for s in family.samples
    }


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_only_the_token_or_staff_may_read_metrics(token, client, operator, admin_user):
    anonymous = client.get("/metrics")
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong-token").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Token {TOKEN}").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200
    assert client.post("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 405
    client.force_login(operator)
    assert client.get("/metrics").status_code == 403
    client.force_login(admin_user)
    assert client.get("/metrics").status_code == 200


def test_without_a_token_configured_no_bearer_gets_in(settings, client):
    settings.TALLY_METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 401


def test_request_latency_is_labelled_by_url_name_not_path(token, operator_client, event):
    before = scrape()
    assert operator_client.get("/events/summit/").status_code == 200
    assert operator_client.get("/events/no-such-event-xyz/").status_code == 404
    assert Client().get("/no/such/page/").status_code == 404
    after = scrape()
    name = "tally_http_request_duration_seconds_count"
    view = operator_client.get("/events/summit/").resolver_match.view_name
    grew = value(after, name, view=view, method="GET", status="2xx") - value(
        before, name, view=view, method="GET", status="2xx"
    )
    assert grew == 1
    assert value(after, name, view=view, method="GET", status="4xx") >= 1
    assert value(after, name, view="unmatched", method="GET", status="4xx") >= 1
    assert not any("summit" in str(labels) for _, labels in after)


def test_database_gauges_are_computed_at_each_scrape(token, event, operator):
    at = KEYNOTE_START + timedelta(minutes=41)
    before = scrape()
    ingest(event, "eventbridge", eventbridge("alarm-9", "SET", at))
    IngestBatch.objects.create(
        event=event, format="generic-json", body=b"[]", received_at=event.start
    )
    retro_services.log_entry(event=event, author=operator, kind="win", body="ASL return was clean")
    after = scrape()
    assert value(after, "tally_anomalies_open", kind="alert") == 1
    assert value(after, "tally_ingest_batches_waiting", format="generic-json", state="pending") == 1
    assert value(after, "tally_ingest_oldest_pending_seconds", format="generic-json") > 3600
    writes = "tally_entry_writes_total"
    assert value(after, writes, kind="win") - value(before, writes, kind="win") == 1
    assert ("tally_queue_depth", (("queue", "ingest"),)) in after


@pytest.mark.django_db(transaction=True)
def test_counts_from_worker_processes_add_up_in_the_scrape(
    token, celery_worker, event, operator_api
):
    assert metrics.MULTIPROC_DIR, "a broker is configured: multiprocess mode"
    name = "tally_ingest_samples_total"
    before = value(scrape(), name, format="generic-json")
    body = [
        {"source": "srt://kn1-contrib-a", "metric": "encoder.fps", "time": iso(t), "value": 50}
        for t in (KEYNOTE_START + timedelta(seconds=s) for s in range(7))
    ]
    response = operator_api.post("/api/v1/ingest/generic/summit/", body, format="json")
    assert response.status_code == 202
    wait_for(lambda: IngestBatch.objects.get().state == "done", timeout=90)
    after = wait_for(
        lambda: (s := scrape()) and value(s, name, format="generic-json") > before and s
    )
    assert value(after, name, format="generic-json") - before == 7
    assert value(after, "tally_ingest_lag_seconds_count", format="generic-json") >= 1
    worker_pids = {str(pid) for pid in celery_worker.child_pids()}
    files = os.listdir(metrics.MULTIPROC_DIR)
    assert any(f.rsplit("_", 1)[-1].removesuffix(".db") in worker_pids for f in files)


def test_the_folder_is_emptied_only_when_every_writer_is_gone(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead = int(done.stdout)
    for name in (f"counter_{dead}.db", f"histogram_{dead}.db"):
        (tmp_path / name).write_bytes(b"x")
    assert metrics.clean_after_last_run(tmp_path) == 2
    assert list(tmp_path.iterdir()) == []

    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (tmp_path / f"counter_{dead}.db").write_bytes(b"x")
        (tmp_path / f"counter_{sleeper.pid}.db").write_bytes(b"x")
        assert metrics.clean_after_last_run(tmp_path) == 0
        assert len(list(tmp_path.iterdir())) == 2
    finally:
        sleeper.kill()
        sleeper.wait()


def test_folders_of_finished_runs_are_swept(tmp_path):
    keep, finished, running = tmp_path / "mine", tmp_path / "old-run", tmp_path / "new-run"
    for folder in (keep, finished, running):
        folder.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    (finished / f"counter_{done.stdout.strip()}.db").write_bytes(b"x")
    (keep / f"counter_{done.stdout.strip()}.db").write_bytes(b"x")
    day_ago = metrics.fs_now(tmp_path) - metrics.STALE_FOLDER - 60
    os.utime(finished, (day_ago, day_ago))
    metrics.sweep_finished_runs(tmp_path, keep=keep)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine", "new-run"]
    assert list(keep.iterdir())  # the current folder is clean_after_last_run's business


def test_counting_never_fails_the_work_counted(tmp_path, monkeypatch, caplog):
    folder = tmp_path / "removed-while-running"
    monkeypatch.setattr(metrics, "MULTIPROC_DIR", str(folder))
    calls = []

    def count():
        calls.append(1)
        (folder / "counter_1.db").write_bytes(b"x")

    metrics.record(count)
    assert (len(calls), (folder / "counter_1.db").exists()) == (2, True)  # made again, retried
    metrics.record(lambda: (tmp_path / "no" / "such" / "file").read_bytes())
    assert "metrics not recorded" in caplog.text
