"""Demo telemetry: a few hours of real-format payloads pushed through the ingestion services.

Payloads are built in the formats the gear writes (srt-live-transmit JSON lines, ffmpeg
-progress, Firehose Metric Streams, EventBridge) and go through `services.ingest_batch` and
`services.process_batch`, the same path the endpoints use. Request ids are deterministic, so a
second run adds nothing. INCIDENTS lists what the demo entries can talk about.
"""

import base64
import json
import math
import random
from datetime import UTC, datetime, timedelta

from django.db import transaction

from demo.signal_path import SUBTITLE_LANGUAGES, TRANSLATION_LANGUAGES
from integrations import services
from integrations.models import IngestBatch
from retro.models import Event, Session

DEMO_SLUG = "demo"
STEP = 10  # seconds between SRT records (srt-live-transmit -s:N, about 10 s at this rate)
BATCH_RECORDS = 60  # a collector posts every 10 minutes
ACCOUNT = "111122223333"
REGION = "us-west-2"
TX_ARN = f"arn:aws:mediaconnect:{REGION}:{ACCOUNT}:flow:1-kn1-tx:kn1-tx"
SPARE_ARN = f"arn:aws:mediaconnect:{REGION}:{ACCOUNT}:flow:1-spare-tx:spare-tx"

# (feed slug, kind, start offset, end offset, description); offsets from the session start.
_INCIDENT_SPECS = [
    (
        "kn2-contrib-b",
        "packet_loss_burst",
        "kn2",
        timedelta(minutes=22),
        timedelta(minutes=28),
        "Packet-loss burst on the transatlantic contribution path B (rerouted via Dublin): "
        "recv.packetsLost up to ~180 per record, RTT 70 -> 165 ms, retransmissions up.",
    ),
    (
        "kn1-contrib-b",
        "encoder_restart",
        "kn1",
        timedelta(minutes=41, seconds=10),
        timedelta(minutes=41, seconds=50),
        "Encoder B restarted: ffmpeg stopped without progress=end, SRT reconnected with a new "
        "socket id 40 s later.",
    ),
    (
        "kn1-program",
        "medialive_input_loss",
        "kn1",
        timedelta(minutes=41, seconds=20),
        timedelta(minutes=41, seconds=55),
        "MediaLive input-loss alert on pipeline 1 of ch-kn1 (fed by contribution B): "
        "EventBridge SET then CLEARED; InputLossSeconds and ActiveAlerts rise for that minute.",
    ),
]


# Trouble no demo entry talks about: it stays as unreviewed anomalies on the demo board.
_UNLOGGED_SPECS = [
    (
        "asl-venue-return",
        "packet_loss_burst",
        "kn1",
        timedelta(minutes=63),
        timedelta(minutes=64, seconds=30),
        "Short packet-loss burst on the ASL venue return (nobody logged it).",
    ),
    (
        "kn2-contrib-a",
        "unrecovered_loss",
        "kn2",
        timedelta(minutes=45),
        timedelta(minutes=46),
        "Unrecovered packets on contribution A for a minute (nobody logged it).",
    ),
    (
        "kn1-subs-de",
        "subtitles_missing",
        "kn1",
        timedelta(minutes=52),
        timedelta(minutes=57),
        "The German AI subtitles stopped for five minutes mid-keynote (nobody logged it).",
    ),
]


def _bursts(feed: str, on_air) -> list[tuple]:
    """(start, end, mode) of the loss the demo injects into a feed's SRT stats."""
    return [
        (on_air + a, on_air + b, "drop" if kind == "unrecovered_loss" else "loss")
        for f, kind, _, a, b, _ in _INCIDENT_SPECS + _UNLOGGED_SPECS
        if f == feed and kind in ("packet_loss_burst", "unrecovered_loss")
    ]


def incidents(event: Event | None = None) -> list[dict]:
    """Incident windows with absolute times for the demo event as loaded."""
    event = event or Event.objects.filter(slug=DEMO_SLUG).first()
    if event is None:
        return []
    starts = dict(event.sessions.values_list("slug", "scheduled_start"))
    return [
        {
            "feed": feed,
            "kind": kind,
            "start": starts[session] + start,
            "end": starts[session] + end,
            "description": text,
        }
        for feed, kind, session, start, end, text in _INCIDENT_SPECS
        if session in starts
    ]


