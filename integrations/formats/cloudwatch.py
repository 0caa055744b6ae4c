"""CloudWatch Metric Streams JSON, delivered by Amazon Data Firehose to an HTTP endpoint.

The request body is ``{"requestId", "timestamp", "records": [{"data": <base64>}]}``; each
``data`` decodes to newline-separated JSON datapoints with ``namespace``, ``metric_name``,
``dimensions``, ``timestamp`` (epoch ms), ``value{count,sum,max,min}`` and ``unit``. A gzip body
(Content-Encoding: gzip left in place) is accepted too. A request with zero records is empty.

Naming, one rule for every namespace:

- Metric: ``<prefix>.<MetricName>``, prefix ``mediaconnect`` (``AWS/MediaConnect``),
  ``medialive`` (``AWS/MediaLive`` and the legacy ``MediaLive``), ``mediapackage``
  (``AWS/MediaPackage``), otherwise the lowercased last part of the namespace.
- Source: the dimension(s) naming the resource a feed is registered under:
  MediaConnect the most specific ARN (``OutputARN`` > ``SourceARN`` > ``EntitlementARN`` >
  ``FlowARN`` > any other ``*ARN``; the others are implied by it); MediaLive
  ``"{ChannelId}:{Pipeline}"`` (``ChannelId`` alone without ``Pipeline``; ``MultiplexId`` for
  multiplexes); MediaPackage ``Channel`` (``"{ChannelGroup}:{Channel}"`` for v2). Other
  namespaces: ``"Name=value,..."`` of all dimensions, sorted. No identifying dimension: None.
- Every other dimension of a known namespace narrows the metric: its value is appended as
  ``/<value>``, in dimension-name order. So ``ActiveOutputs`` with ``OutputGroupName=hls-group``
  is ``medialive.ActiveOutputs/hls-group`` with source ``"4816235:0"``, and a MediaPackage
  ``EgressRequestCount`` by ``OriginEndpoint`` and ``StatusCodeRange`` is
  ``mediapackage.EgressRequestCount/<endpoint>/2xx``. Characters outside ``[A-Za-z0-9_./-]``
  become ``_`` and names are cut at 100 characters.

Value is ``sum / count`` (a count of 0 rejects the datapoint) and ``stats`` keeps
``(min, max, sum, count)``. Units map to short names (Bits/Second -> b/s, Percent -> %,
Count -> count, Milliseconds -> ms, Seconds -> s, Megabits/Second -> Mb/s...); ``None`` falls
back to the metric's known unit (e.g. fps for InputVideoFrameRate) or ``""``. Datapoints arrive
in any order; samples are sorted by (source, metric, time).
"""

from __future__ import annotations

import base64
import binascii
import math
import zlib
from datetime import datetime

from .base import (
    FormatError,
    ParseResult,
    Rejected,
    Sample,
    decode_text,
    future_reason,
    load_json,
    number_reason,
    parse_epoch_ms,
    require_aware,
    utc_now,
)

MAX_BODY_BYTES = 64 * 1024 * 1024  # Firehose buffers at most 64 MiB per request

UNITS: dict[str, str] = {
    "Seconds": "s",
    "Microseconds": "us",
    "Milliseconds": "ms",
    "Bytes": "bytes",
    "Kilobytes": "kB",
    "Megabytes": "MB",
    "Gigabytes": "GB",
    "Terabytes": "TB",
    "Bits": "bits",
    "Kilobits": "kbit",
    "Megabits": "Mbit",
    "Gigabits": "Gbit",
    "Terabits": "Tbit",
    "Percent": "%",
    "Count": "count",
    "Bytes/Second": "B/s",
    "Kilobytes/Second": "kB/s",
    "Megabytes/Second": "MB/s",
    "Gigabytes/Second": "GB/s",
    "Terabytes/Second": "TB/s",
    "Bits/Second": "b/s",
    "Kilobits/Second": "kbit/s",
    "Megabits/Second": "Mb/s",
    "Gigabits/Second": "Gb/s",
    "Terabits/Second": "Tb/s",
    "Count/Second": "count/s",
}

PREFIXES: dict[str, str] = {
    "AWS/MediaConnect": "mediaconnect",
    "AWS/MediaLive": "medialive",
    "MediaLive": "medialive",
    "AWS/MediaPackage": "mediapackage",
}


def _known(prefix: str, unit: str, names: str) -> dict[str, tuple[str, str]]:
    """Expand 'Name:label; Name:label' into METRICS entries sharing one unit."""
    entries = {}
    for item in names.split(";"):
        name, _, label = item.strip().partition(":")
        entries[f"{prefix}.{name}"] = (unit, label)
    return entries


