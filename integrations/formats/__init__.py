"""Pure-Python telemetry parsers: payload bytes in, samples, alerts and rejections out.

``parse(fmt, data, **options)`` dispatches to ``PARSERS[fmt]``. Options: ``now`` (all formats;
timestamps more than a day past it are rejected), ``counters`` (srt-json, srt-csv: "auto",
"interval" or "cumulative"), ``received_at`` (ffmpeg, required), ``started_at`` and ``period``
(ffmpeg), ``feed_slugs`` and ``source_ids`` (prometheus: which feeds its series may name).
Options a format does not use are dropped, so one call shape fits every format.
``METRICS`` documents every metric name the parsers emit; ``KEY_METRICS`` lists the ones to chart.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from . import captions, cloudwatch, eventbridge, ffmpeg, generic, prometheus, srt
from .base import Alert, FormatError, ParseResult, Rejected, Sample

__all__ = [
    "KEY_METRICS",
    "METRICS",
    "PARSERS",
    "Alert",
    "FormatError",
    "ParseResult",
    "Rejected",
    "Sample",
    "check",
    "metric_info",
    "parse",
]

PARSERS: dict[str, Callable[..., ParseResult]] = {
    "srt-json": srt.parse_json,
    "srt-csv": srt.parse_csv,
    "ffmpeg": ffmpeg.parse,
    "firehose": cloudwatch.parse_firehose,
    "eventbridge": eventbridge.parse,
    "generic-json": generic.parse_json,
    "generic-csv": generic.parse_csv,
    "prometheus": prometheus.parse,
}

# canonical metric name -> (unit, human label); CloudWatch names are open-ended, see metric_info
METRICS: dict[str, tuple[str, str]] = {
    **srt.METRICS,
    **ffmpeg.METRICS,
    **cloudwatch.METRICS,
    **captions.METRICS,
}

KEY_METRICS: dict[str, list[str]] = {
    "srt": [
        "recv.mbitRate",
        "recv.packetsLost",
        "recv.packetsDropped",
        "recv.packetsRetransmitted",
        "link.rtt",
        "send.mbitRate",
        "send.packetsRetransmitted",
        "send.packetsDropped",
    ],
    "ffmpeg": [
        "encoder.bitrate",
        "encoder.fps",
        "encoder.drop_frames",
        "encoder.dup_frames",
        "encoder.speed",
    ],
    "mediaconnect": [
        "mediaconnect.SourceBitRate",
        "mediaconnect.SourcePacketLossPercent",
        "mediaconnect.SourceNotRecoveredPackets",
        "mediaconnect.SourceRecoveredPackets",
        "mediaconnect.SourceRoundTripTime",
        "mediaconnect.SourceContinuityCounter",
        "mediaconnect.SourceDisconnections",
    ],
    "medialive": [
        "medialive.NetworkIn",
        "medialive.DroppedFrames",
        "medialive.InputLossSeconds",
        "medialive.ActiveAlerts",
        "medialive.FillMsec",
        "medialive.SvqTime",
    ],
    "captions": [captions.PRESENT, captions.LATENCY, captions.AUDIO_PRESENT],
    "mediapackage": [
        "mediapackage.IngressBytes",
        "mediapackage.EgressRequestCount",
        "mediapackage.EgressResponseTime",
        "mediapackage.IngressResponseTime",
    ],
}

_ACCEPTS: dict[str, frozenset[str]] = {
    fmt: frozenset(inspect.signature(func).parameters) - {"data"} for fmt, func in PARSERS.items()
}
_KNOWN_OPTIONS: frozenset[str] = frozenset().union(*_ACCEPTS.values())


def parse(fmt: str, data: bytes | str, **options: Any) -> ParseResult:
    """Parse a payload in format `fmt`; unknown option names are a TypeError."""
    parser = PARSERS.get(fmt)
    if parser is None:
        raise FormatError(f"unknown format {fmt!r}; expected one of {sorted(PARSERS)}")
    unknown = set(options) - _KNOWN_OPTIONS
    if unknown:
        raise TypeError(f"unknown parse options: {sorted(unknown)}")
    accepted = _ACCEPTS[fmt]
    return parser(data, **{name: value for name, value in options.items() if name in accepted})


# Formats with a cheaper whole-payload check than a full parse (same FormatErrors).
CHECKERS: dict[str, Callable[[bytes | str], None]] = {
    "srt-json": srt.check_json,
    "prometheus": prometheus.check,
}


def check(fmt: str, data: bytes | str, **options: Any) -> None:
    """Raise the FormatError ``parse`` would raise for this payload as a whole, if any.

    Uses the format's checker when it has one (no samples built), else a full parse.
    """
    checker = CHECKERS.get(fmt)
    if checker is None:
        parse(fmt, data, **options)
    else:
        checker(data)


def metric_info(metric: str) -> tuple[str, str] | None:
    """(unit, label) of a metric, ignoring CloudWatch dimension suffixes such as "/hls-group"."""
    info = METRICS.get(metric)
    if info is None and "/" in metric:
        info = METRICS.get(metric.split("/", 1)[0])
    if info is None and metric.startswith("encoder.stream_") and metric.endswith("_q"):
        info = ("q", f"Encoder quantizer, stream {metric[15:-2].replace('_', ':')}")
    return info
