"""`manage.py run_embedded` (what `make run` starts): on the embedded default (SQLite, no
Redis) a report requested over HTTP is rendered by the separate worker process, not inside
the request; Ctrl-C stops the web server and the worker."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.workers import wait_for

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow]

SETUP = """
from datetime import timedelta
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.authtoken.models import Token
from retro import services
from retro.models import Event
lead = get_user_model().objects.create_user("lead", password="a-long-test-password-42")
now = timezone.now()
event = Event.objects.create(name="Embedded Summit", slug="embedded", venue="Hall",
    time_zone="Europe/Dublin", start=now - timedelta(days=1), end=now + timedelta(days=2),
    state="live")
services.set_membership(event=event, user=lead, role="lead", actor=None)
services.log_entry(event=event, author=lead, kind="win", body="Failover to B was clean")
services.log_entry(event=event, author=lead, kind="learning", body="Caption lag on DE subs")
print("TOKEN", Token.objects.create(user=lead).key)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def embedded_env(data_dir: Path) -> dict:
    """The laptop default: no database URL, no broker, a fresh data dir."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "TALLY_QUEUE_PREFIX", "CACHE_URL"}
        and not k.startswith("TALLY_TEST")
    }
    env.update(TALLY_DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1", DJANGO_DEBUG="1")
    return env


def manage(env, *args) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def api(base, token, path, body=None):
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
        method="POST" if body is not None else "GET",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.read()


def answers(base) -> bool:
    try:
        urllib.request.urlopen(base + "/accounts/login/", timeout=2)
        return True
    except OSError:
        return False


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_report_requested_over_http_is_rendered_by_the_worker_process(tmp_path):
    env = embedded_env(tmp_path / "data")
    manage(env, "migrate", "--noinput", "-v", "0")
    token = manage(env, "shell", "-c", SETUP).split("TOKEN ")[1].strip()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(tmp_path / "run.log", "w+")  # noqa: SIM115 (read after the process ends)
    run = subprocess.Popen(
        [sys.executable, "manage.py", "run_embedded", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for(lambda: answers(base) and " ready." in (tmp_path / "run.log").read_text(), 60)
        children = [
            int(p)
            for p in subprocess.run(
                ["pgrep", "-P", str(run.pid)], capture_output=True, text=True
            ).stdout.split()
        ]
        assert len(children) == 2  # the web server and the worker

        started = time.monotonic()
        status, body = api(base, token, "/api/v1/events/embedded/reports/", {"format": "pdf"})
        answered_in = time.monotonic() - started
        report = json.loads(body)
        assert status == 202 and report["state"] == "queued" and report["started_at"] is None
        assert answered_in < 5  # the request did not render the PDF

        def finished():
            state = json.loads(api(base, token, f"/api/v1/reports/{report['id']}/")[1])
            return state if state["state"] in ("done", "failed") else None

        done = wait_for(finished, timeout=120, interval=0.5)
        assert done["state"] == "done", done["error"]
        assert done["progress"] == 100
        status, pdf = api(base, token, done["download_url"])
        assert status == 200 and pdf.startswith(b"%PDF")
        output = (tmp_path / "run.log").read_text()
        assert "reports.tasks.render_report[" in output and "succeeded" in output
        assert "ForkPoolWorker" in output  # a worker child rendered it, not the web process
    finally:
        os.kill(run.pid, signal.SIGINT)  # Ctrl-C
        code = run.wait(40)
    assert code == 0
    assert not [pid for pid in children if alive(pid)]
    assert not answers(base)