# Offsets are relative to the keynote start; `incidents()` gives absolute times.
INCIDENTS = [
    {"feed": f, "kind": k, "session": s, "start": a, "end": b, "description": d}
    for f, k, s, a, b, d in _INCIDENT_SPECS
]


def load_telemetry(out=None) -> None:
    """Demo telemetry: SRT, ffmpeg, Firehose and EventBridge around the keynotes."""
    event = Event.objects.filter(slug=DEMO_SLUG).first()
    if event is None:
        return
    if IngestBatch.objects.filter(event=event, request_id__startswith="demo:").exists():
        if out:
            out("telemetry: already loaded")
        return
    sessions = {s.slug: s for s in Session.objects.filter(event=event, slug__in=["kn1", "kn2"])}
    rng = random.Random(4)
    payloads = []
    for slug, session in sessions.items():
        start = session.scheduled_start - timedelta(minutes=30)
        end = session.scheduled_end + timedelta(minutes=15)
        for path in ("a", "b"):
            feed = f"{slug}-contrib-{path}"
            payloads += _srt_payloads(feed, start, end, session.scheduled_start, rng)
    kn1 = sessions["kn1"]
    window = (
        kn1.scheduled_start - timedelta(minutes=30),
        kn1.scheduled_end + timedelta(minutes=15),
    )
    payloads += _srt_payloads("asl-venue-return", *window, kn1.scheduled_start, rng)
    payloads += _ffmpeg_payloads("kn1-contrib-b", *window, kn1.scheduled_start)
    payloads += _firehose_payloads(*window, kn1.scheduled_start, rng)
    payloads += _eventbridge_payloads(kn1.scheduled_start)
    for slug, session in sessions.items():
        payloads += accessibility_payloads(slug, session, rng)
    stored = 0
    for number, (fmt, feed, body, options) in enumerate(payloads):
        with transaction.atomic():
            batch, created = services.ingest_batch(
                event=event,
                feed=event.feeds.get(slug=feed) if feed else None,
                fmt=fmt,
                body=body,
                options=options,
                request_id=f"demo:{number}:{fmt}:{feed or '-'}",
                validate=False,
            )
        if created:  # eager: without a broker the on_commit task has already run
            services.process_batch(batch_id=batch.pk)
            batch.refresh_from_db()
            stored += batch.samples
    if out:
        out(f"telemetry: {len(payloads)} batches, {stored} samples, {len(INCIDENTS)} incidents")


def _srt_payloads(feed, start, end, on_air, rng):
    """srt-live-transmit -pf:json records (receiver side), posted in 10-minute batches."""
    restart = feed == "kn1-contrib-b"
    bursts = _bursts(feed, on_air)
    gap = (on_air + timedelta(minutes=41, seconds=10), on_air + timedelta(minutes=41, seconds=50))
    sid, connected = 579694407 + sum(map(ord, feed)), start
    restarted = False
    records, payloads = [], []
    moment = start
    while moment < end:
        if restart and gap[0] <= moment < gap[1]:
            moment += timedelta(seconds=STEP)
            continue
        if restart and moment >= gap[1] and not restarted:
            sid, connected, restarted = sid + 1, moment, True  # a new socket after the restart
        mode = next((m for a, b, m in bursts if a <= moment < b), None)
        records.append(_srt_record(sid, moment, connected, mode, rng))
        if len(records) == BATCH_RECORDS:
            payloads.append(("srt-json", feed, "\n".join(records).encode() + b"\n", {}))
            records = []
        moment += timedelta(seconds=STEP)
    if records:
        payloads.append(("srt-json", feed, "\n".join(records).encode() + b"\n", {}))
    return payloads


