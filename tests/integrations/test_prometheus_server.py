"""A real Prometheus server (Debian's prometheus) both ways: it scrapes a small exposition of
encoder metrics and remote-writes them into Tally's live server, where the worker stores them
on the feeds the labels name; and it scrapes Tally's /metrics with the metrics token.

In the time-travel pass faketime moves our processes' clock but not the Go server's, and
Prometheus refuses samples stamped more than 10 minutes ahead: there its remote writes pass a
small relay that moves every sample by the clocks' difference (as tests/retime.py moves real
captures), so they land inside the event like on any other day."""

import json
import subprocess
import threading
import urllib.error
import urllib.request
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from integrations.models import IngestBatch, TelemetrySample
from tests import services as real
from tests.workers import wait_for

from . import prometheus_wire as wire
from .helpers import free_port

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

TOKEN = "metrics-token-prometheus-test-42"


def exposition() -> bytes:
    """Encoder metrics as an exporter serves them (Prometheus stamps them when it scrapes)."""
    return (
        b"# TYPE encoder_fps gauge\n"
        b'encoder_fps{feed="kn1-asl"} 50\n'
        b"# TYPE recv:packetsLost gauge\n"
        b'recv:packetsLost{stream="srt://kn1-contrib-a"} 3\n'
        b"# TYPE gear_temperature_celsius gauge\n"
        b'gear_temperature_celsius{site="unknown-rack"} 41.5\n'
    )


class _Exporter(BaseHTTPRequestHandler):
    def do_GET(self):
        body = exposition()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def exporter():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Exporter)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def clock_offset_ms() -> int:
    """Our clock minus the machine's real one (0 unless faketime moves ours)."""
    real_now = subprocess.run(
        ["date", "+%s%3N"], env=real.real_clock_env(), capture_output=True, text=True, check=True
    )
    return int(datetime.now(UTC).timestamp() * 1000) - int(real_now.stdout)


