"""Throwaway services for fault tests: a private redis-server and workers on private queues."""

import os
import socket
import subprocess
import time
import uuid
from datetime import timedelta

from django.utils import timezone

from integrations.models import IngestBatch
from tally.celery import app
from tests import services as real
from tests.workers import WorkerProcess, wait_for


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ThrowawayRedis:
    """A redis-server on a free port, no persistence: restarting it loses every message."""

    def __init__(self):
        self.binary = real.require_binary("redis-server")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self) -> "ThrowawayRedis":
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=real.real_clock_env(),
        )
        wait_for(lambda: _answers(self.port), timeout=10, interval=0.05)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class PrivateWorker(WorkerProcess):
    """A worker on its own queue names and broker, so nothing else consumes its messages."""

    def __init__(self, broker_url: str, prefix: str | None = None, concurrency: int = 1):
        self.prefix = prefix or f"fault-{uuid.uuid4().hex[:8]}-"
        super().__init__(
            concurrency=concurrency,
            broker_url=broker_url,
            queues=[f"{self.prefix}ingest", f"{self.prefix}default"],
            extra_env={"TALLY_QUEUE_PREFIX": self.prefix},
            name="fault",
        )
        self.broker_url = broker_url

    def send(self, task, *args) -> None:
        """Publish a task to this worker's ingest queue on its broker."""
        with app.connection_for_write(self.broker_url) as conn:
            task.apply_async(args=args, connection=conn, queue=f"{self.prefix}ingest")


def old_batch(**fields) -> IngestBatch:
    """A batch row as the web process stores it, received long enough ago for the sweeper."""
    fields.setdefault("received_at", timezone.now() - timedelta(minutes=2))
    return IngestBatch.objects.create(**fields)


def rows_csv(count: int, metrics: int = 20, offset: int = 0) -> bytes:
    """A generic CSV of `count` samples spread over `metrics` metrics, one per second, from a
    day ago plus `offset` seconds (batches with other offsets hold other samples)."""
    start = int(time.time()) - 86400 + offset
    lines = ["time,metric,value,unit"]
    for i in range(count):
        second = start + i // metrics
        lines.append(f"{second * 1000},bench.m{i % metrics},{i % 97}.5,count")
    return ("\n".join(lines) + "\n").encode()


def env_ok() -> None:
    if os.environ.get("DATABASE_URL", "").startswith("postgres") is False:
        real.require_postgres()
