"""Webhook fan-out: 1,000 entries with 5 webhooks each are delivered with p95 lag <= 2 s from
the entry's commit, and the entry POST p95 stays within 10 % of the same run's POSTs to an
event without webhooks.

PostgreSQL, Redis, real Celery worker processes on the webhooks queue (the Procfile's shape:
threads pool) and a local HTTP receiver (a ThreadingHTTPServer in this process) that records
when each signed delivery arrives. POSTs go through Django's whole middleware stack
in-process, alternating between the event with webhooks and the one without, so both see
the same machine load (the workers delivering included). The lag is measured from the start
of the POST (the commit happens inside it), so it is slightly overstated, never understated.
"""

import hashlib
import hmac
import os
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
os.environ["TALLY_QUEUE_PREFIX"] = f"bench-webhooks-{os.getpid()}-"
os.environ["TALLY_WEBHOOK_ALLOWED_HOSTS"] = "127.0.0.1"

from common import ROOT, percentile, report, setup_django  # noqa: E402

ENTRIES = 1000
WEBHOOKS = 5
WORKERS = 2  # processes, each with a pool of threads
THREADS = 8
WARMUP = 20
LAG_TARGET = 2.0
LOG_DIR = Path(os.environ.get("TALLY_DATA_DIR") or ROOT / "data")  # the workers' output
POST_SLACK = 1.10


class Arrivals:
    """What the receiver saw: (entry id, arrival time) per signed entry.created delivery."""

    def __init__(self, secrets: dict[str, str]):
        self.secrets = secrets  # path -> secret
        self.times: list[tuple[str, float]] = []
        self.bad_signatures = 0
        self.lock = threading.Lock()


