"""`manage.py run_embedded [addr:port]`: the web server and a Celery worker side by side.

The embedded default (SQLite, no Redis) with a real background worker: task messages pass
through files in the data dir (kombu's filesystem transport, TALLY_EMBEDDED_WORKER=1), the
worker runs beat inside it (reminders, digests, the ingest sweeper) and renders reports, so
the report's progress bar shows as in production. Ctrl-C stops both; when one of the two
exits, the other is stopped too. With CELERY_BROKER_URL set it uses that broker instead.
"""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand

STOP_GRACE_SECONDS = 20


def worker_command(queues: list[str]) -> list[str]:
    """The worker process: every queue, two children, beat inside (one host, one beat)."""
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "tally",
        "worker",
        "-B",
        "-s",
        str(settings.DATA_DIR / "celerybeat-schedule"),
        "-Q",
        ",".join(queues),
        "-c",
        "2",
        "--pool",
        "prefork",
        "-l",
        "info",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]


def queues() -> list[str]:
    names = [settings.QUEUE_INGEST, settings.QUEUE_SLOW, settings.QUEUE_DEFAULT]
    extra = getattr(settings, "QUEUE_WEBHOOKS", None)
    return names + ([extra] if extra else [])


def _signal_group(process: subprocess.Popen):
    return lambda sig: os.killpg(process.pid, sig)


def _interrupted(signum, frame):
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = "Run the web server and a background worker (with beat) until Ctrl-C."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument(
            "--noreload", action="store_true", help="runserver without the autoreloader"
        )

    def handle(self, *args, addrport, noreload, **options):
        env = dict(os.environ, TALLY_EMBEDDED_WORKER="1", PYTHONUNBUFFERED="1")
        for folder in ("messages", "control"):
            (settings.EMBEDDED_QUEUE_DIR / folder).mkdir(parents=True, exist_ok=True)
        web = [sys.executable, "manage.py", "runserver", addrport]
        if noreload:
            web.append("--noreload")
        broker = os.environ.get("CELERY_BROKER_URL") or f"files in {settings.EMBEDDED_QUEUE_DIR}"
        self.stdout.write(f"Worker: Celery, queues {', '.join(queues())}, beat; broker: {broker}")
        processes = {
            "worker": self._start(worker_command(queues()), env),
            "web": self._start(web, env),
        }
        try:
            self._wait_for_either(processes)
        except KeyboardInterrupt:
            self.stdout.write("\nStopping the web server and the worker…")
        finally:
            self._stop_all(processes)

    def _start(self, command: list[str], env: dict) -> subprocess.Popen:
        # Own process groups: each stops with its children (runserver's reloader, the
        # worker's pool), and a Ctrl-C reaches them once, through us.
        return subprocess.Popen(command, cwd=settings.BASE_DIR, env=env, start_new_session=True)

    def _wait_for_either(self, processes: dict[str, subprocess.Popen]) -> None:
        signal.signal(signal.SIGTERM, _interrupted)  # stopped by a supervisor: same as Ctrl-C
        while True:
            for name, process in processes.items():
                if process.poll() is not None:
                    self.stderr.write(f"The {name} process exited ({process.returncode}).")
                    return
            time.sleep(0.5)

    def _stop_all(self, processes: dict[str, subprocess.Popen]) -> None:
        for name, process in processes.items():
            if process.poll() is None:
                # The worker's main process shuts its pool down warmly (a running task
                # finishes); runserver's reloader and its child go as a group.
                (process.send_signal if name == "worker" else _signal_group(process))(
                    signal.SIGTERM
                )
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for process in processes.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
