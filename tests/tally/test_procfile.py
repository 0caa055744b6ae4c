"""The production Procfile starts (honcho) and its web process answers."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests import services as real
from tests.workers import database_url_for_tests

ROOT = Path(__file__).resolve().parents[2]
STRONG = "q7Vt3-mZp9xK2aL8fR0wN5cY1bH6jD4sE_uG0iT9oP3vQ8rW2yX7zA5nM1kJ6hB4"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_procfile_processes_start_and_web_answers(tmp_path, settings):
    real.require_postgres()
    real.require_redis()
    port = free_port()
    env = dict(os.environ)
    env.update(
        {
            "PORT": str(port),
            "HOST": "127.0.0.1",
            "TALLY_ENV": "production",
            "SECRET_KEY": STRONG,
            "ALLOWED_HOSTS": "127.0.0.1",
            "TALLY_SSL_REDIRECT": "0",
            "DATABASE_URL": database_url_for_tests(),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "TALLY_DATA_DIR": str(tmp_path),
            "WEB_CONCURRENCY": "1",
            "INGEST_CONCURRENCY": "1",
            "PATH": f"{Path(sys.executable).parent}:{env['PATH']}",
        }
    )
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=300,  # compressing every static file takes a while on a loaded machine
    )
    honcho = subprocess.Popen(
        [sys.executable, "-m", "honcho", "start"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        body = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and body is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    body = r.read().decode()
            except OSError:
                time.sleep(0.5)
        assert body == '{"status": "ok"}'
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/static/css/tally.css") as r:
            assert r.status == 200
    finally:
        os.killpg(honcho.pid, 15)
        output = honcho.communicate(timeout=30)[0]
    assert "worker.1" in output and "beat.1" in output and "slow.1" in output
    assert "webhooks.1" in output