def start_receiver(arrivals: Arrivals) -> ThreadingHTTPServer:
    import orjson

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            at = time.time()
            body = self.rfile.read(int(self.headers["Content-Length"]))
            secret = arrivals.secrets.get(self.path, "")
            expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            with arrivals.lock:
                if expected != self.headers.get("X-Tally-Signature"):
                    arrivals.bad_signatures += 1
                elif self.headers.get("X-Tally-Event") == "entry.created":
                    arrivals.times.append((orjson.loads(body)["data"]["id"], at))
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def start_workers(n: int) -> list[subprocess.Popen]:
    from django.conf import settings

    LOG_DIR.mkdir(parents=True, exist_ok=True)
    procs = []
    for i in range(n):
        command = [
            sys.executable, "-m", "celery", "-A", "tally", "worker",
            "-Q", settings.QUEUE_WEBHOOKS, "--pool", "threads", "-c", str(THREADS),
            "-n", f"bench-webhooks-{i}-{os.getpid()}@%h", "-l", "warning",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
        log = open(LOG_DIR / f"bench-webhooks-worker-{i}.log", "w")  # noqa: SIM115
        procs.append(
            subprocess.Popen(
                command,
                cwd=ROOT,
                env=dict(os.environ),
                start_new_session=True,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    return procs


def two_events():
    """The event with webhooks and a twin without, the bench operator on both."""
    from board_data import fresh_event

    from retro import services

    plain, _ = fresh_event("bench-plain")
    hooked, users = fresh_event("bench-hooks")  # recreates the bench users
    services.set_membership(event=plain, user=users["operator"], role="operator", actor=None)
    return hooked, plain, users


def add_webhooks(event, lead, port: int) -> dict[str, str]:
    from webhooks import services

    secrets = {}
    for i in range(WEBHOOKS):
        webhook = services.create_webhook(
            event=event,
            actor=lead,
            url=f"http://127.0.0.1:{port}/hook/{i}",
            events=["entry.created"],
        )
        secrets[f"/hook/{i}"] = webhook.secret
    return secrets


def entry_body(event, i: int) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "kind": ["win", "learning", "action"][i % 3],
        "body": f"Bench entry {i}: SRT latency **too low** on the ASL return",
        "feeds": [f"s{i % 8}-feed-{i % 20}"],
        "session": f"s{i % 8}",
        "occurred_at": (event.start + timedelta(hours=27)).isoformat(),
    }


def post_entries(client, hooked, plain) -> tuple[dict[str, float], list[float], list[float]]:
    """Alternate POSTs to both events; (start time per hooked entry id, both durations in ms)."""
    started_at, with_hooks, without = {}, [], []
    for i in range(WARMUP + ENTRIES):
        for event, times in ((hooked, with_hooks), (plain, without)):
            body = entry_body(event, i)
            wall, started = time.time(), time.perf_counter()
            response = client.post(
                f"/api/v1/events/{event.slug}/entries/", body, content_type="application/json"
            )
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 201, response.content[:300]
            if i >= WARMUP:
                times.append(elapsed)
                if event is hooked:
                    started_at[body["id"]] = wall
        if i and i % 200 == 0:
            print(f"  posted {i}/{WARMUP + ENTRIES} entries to each event", flush=True)
    return started_at, with_hooks, without


def wait_for_deliveries(arrivals: Arrivals, expected: int, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    last = -1
    while time.monotonic() < deadline:
        with arrivals.lock:
            got = len(arrivals.times)
        if got >= expected:
            return
        if got != last:
            print(f"  delivered {got}/{expected}", flush=True)
            last = got
        time.sleep(1)
    raise SystemExit(f"only {len(arrivals.times)} of {expected} deliveries arrived in {timeout}s")


def main() -> int:
    if not os.environ.get("CELERY_BROKER_URL"):
        print("needs Redis (CELERY_BROKER_URL) and real workers")
        return 1
    setup_django("tally_bench_webhooks")
    from django.test import Client

    hooked, plain, users = two_events()
    arrivals = Arrivals({})
    server = start_receiver(arrivals)
    arrivals.secrets.update(add_webhooks(hooked, users["lead"], server.server_address[1]))
    workers = start_workers(WORKERS)
    try:
        time.sleep(5)  # the workers connect and take the pings
        client = Client(HTTP_HOST="localhost")
        client.force_login(users["operator"])
        started_at, with_hooks, without = post_entries(client, hooked, plain)
        expected = len(started_at) * WEBHOOKS
        wait_for_deliveries(arrivals, expected + WARMUP * WEBHOOKS)
    finally:
        for proc in workers:
            proc.terminate()
        for proc in workers:
            proc.wait(30)
        server.shutdown()
    lags = [at - started_at[entry] for entry, at in arrivals.times if entry in started_at]
    assert len(lags) == expected, (len(lags), expected)
    lag95 = percentile(lags, 95)
    post95, plain95 = percentile(with_hooks, 95), percentile(without, 95)
    print(
        f"{expected} deliveries of {len(started_at)} entries x {WEBHOOKS} webhooks: lag p50 "
        f"{percentile(lags, 50):.2f} s, p95 {lag95:.2f} s, max {max(lags):.2f} s; "
        f"bad signatures {arrivals.bad_signatures}"
    )
    print(
        f"entry POST p95 {post95:.1f} ms with webhooks (p50 {percentile(with_hooks, 50):.1f}), "
        f"{plain95:.1f} ms without (p50 {percentile(without, 50):.1f})"
    )
    lag_ok = lag95 <= LAG_TARGET and arrivals.bad_signatures == 0
    post_ok = post95 <= plain95 * POST_SLACK
    report("webhook delivery lag p95", lag95, "s", f"<= {LAG_TARGET} s", lag_ok)
    report(
        "entry POST p95 with webhooks / without",
        post95 / plain95,
        "x",
        f"<= {POST_SLACK}x",
        post_ok,
        baseline=f"without webhooks p95 {plain95:.1f} ms, with {post95:.1f} ms",
    )
    return 0 if lag_ok and post_ok else 1


if __name__ == "__main__":
    sys.exit(main())