METRICS: dict[str, tuple[str, str]] = {
    **_known("mediaconnect", "b/s", "SourceBitRate:MediaConnect source bitrate"),
    **_known(
        "mediaconnect",
        "%",
        "SourcePacketLossPercent:MediaConnect source packet loss (before recovery)",
    ),
    **_known("mediaconnect", "ms", "SourceRoundTripTime:MediaConnect source round-trip time"),
    **_known(
        "mediaconnect",
        "count",
        "SourceARQRecovered:MediaConnect packets recovered by ARQ;"
        "SourceARQRequests:MediaConnect ARQ retransmission requests;"
        "SourceContinuityCounter:MediaConnect continuity counter errors (TR 101 290);"
        "SourceDisconnections:MediaConnect source disconnections;"
        "SourceDroppedPackets:MediaConnect source dropped packets;"
        "SourceFECPackets:MediaConnect FEC packets received;"
        "SourceFECRecovered:MediaConnect packets recovered by FEC;"
        "SourceNotRecoveredPackets:MediaConnect packets lost, not recovered;"
        "SourceOverflowPackets:MediaConnect source overflow packets;"
        "SourcePATError:MediaConnect PAT errors (TR 101 290);"
        "SourcePCRAccuracyError:MediaConnect PCR accuracy errors (TR 101 290);"
        "SourcePCRError:MediaConnect PCR errors (TR 101 290);"
        "SourcePIDError:MediaConnect PID errors (TR 101 290);"
        "SourcePMTError:MediaConnect PMT errors (TR 101 290);"
        "SourcePTSError:MediaConnect PTS errors (TR 101 290);"
        "SourceRecoveredPackets:MediaConnect packets recovered;"
        "SourceTSByteError:MediaConnect TS byte errors (TR 101 290);"
        "SourceTSSyncLoss:MediaConnect TS sync losses (TR 101 290);"
        "SourceTotalPackets:MediaConnect source packets received;"
        "SourceTransportError:MediaConnect transport errors (TR 101 290);"
        "SourceCRCError:MediaConnect CRC errors (TR 101 290);"
        "SourceCATError:MediaConnect CAT errors (TR 101 290);"
        "OutputConnected:MediaConnect output connected;"
        "OutputDisconnections:MediaConnect output disconnections;"
        "OutputDroppedPayloads:MediaConnect output dropped payloads;"
        "OutputLatePayloads:MediaConnect output late payloads;"
        "OutputTotalPayloads:MediaConnect output payloads;"
        "OutputNotRecoveredPackets:MediaConnect output packets not recovered;"
        "OutputRecoveredPackets:MediaConnect output packets recovered;"
        "OutputARQRequests:MediaConnect output ARQ requests;"
        "OutputARQRecovered:MediaConnect output packets recovered by ARQ;"
        "OutputTotalPackets:MediaConnect output packets",
    ),
    **_known("mediaconnect", "b/s", "OutputBitRate:MediaConnect output bitrate"),
    **_known("mediaconnect", "%", "OutputPacketLossPercent:MediaConnect output packet loss"),
    **_known("mediaconnect", "ms", "OutputRoundTripTime:MediaConnect output round-trip time"),
    **_known(
        "medialive",
        "count",
        "ActiveAlerts:MediaLive active alerts;"
        "ActiveOutputs:MediaLive active outputs;"
        "DroppedFrames:MediaLive dropped frames;"
        "FillMsec:MediaLive fill (ms of filler frames inserted);"
        "Output4xxErrors:MediaLive output HTTP 4xx errors;"
        "Output5xxErrors:MediaLive output HTTP 5xx errors;"
        "PrimaryInputActive:MediaLive primary input active (failover);"
        "InputTimecodesPresent:MediaLive input timecodes present;"
        "ErrorSeconds:MediaLive error seconds",
    ),
    **_known(
        "medialive",
        "s",
        "InputLossSeconds:MediaLive input loss seconds;"
        "ChannelInputErrorSeconds:MediaLive channel input error seconds",
    ),
    **_known(
        "medialive",
        "fps",
        "InputVideoFrameRate:MediaLive input video frame rate;"
        "OutputVideoFrameRate:MediaLive output video frame rate",
    ),
    **_known(
        "medialive",
        "Mb/s",
        "NetworkIn:MediaLive network in;NetworkOut:MediaLive network out",
    ),
    **_known("medialive", "b/s", "EncoderBitrate:MediaLive encoder bitrate"),
    **_known("medialive", "%", "SvqTime:MediaLive SVQ time (quality reduced to keep up)"),
    **_known(
        "mediapackage",
        "bytes",
        "IngressBytes:MediaPackage ingress bytes;EgressBytes:MediaPackage egress bytes",
    ),
    **_known(
        "mediapackage",
        "count",
        "IngressRequestCount:MediaPackage ingest requests;"
        "EgressRequestCount:MediaPackage egress requests",
    ),
    **_known(
        "mediapackage",
        "ms",
        "IngressResponseTime:MediaPackage ingest response time;"
        "EgressResponseTime:MediaPackage egress response time",
    ),
}

