"""Real tools on loopback: ffmpeg -> SRT -> srt-live-transmit, stats posted through the API and
stored by a real worker; a lossy UDP relay makes one packet-loss anomaly; an encoder SIGKILLed
for 15 s makes one input-loss, one reconnect and one encoder-exit anomaly at the default
thresholds, a clean run none. 127.0.0.1 only, free ports, bounded time, every process reaped.
"""

import json
import random
import selectors
import signal
import socket
import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from integrations.models import Anomaly, IngestBatch, TelemetrySample
from retro.models import Feed, Session
from tests import services as real
from tests.workers import wait_for

from .helpers import free_port

pytestmark = pytest.mark.django_db(transaction=True)

BITRATE_K = 400  # video; audio adds 64k, MPEG-TS/SRT overhead a little more


@pytest.fixture
def tools():
    return real.require_binary("ffmpeg"), real.require_binary("srt-live-transmit")


@pytest.fixture
def live_feed(event):
    """A feed whose session is on air now."""
    now = timezone.now()
    session = Session.objects.create(
        event=event,
        title="Live now",
        slug="live",
        day=now.date(),
        scheduled_start=now - timedelta(minutes=5),
        scheduled_end=now + timedelta(hours=1),
    )
    return Feed.objects.create(
        event=event,
        session=session,
        slug="live-contrib",
        name="Live contribution",
        stage="contribution",
        transport="srt",
    )


class Processes:
    """Started processes, all killed and reaped at the end whatever happens."""

    def __init__(self):
        self.items = []

    def start(self, args, **kw):
        proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            **kw,
        )
        self.items.append(proc)
        return proc

    def close(self):
        for proc in self.items:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)


@pytest.fixture
def procs():
    p = Processes()
    yield p
    p.close()


class LossyRelay(threading.Thread):
    """UDP relay caller <-> listener; drops `share` of caller datagrams inside a time window."""

    def __init__(self, target_port: int, share: float, window: tuple[float, float]):
        super().__init__(daemon=True)
        self.port = free_port()
        self.target = target_port
        self.share, self.window = share, window
        self.rng = random.Random(7)
        self.stop = threading.Event()
        self.loss_started = self.loss_ended = None
        self.dropped = 0

    def run(self):
        front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        front.bind(("127.0.0.1", self.port))
        back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        back.connect(("127.0.0.1", self.target))
        sel = selectors.DefaultSelector()
        sel.register(front, selectors.EVENT_READ)
        sel.register(back, selectors.EVENT_READ)
        caller, began = None, None
        try:
            while not self.stop.is_set():
                for key, _ in sel.select(timeout=0.1):
                    if key.fileobj is front:
                        data, caller = front.recvfrom(65536)
                        began = began or time.monotonic()
                        if self._drop(time.monotonic() - began):
                            continue
                        back.send(data)
                    elif caller is not None:
                        front.sendto(back.recv(65536), caller)
        finally:
            front.close()
            back.close()

    def _drop(self, elapsed: float) -> bool:
        lo, hi = self.window
        if lo <= elapsed < hi:
            self.loss_started = self.loss_started or datetime.now(UTC)
            if self.rng.random() < self.share:
                self.dropped += 1
                return True
        elif elapsed >= hi and self.loss_started and not self.loss_ended:
            self.loss_ended = datetime.now(UTC)
        return False


def listener(procs, srt, port, stats):
    return procs.start(
        [
            srt,
            "-s:40",
            "-pf:json",
            f"-statsout:{stats}",
            f"srt://127.0.0.1:{port}?mode=listener&latency=200",
            "file://con",
        ]
    )


def encoder(procs, ffmpeg, port, progress, seconds):
    started = datetime.now(UTC)
    proc = procs.start(
        [
            ffmpeg,
            "-hide_banner",
            "-nostats",
            "-loglevel",
            "error",
            "-re",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x180:rate=25",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=1000:sample_rate=48000",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-tune",
            "zerolatency",
            "-b:v",
            f"{BITRATE_K}k",
            "-maxrate",
            f"{BITRATE_K}k",
            "-bufsize",
            f"{BITRATE_K}k",
            "-g",
            "50",
            "-c:a",
            "aac",
            "-b:a",
            "64k",
            "-t",
            str(seconds),
            "-progress",
            str(progress),
            "-stats_period",
            "1",
            "-f",
            "mpegts",
            f"srt://127.0.0.1:{port}?mode=caller&latency=200000&pkt_size=1316",
        ]
    )
    return proc, started


def post(api, feed, stats, progress_runs):
    """Post the stats and every encoder run's progress; wait until the worker stored them."""
    r = api.post(
        f"/api/v1/ingest/srt/summit/{feed.slug}/?counters=interval",
        stats.read_bytes(),
        content_type="application/x-ndjson",
    )
    assert r.status_code == 202, r.content
    ids = [r.json()["batch"]]
    for path, started in progress_runs:
        r = api.post(
            f"/api/v1/ingest/ffmpeg/summit/{feed.slug}/?started_at={started.isoformat().replace('+', '%2B')}",
            path.read_bytes(),
            content_type="text/plain",
        )
        assert r.status_code == 202, r.content
        ids.append(r.json()["batch"])
    wait_for(
        lambda: IngestBatch.objects.filter(pk__in=ids, state="done").count() == len(ids),
        timeout=30,
    )
    return ids


def records(stats):
    return [json.loads(line) for line in stats.read_text().splitlines() if line.startswith("{")]