def _srt_record(sid, moment, connected, mode, rng) -> str:
    in_burst = mode == "loss"
    packets = int(STEP * 150 + rng.randint(-20, 20))
    lost = rng.randint(60, 180) if in_burst else (1 if rng.random() < 0.02 else 0)
    if mode == "drop":
        lost = rng.randint(20, 40)
    retrans = lost + (rng.randint(5, 30) if in_burst else 0)
    rtt = (165 if in_burst else 70) + rng.uniform(-4, 4)
    rate = 1.58 + rng.uniform(-0.03, 0.03)
    record = {
        "sid": sid,
        "timepoint": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+0000"),
        "time": int((moment - connected).total_seconds() * 1000) + 1000,
        "window": {"flow": 8192, "congestion": 8192, "flight": 0},
        "link": {"rtt": round(rtt, 3), "bandwidth": 12.2, "maxBandwidth": 1000},
        "recv": {
            "packets": packets,
            "packetsUnique": packets,
            "packetsLost": lost,
            "packetsDropped": rng.randint(3, 12)
            if mode == "drop"
            else (max(0, lost - retrans + 2) if in_burst else 0),
            "packetsRetransmitted": retrans,
            "packetsBelated": 0,
            "bytes": packets * 1360,
            "bytesUnique": packets * 1360,
            "bytesLost": lost * 1360,
            "bytesDropped": 0,
            "byteAvailBuf": 12267000,
            "msBuf": 120 + rng.randint(-20, 20),
            "mbitRate": round(rate, 5),
            "msTsbPdDelay": 120,
        },
    }
    return json.dumps(record, separators=(",", ":"))


def _ffmpeg_payloads(feed, start, end, on_air):
    """Encoder B's -progress output: killed at the restart (no progress=end), then a new run."""
    cut = on_air + timedelta(minutes=41, seconds=10)
    again = on_air + timedelta(minutes=41, seconds=50)
    return [
        ("ffmpeg", feed, _progress(cut - start, ended=False), {"started_at": start.isoformat()}),
        ("ffmpeg", feed, _progress(end - again, ended=True), {"started_at": again.isoformat()}),
    ]


def _progress(duration: timedelta, *, ended: bool, period: int = 10) -> bytes:
    lines = []
    seconds = int(duration.total_seconds())
    for t in range(period, seconds + 1, period):
        frames = t * 25
        last = ended and t + period > seconds
        lines += [
            f"frame={frames}",
            "fps=25.00",
            "stream_0_0_q=23.0",
            f"bitrate={1579.2 + math.sin(t / 300) * 3:7.1f}kbits/s",
            f"total_size={t * 197400}",
            f"out_time_us={t * 1_000_000}",
            f"out_time_ms={t * 1_000_000}",
            f"out_time=00:{t // 60:02d}:{t % 60:02d}.000000",
            "dup_frames=0",
            f"drop_frames={t // 1200}",
            "speed=   1x",
            f"progress={'end' if last else 'continue'}",
        ]
    return ("\n".join(lines) + "\n").encode()


def _datapoint(namespace, metric, dims, moment, values, unit) -> str:
    count = len(values)
    return json.dumps(
        {
            "metric_stream_name": "tally-demo",
            "account_id": ACCOUNT,
            "region": REGION,
            "namespace": namespace,
            "metric_name": metric,
            "dimensions": dims,
            "timestamp": int(moment.timestamp() * 1000),
            "value": {"count": count, "sum": sum(values), "max": max(values), "min": min(values)},
            "unit": unit,
        }
    )


def _firehose_payloads(start, end, on_air, rng):
    """Firehose deliveries every 5 minutes of Metric Streams datapoints (one per minute)."""
    loss_minute = (on_air + timedelta(minutes=41)).replace(second=0, microsecond=0)
    payloads, lines = [], []
    moment = start.replace(second=0, microsecond=0)
    while moment < end:
        flow = {"FlowARN": TX_ARN}
        lines += [
            _datapoint(
                "AWS/MediaConnect",
                "SourceBitRate",
                flow,
                moment,
                [8.0e6 + rng.uniform(-5e4, 5e4) for _ in range(60)],
                "Bits/Second",
            ),
            _datapoint(
                "AWS/MediaConnect", "SourcePacketLossPercent", flow, moment, [0.0] * 60, "Percent"
            ),
            _datapoint(
                "AWS/MediaConnect",
                "SourceRoundTripTime",
                flow,
                moment,
                [72 + rng.uniform(-3, 3) for _ in range(60)],
                "Milliseconds",
            ),
            _datapoint(
                "AWS/MediaConnect",
                "SourceRecoveredPackets",
                flow,
                moment,
                [float(rng.randint(0, 3))],
                "Count",
            ),
            _datapoint(
                "AWS/MediaConnect",
                "SourceBitRate",
                {"FlowARN": SPARE_ARN},
                moment,
                [2.0e6],
                "Bits/Second",
            ),
        ]
        for pipeline in ("0", "1"):
            dims = {"ChannelId": "ch-kn1", "Pipeline": pipeline}
            lost = 35.0 if pipeline == "1" and moment == loss_minute else 0.0
            lines += [
                _datapoint(
                    "AWS/MediaLive",
                    "NetworkIn",
                    dims,
                    moment,
                    [8.1 + rng.uniform(-0.1, 0.1)],
                    "Megabits/Second",
                ),
                _datapoint("AWS/MediaLive", "InputLossSeconds", dims, moment, [lost], "Seconds"),
                _datapoint(
                    "AWS/MediaLive", "ActiveAlerts", dims, moment, [1.0 if lost else 0.0], "Count"
                ),
                _datapoint("AWS/MediaLive", "DroppedFrames", dims, moment, [lost * 25], "Count"),
            ]
        moment += timedelta(minutes=1)
        if moment.minute % 5 == 0 or moment >= end:
            rng.shuffle(lines)  # datapoints arrive in any order
            payloads.append(("firehose", None, _firehose_body(lines, moment), {}))
            lines = []
    return payloads