_MEDIACONNECT_ARNS = ("OutputARN", "SourceARN", "EntitlementARN", "FlowARN")
_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-")

# (namespace, metric_name, dimensions, unit) -> (source, metric, unit)
_Naming = tuple[str | None, str, str]


def parse_firehose(data: bytes | str, *, now: datetime | None = None) -> ParseResult:
    """Parse a Firehose HTTP endpoint delivery body carrying Metric Streams JSON."""
    body = load_body(data)
    records = body.get("records")
    if records is None:
        raise FormatError("missing 'records'", line=1, field="records")
    if not isinstance(records, list):
        raise FormatError("'records' is not a list", line=1, field="records")
    parser = _Datapoints(now)
    for index, record in enumerate(records, 1):
        parser.add_text(_record_text(record, index), record=index)
    return parser.result()


parse = parse_firehose


def parse_records(text: bytes | str, *, now: datetime | None = None) -> ParseResult:
    """Parse decoded Metric Streams JSON: one datapoint object per line."""
    parser = _Datapoints(now)
    parser.add_text(decode_text(text), record=None)
    return parser.result()


def firehose_request_id(body: bytes | str) -> str:
    """The ``requestId`` of a Firehose request body (echo it back in the 200 reply)."""
    request_id = load_body(body).get("requestId")
    if not isinstance(request_id, str) or not request_id:
        raise FormatError("missing 'requestId'", line=1, field="requestId")
    return request_id


def load_body(data: bytes | str) -> dict:
    """Decode (and gunzip) the request body into its top-level JSON object."""
    if isinstance(data, bytes | bytearray) and data[:2] == b"\x1f\x8b":
        data = _gunzip(bytes(data))
    body = load_json(decode_text(data))
    if not isinstance(body, dict):
        raise FormatError("expected a JSON object with 'records'", line=1)
    return body


def _gunzip(data: bytes) -> bytes:
    """Inflate a gzip body, refusing anything that expands past MAX_BODY_BYTES."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, MAX_BODY_BYTES + 1)
    except zlib.error as err:
        raise FormatError(f"invalid gzip body: {err}", line=1) from None
    if len(out) > MAX_BODY_BYTES or inflater.unconsumed_tail:
        raise FormatError("gzip body too large", line=1)
    if not inflater.eof:
        raise FormatError("truncated gzip body", line=1)
    return out


def _record_text(record: object, index: int) -> str:
    """Base64-decode one Firehose record's ``data`` into text."""
    data = record.get("data") if isinstance(record, dict) else None
    if not isinstance(data, str):
        raise FormatError("missing 'data' string", line=index, field="data", where="record")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise FormatError("invalid base64", line=index, field="data", where="record") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise FormatError("not UTF-8", line=index, field="data", where="record") from None