def values(feed, metric):
    return list(
        TelemetrySample.objects.filter(feed=feed, metric__name=metric)
        .order_by("time")
        .values_list("value", flat=True)
    )


def test_a_clean_stream_is_stored_with_its_bitrate_and_no_loss(
    celery_worker, operator_token_api, live_feed, tools, procs, tmp_path
):
    ffmpeg, srt = tools
    port = free_port()
    stats, progress = tmp_path / "stats.jsonl", tmp_path / "progress.txt"
    srt_proc = listener(procs, srt, port, stats)
    time.sleep(0.5)
    enc, started = encoder(procs, ffmpeg, port, progress, 8)
    assert enc.wait(timeout=30) == 0
    time.sleep(1.0)
    srt_proc.send_signal(signal.SIGINT)
    srt_proc.wait(timeout=10)

    post(operator_token_api, live_feed, stats, [(progress, started)])

    recs = records(stats)
    assert len(recs) >= 6
    assert len(values(live_feed, "recv.mbitRate")) == len(recs)
    assert sum(values(live_feed, "recv.packetsLost")) == 0
    assert sum(values(live_feed, "recv.packetsDropped")) == 0
    steady = values(live_feed, "recv.mbitRate")[2:-2]
    assert BITRATE_K * 0.6 / 1000 <= sorted(steady)[len(steady) // 2] <= 0.75
    encoder_rate = values(live_feed, "encoder.bitrate")
    assert encoder_rate and BITRATE_K * 0.6 <= encoder_rate[-1] <= BITRATE_K * 1.6
    assert live_feed.telemetry_alerts.filter(kind="encoder_end").count() == 1
    assert live_feed.event.thresholds == {}
    assert list(Anomaly.objects.filter(feed=live_feed)) == []  # at the default thresholds


def test_a_lossy_relay_makes_exactly_one_packet_loss_anomaly_at_the_loss_window(
    celery_worker, operator_token_api, live_feed, tools, procs, tmp_path
):
    ffmpeg, srt = tools
    port = free_port()
    stats, progress = tmp_path / "stats.jsonl", tmp_path / "progress.txt"
    srt_proc = listener(procs, srt, port, stats)
    relay = LossyRelay(port, share=0.12, window=(3.0, 6.0))
    relay.start()
    try:
        time.sleep(0.5)
        enc, started = encoder(procs, ffmpeg, relay.port, progress, 9)
        assert enc.wait(timeout=30) == 0
        time.sleep(1.0)
    finally:
        relay.stop.set()
        relay.join(timeout=5)
    srt_proc.send_signal(signal.SIGINT)
    srt_proc.wait(timeout=10)
    assert relay.dropped > 10 and relay.loss_ended is not None

    post(operator_token_api, live_feed, stats, [(progress, started)])

    assert sum(values(live_feed, "recv.packetsLost")) > 0
    (anomaly,) = Anomaly.objects.filter(kind="packet_loss")
    assert anomaly.feed == live_feed
    assert abs((anomaly.start - relay.loss_started).total_seconds()) <= 2
    assert abs((anomaly.end - relay.loss_ended).total_seconds()) <= 2
    assert anomaly.peak > 1


def test_an_encoder_killed_for_15_s_is_one_input_loss_and_one_reconnect_at_the_defaults(
    celery_worker, operator_token_api, live_feed, tools, procs, tmp_path
):
    ffmpeg, srt = tools
    assert live_feed.event.thresholds == {}  # the defaults
    port = free_port()
    stats = tmp_path / "stats.jsonl"
    first, second = tmp_path / "run1.txt", tmp_path / "run2.txt"
    srt_proc = listener(procs, srt, port, stats)
    time.sleep(0.5)
    enc, started1 = encoder(procs, ffmpeg, port, first, 30)
    time.sleep(4)
    enc.send_signal(signal.SIGKILL)
    enc.wait(timeout=10)
    killed_at = datetime.now(UTC)
    time.sleep(15)  # the listener notices the dead peer (SRT peer idle timeout 5 s), then waits
    enc2, started2 = encoder(procs, ffmpeg, port, second, 3)
    assert enc2.wait(timeout=30) == 0
    time.sleep(1.0)
    srt_proc.send_signal(signal.SIGINT)
    srt_proc.wait(timeout=10)
    assert "progress=end" not in first.read_text()

    post(operator_token_api, live_feed, stats, [(first, started1), (second, started2)])

    sockets = {r["sid"] for r in records(stats)}
    assert len(sockets) == 2
    assert sorted(Anomaly.objects.filter(feed=live_feed).values_list("kind", flat=True)) == [
        "encoder_exit",
        "input_loss",
        "reconnect",
    ]
    loss = Anomaly.objects.get(feed=live_feed, kind="input_loss")
    # ffmpeg's progress blocks carry no clock (started_at + out_time trails the wall clock by
    # the encoder's start-up), so the start may sit a little before the kill
    assert -3.5 <= (loss.start - killed_at).total_seconds() <= 1
    assert loss.end >= started2 - timedelta(seconds=1)
    assert 14 <= (loss.end - loss.start).total_seconds() <= 22
    reconnect = Anomaly.objects.get(feed=live_feed, kind="reconnect")
    assert {reconnect.detail["socket_before"], reconnect.detail["socket_after"]} == sockets
    assert reconnect.start >= loss.start and reconnect.end <= loss.end
