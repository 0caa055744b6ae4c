"""Real Celery worker processes for tests: started against the test database, stopped after."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def database_url_for_tests() -> str:
    """The URL of the database pytest-django created, for another process to use."""
    s = connection.settings_dict
    if s["ENGINE"] == "django.db.backends.postgresql":
        host = s.get("HOST") or "127.0.0.1"
        port = s.get("PORT") or 5432
        auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
        return f"postgres://{auth}@{host}:{port}/{s['NAME']}"
    return f"sqlite:///{s['NAME']}"


class WorkerProcess:
    """One `celery worker` process consuming this test run's queues."""

    def __init__(
        self,
        *,
        concurrency: int = 2,
        broker_url: str | None = None,
        queues: list[str] | None = None,
        extra_env: dict | None = None,
        name: str = "w",
    ):
        self.queues = queues or [settings.QUEUE_INGEST, settings.QUEUE_SLOW, settings.QUEUE_DEFAULT]
        env = dict(os.environ)
        env.update(
            {
                "DATABASE_URL": database_url_for_tests(),
                "CELERY_BROKER_URL": broker_url or settings.CELERY_BROKER_URL,
                "TALLY_QUEUE_PREFIX": settings.QUEUE_PREFIX,
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(extra_env or {})
        self.command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "tally",
            "worker",
            "-Q",
            ",".join(self.queues),
            "-c",
            str(concurrency),
            "--pool",
            "prefork",
            "-n",
            f"{name}{os.getpid()}-{time.monotonic_ns()}@%h",
            "-l",
            "info",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        self.env = env
        self.process: subprocess.Popen | None = None
        self.output: list[str] = []
        self._ready = threading.Event()

    def start(self, timeout: float = 60) -> "WorkerProcess":
        self.process = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._pump, daemon=True).start()
        if not self._ready.wait(timeout):
            self.stop()
            raise RuntimeError("Celery worker did not start:\n" + "".join(self.output[-40:]))
        return self

    def _pump(self) -> None:
        for line in self.process.stdout:
            self.output.append(line)
            if " ready." in line:
                self._ready.set()

    def child_pids(self) -> list[int]:
        """The prefork children (where tasks run)."""
        out = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True)
        return [int(p) for p in out.stdout.split()]

    def kill(self) -> None:
        """kill -9 the whole worker: main process and children, no goodbye."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


def wait_for(predicate, timeout: float = 30, interval: float = 0.2):
    """Poll until predicate() is truthy; return its value or raise after timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")