def _firehose_body(lines: list[str], moment: datetime) -> bytes:
    data = base64.b64encode(("\n".join(lines) + "\n").encode()).decode()
    return json.dumps(
        {
            "requestId": f"demo-{int(moment.timestamp())}",
            "timestamp": int(moment.timestamp() * 1000),
            "records": [{"data": data}],
        }
    ).encode()


def _eventbridge_payloads(on_air):
    arn = f"arn:aws:medialive:{REGION}:{ACCOUNT}:channel:ch-kn1"
    events = []
    for state, offset in (
        ("SET", timedelta(minutes=41, seconds=20)),
        ("CLEARED", timedelta(minutes=41, seconds=55)),
    ):
        events.append(
            {
                "version": "0",
                "id": f"demo-ml-input-loss-{state.lower()}",
                "detail-type": "MediaLive Channel Alert",
                "source": "aws.medialive",
                "account": ACCOUNT,
                "time": (on_air + offset).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "region": REGION,
                "resources": [arn],
                "detail": {
                    "alarm_state": state,
                    "alarm_id": "4e912d2be849354108def40099483af0cbb6a2ee",
                    "alert_type": "Input Loss",
                    "pipeline": "1",
                    "channel_arn": arn,
                    "message": "Waiting for RTP input" if state == "SET" else "Input restored",
                },
            }
        )
    return [("eventbridge", None, json.dumps(events).encode(), {})]


CAPTION_BATCH_STEPS = 360  # the caption service's log, exported hourly


def accessibility_payloads(slug: str, session: Session, rng) -> list[tuple]:
    """Caption, subtitle and audio-translation telemetry of one keynote through the generic
    format, every STEP s while on air, posted hourly; routed to the feeds by source id.
    (fmt, feed, body, options) tuples, as `load_telemetry` ingests them."""
    outages = [
        (session.scheduled_start + a, session.scheduled_start + b, feed.rsplit("-", 1)[1])
        for feed, kind, s, a, b, _ in _UNLOGGED_SPECS
        if s == slug and kind == "subtitles_missing"
    ]
    sources = [(f"captions:{slug}:en", "en", 2.5)]
    sources += [(f"subtitles:{slug}:{lang}", lang, 4.0) for lang in SUBTITLE_LANGUAGES]
    payloads, samples, steps = [], [], 0
    moment = session.scheduled_start + timedelta(seconds=STEP)
    while moment <= session.scheduled_end:
        stamp = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        for source, lang, latency in sources:
            missing = any(a < moment <= b and lang == out for a, b, out in outages)
            samples.append(_sample(source, "captions.present", stamp, 0 if missing else 1))
            if not missing:
                lag = round(latency + rng.uniform(-0.8, 1.2), 2)
                samples.append(_sample(source, "captions.latency", stamp, lag))
        samples += [
            _sample(f"audio:{slug}:{lang}", "audio.present", stamp, 1)
            for lang in TRANSLATION_LANGUAGES
        ]
        steps += 1
        if steps % CAPTION_BATCH_STEPS == 0:
            payloads.append(("generic-json", None, json.dumps({"samples": samples}).encode(), {}))
            samples = []
        moment += timedelta(seconds=STEP)
    if samples:
        payloads.append(("generic-json", None, json.dumps({"samples": samples}).encode(), {}))
    return payloads


def _sample(source: str, metric: str, stamp: str, value: float) -> dict:
    return {"source": source, "metric": metric, "time": stamp, "value": value}