class _Datapoints:
    """Validates datapoints, names them and collects samples and rejections."""

    def __init__(self, now: datetime | None) -> None:
        self.now = require_aware(now, "now") or utc_now()
        self.samples: list[Sample] = []
        self.rejected: list[Rejected] = []
        self.count = 0
        self._names: dict[tuple, _Naming] = {}
        self._times: dict[float, datetime | str] = {}

    def add_text(self, text: str, *, record: int | None) -> None:
        """Parse the newline-separated datapoints of one record (or of a bare text)."""
        for line_number, line in enumerate(text.split("\n"), 1):
            if not line or line.isspace():
                continue
            try:
                point = load_json(line, line_offset=line_number - 1)
            except FormatError as err:
                if record is None:
                    raise
                message = f"line {line_number}: {err.message}"
                raise FormatError(message, line=record, field="data", where="record") from None
            self.count += 1
            where = f"line {line_number}"
            if record is not None:
                where = f"record {record} {where}"
            self.add(point, where)

    def add(self, point: object, where: str) -> None:
        """Validate one datapoint and keep its sample."""
        if not isinstance(point, dict):
            self._reject(None, where, "datapoint is not a JSON object")
            return
        naming = self._naming(point, where)
        moment = self._time(point.get("timestamp"), where)
        stats = self._stats(point.get("value"), where)
        if naming is None or moment is None or stats is None:
            return
        value = stats[2] / stats[3]
        if not math.isfinite(value):
            self._reject("value", where, "sum / count is not a finite number")
            return
        source, metric, unit = naming
        self.samples.append(Sample(source, metric, moment, value, unit, None, stats))

    def _reject(self, field: str | None, where: str, reason: str) -> None:
        """Note one rejected datapoint."""
        self.rejected.append(Rejected(self.count, field, f"{where}: {reason}"))

    def _naming(self, point: dict, where: str) -> _Naming | None:
        """Resolve source, metric and unit (cached per distinct series)."""
        namespace, name = point.get("namespace"), point.get("metric_name")
        dims, unit = point.get("dimensions") or {}, point.get("unit")
        if not isinstance(namespace, str) or not namespace:
            self._reject("namespace", where, "missing namespace")
            return None
        if not isinstance(name, str) or not name:
            self._reject("metric_name", where, "missing metric_name")
            return None
        if not isinstance(dims, dict) or not all(isinstance(v, str) for v in dims.values()):
            self._reject("dimensions", where, "dimensions are not a map of strings")
            return None
        key = (namespace, name, tuple(dims.items()), unit if isinstance(unit, str) else None)
        naming = self._names.get(key)
        if naming is None:
            naming = self._names[key] = _name_series(namespace, name, dims, key[3])
        return naming

    def _time(self, stamp: object, where: str) -> datetime | None:
        """Epoch ms to UTC, rejecting bad or future timestamps."""
        if (reason := number_reason(stamp)) is not None:
            self._reject("timestamp", where, reason)
            return None
        moment = self._times.get(stamp)
        if moment is None:
            moment = parse_epoch_ms(stamp)
            if isinstance(moment, datetime) and (late := future_reason(moment, self.now)):
                moment = late
            self._times[stamp] = moment
        if isinstance(moment, str):
            self._reject("timestamp", where, moment)
            return None
        return moment

    def _stats(self, value: object, where: str) -> tuple[float, float, float, float] | None:
        """(min, max, sum, count) of a datapoint, or None when unusable."""
        if not isinstance(value, dict):
            self._reject("value", where, "missing value statistics")
            return None
        numbers = []
        for key in ("min", "max", "sum", "count"):
            raw = value.get(key)
            if (reason := number_reason(raw)) is not None:
                self._reject(f"value.{key}", where, reason)
                return None
            numbers.append(float(raw))
        if numbers[3] <= 0:
            self._reject("value.count", where, f"count is {numbers[3]:g}")
            return None
        return numbers[0], numbers[1], numbers[2], numbers[3]

    def result(self) -> ParseResult:
        """Samples sorted by (source, metric, time)."""
        self.samples.sort(key=lambda s: (s.source or "", s.metric, s.time))
        return ParseResult(samples=self.samples, alerts=[], rejected=self.rejected)


def _name_series(namespace: str, name: str, dims: dict[str, str], unit: str | None) -> _Naming:
    """Apply the naming rule of the module docstring to one series."""
    prefix = PREFIXES.get(namespace) or _safe(namespace.rsplit("/", 1)[-1].lower()) or "cloudwatch"
    if prefix == "mediaconnect":
        source, used = _mediaconnect_source(dims)
    elif prefix == "medialive":
        source, used = _joined_source(dims, ("ChannelId", "MultiplexId"), "Pipeline")
    elif prefix == "mediapackage":
        source, used = _joined_source(dims, ("Channel",), None, group="ChannelGroup")
    else:
        source = ",".join(f"{k}={v}" for k, v in sorted(dims.items())) or None
        used = set(dims)
    extra = "".join(f"/{dims[k]}" for k in sorted(dims) if k not in used)
    metric = _safe(f"{prefix}.{name}{extra}")[:100]
    known = METRICS.get(f"{prefix}.{name}")
    short = UNITS.get(unit, unit) if unit and unit != "None" else None
    return source, metric, short if short is not None else (known[0] if known else "")


def _mediaconnect_source(dims: dict[str, str]) -> tuple[str | None, set[str]]:
    """The most specific ARN; every ARN dimension is consumed by it."""
    arns = {key for key in dims if key.endswith("ARN")}
    for key in (*_MEDIACONNECT_ARNS, *sorted(arns)):
        if key in dims:
            return dims[key], arns
    return None, arns


def _joined_source(
    dims: dict[str, str], ids: tuple[str, ...], suffix: str | None, group: str | None = None
) -> tuple[str | None, set[str]]:
    """``[group:]id[:suffix]`` from the first id dimension present."""
    for key in ids:
        if key in dims:
            parts = [k for k in (group, key, suffix) if k is not None and k in dims]
            return ":".join(dims[k] for k in parts), set(parts)
    return None, set()


def _safe(text: str) -> str:
    """Replace characters that are not allowed in metric names."""
    if _SAFE.issuperset(text):
        return text
    return "".join(char if char in _SAFE else "_" for char in text)