class _Retimer(BaseHTTPRequestHandler):
    """Forwards remote writes to Tally with every sample moved by server.offset_ms."""

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        moved = [
            (labels, [(bits, stamp + self.server.offset_ms) for bits, stamp in samples])
            for labels, samples in wire.decode(body)
        ]
        names = ("Authorization", "Content-Encoding", "Content-Type", "User-Agent")
        request = urllib.request.Request(
            self.server.target,
            data=wire.encode(moved),
            headers={name: self.headers[name] for name in names if self.headers[name]},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, answer = response.status, response.read()
        except urllib.error.HTTPError as err:
            status, answer = err.code, err.read()
        self.send_response(status)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


@contextmanager
def remote_write_url(tally: str):
    """Tally's remote-write URL, behind the retiming relay when our clock is moved."""
    url = f"http://{tally}/api/v1/ingest/prometheus/summit/"
    offset = clock_offset_ms()
    if abs(offset) < 60_000:
        yield url
        return
    relay = ThreadingHTTPServer(("127.0.0.1", 0), _Retimer)
    relay.target, relay.offset_ms = url, offset
    threading.Thread(target=relay.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{relay.server_address[1]}/"
    finally:
        relay.shutdown()
        relay.server_close()


def config(exporter_port: int, tally: str, ingest_key: str, write_url: str = "") -> dict:
    return {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [
            {
                "job_name": "encoders",
                "static_configs": [{"targets": [f"127.0.0.1:{exporter_port}"]}],
            },
            {
                "job_name": "tally",
                "metrics_path": "/metrics",
                "authorization": {"type": "Bearer", "credentials": TOKEN},
                "static_configs": [{"targets": [tally]}],
            },
        ],
        "remote_write": [
            {
                "url": write_url or f"http://{tally}/api/v1/ingest/prometheus/summit/",
                "authorization": {"credentials": ingest_key},
                "queue_config": {"batch_send_deadline": "1s", "min_backoff": "100ms"},
                "metadata_config": {"send": False},
                "write_relabel_configs": [
                    {"source_labels": ["job"], "regex": "encoders", "action": "keep"}
                ],
            }
        ],
    }


@contextmanager
def running_prometheus(tmp_path: Path, cfg: dict):
    """Prometheus on a free port with its own data folder and this config; yields its URL."""
    binary = real.require_binary("prometheus")
    path = tmp_path / "prometheus.yml"
    path.write_text(json.dumps(cfg))  # YAML reads JSON
    port = free_port()
    log = (tmp_path / "prometheus.log").open("w")
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={path}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=real.real_clock_env(),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _ready(base, process, tmp_path), timeout=60, interval=0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        log.close()


def _ready(base: str, process: subprocess.Popen, tmp_path: Path) -> bool:
    if process.poll() is not None:
        raise AssertionError("prometheus exited:\n" + (tmp_path / "prometheus.log").read_text())
    try:
        with urllib.request.urlopen(f"{base}/-/ready", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def api(base: str, path: str) -> dict:
    with urllib.request.urlopen(f"{base}{path}", timeout=5) as response:
        answer = json.load(response)
    assert answer["status"] == "success", answer
    return answer["data"]


def stored(slug: str, metric: str) -> list[float]:
    return list(
        TelemetrySample.objects.filter(feed__slug=slug, metric__name=metric).values_list(
            "value", flat=True
        )
    )


def test_prometheus_remote_writes_into_tally_and_scrapes_its_metrics(
    celery_worker, event, ingest_key, exporter, live_server, settings, tmp_path
):
    settings.TALLY_METRICS_TOKEN = TOKEN
    tally = live_server.url.removeprefix("http://")
    with (
        remote_write_url(tally) as write_url,
        running_prometheus(
            tmp_path, config(exporter, tally, ingest_key[1], write_url)
        ) as prometheus,
    ):
        try:
            remote_written_and_scraped(prometheus)
        except AssertionError as err:
            log = (tmp_path / "prometheus.log").read_text()[-3000:]
            seen = list(IngestBatch.objects.values_list("state", "samples", "error"))
            seen += list(TelemetrySample.objects.values_list("feed_id", "metric_id", "value")[:5])
            seen += [list(event.feeds.values_list("pk", "slug"))]
            raise AssertionError(f"{err}\nbatches: {seen[-5:]}\nprometheus log:\n{log}") from err


def remote_written_and_scraped(prometheus: str) -> None:
    # (a) scraped from the exporter, remote-written, stored by the worker on the named feeds
    wait_for(lambda: len(stored("kn1-asl", "encoder_fps")) >= 2, timeout=90, interval=0.5)
    assert set(stored("kn1-asl", "encoder_fps")) == {50.0}
    wait_for(lambda: stored("kn1-contrib-a", "recv.packetsLost"), timeout=30, interval=0.5)
    assert set(stored("kn1-contrib-a", "recv.packetsLost")) == {3.0}
    batches = IngestBatch.objects.filter(format="prometheus")
    assert batches.exclude(state="done").filter(state__in=["failed", "quarantined"]).count() == 0
    reasons = [r["reason"] for b in batches.filter(state="done") for r in b.rejected]
    assert any("unknown-rack" in reason and "unknown feed" in reason for reason in reasons)
    assert not stored("kn1-asl", "gear_temperature_celsius")

    # (b) Prometheus scrapes Tally's /metrics with the token: the target is up, tally_ series exist
    def tally_up():
        targets = api(prometheus, "/api/v1/targets")["activeTargets"]
        return [t for t in targets if t["labels"]["job"] == "tally" and t["health"] == "up"]

    wait_for(tally_up, timeout=30, interval=0.5)
    found = wait_for(
        lambda: api(prometheus, "/api/v1/query?query=tally_ingest_samples_total")["result"],
        timeout=30,
        interval=0.5,
    )
    assert any(r["metric"].get("format") == "prometheus" for r in found)
    latency = api(prometheus, "/api/v1/query?query=tally_http_request_duration_seconds_count")
    views = {r["metric"]["view"] for r in latency["result"]}
    assert "ingest-prometheus" in views


def test_a_wrong_metrics_token_leaves_the_target_down(
    tmp_path, exporter, live_server, ingest_key, settings
):
    settings.TALLY_METRICS_TOKEN = "another-token-entirely-0000000"
    tally = live_server.url.removeprefix("http://")
    with running_prometheus(tmp_path, config(exporter, tally, ingest_key[1])) as base:

        def tally_target():
            targets = api(base, "/api/v1/targets")["activeTargets"]
            return [t for t in targets if t["labels"]["job"] == "tally" and t["lastError"]]

        (target,) = wait_for(tally_target, timeout=30, interval=0.5)
    assert target["health"] == "down"
    assert "401" in target["lastError"]
