"""Prometheus remote write (protocol 1.0): a snappy-compressed protobuf ``WriteRequest``.

The body is snappy in the block format (not framed), holding a ``prometheus.WriteRequest``::

    WriteRequest { repeated TimeSeries timeseries = 1; }      // other fields are skipped
    TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
    Label        { string name = 1; string value = 2; }
    Sample       { double value = 1; int64 timestamp = 2; }  // milliseconds since 1970 UTC

The protobuf wire format is read by hand (varints, length-delimited fields, fixed64 doubles):
no generated code. Exemplars, native histograms and metadata are skipped.

Which feed a series belongs to (the ``feed_slugs`` and ``source_ids`` options name the event's
feeds; the worker passes them):

1. a ``feed`` label whose value is the slug of one of the event's feeds, else
2. the first label (in label-name order, ``__name__`` excluded) whose value is one of the
   source ids listed on a feed (``instance="encoder-kn1-a:9100"``, ``stream_id="kn1-asl"``).

A series that matches neither is rejected, sample by sample, as an unknown feed. The sample's
``source`` is the matching source id, or ``feed:<slug>`` for the ``feed`` label.

The metric name is ``__name__``, with every ``:`` read as ``.``: Prometheus names cannot hold
dots, so a recording rule named ``recv:packetsLost`` feeds Tally's ``recv.packetsLost`` (and
its loss detector); ``node_load1`` stays ``node_load1``. The unit is the known unit of a Tally
metric, else taken from the name's suffix (``_seconds`` s, ``_milliseconds`` ms, ``_bytes``
bytes, ``_percent`` %, ``_celsius`` C), else none.

Rejected per sample, with the reason: NaN and infinite values, Prometheus stale markers (the
NaN with bits ``0x7ff0000000000002``, written when a series disappears; reason "stale"),
timestamps more than a day in the future, series without a usable metric name, unknown feeds,
and series whose bytes are not a well-formed TimeSeries (one rejection for the series). A body
that is not snappy, or not a WriteRequest at all, is a FormatError (``where="byte"``).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Collection
from datetime import UTC, datetime, timedelta

import cramjam

from .base import FormatError, ParseResult, Rejected, Sample, require_aware, utc_now

FEED_LABEL = "feed"
FEED_SOURCE_PREFIX = "feed:"
STALE_NAN = struct.pack("<Q", 0x7FF0000000000002)
MAX_DECOMPRESSED = 64 * 1024 * 1024
MAX_METRIC = 100
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DOUBLE = struct.Struct("<d")
_SUFFIX_UNITS = (
    ("_seconds", "s"),
    ("_milliseconds", "ms"),
    ("_bytes", "bytes"),
    ("_percent", "%"),
    ("_celsius", "C"),
)
# Wire types
_VARINT, _FIXED64, _LEN, _FIXED32 = 0, 1, 2, 5


class _Malformed(Exception):
    """Bytes that are not the protobuf message expected (caught per series or per payload)."""


# --- Wire format --------------------------------------------------------------------


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    """(value, next position) of the varint at `pos`."""
    byte = buf[pos]
    if byte < 0x80:
        return byte, pos + 1
    result, shift = byte & 0x7F, 7
    while True:
        pos += 1
        if pos >= len(buf) or shift > 63:
            raise _Malformed("truncated or overlong varint")
        byte = buf[pos]
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos + 1
        shift += 7


def _fields(buf: bytes, pos: int, end: int):
    """Yield (field number, wire type, value or (start, end) for LEN) of one message."""
    while pos < end:
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise _Malformed("field number 0")
        if wire == _VARINT:
            value, pos = _varint(buf, pos)
        elif wire == _LEN:
            length, pos = _varint(buf, pos)
            value, pos = (pos, pos + length), pos + length
        elif wire == _FIXED64:
            value, pos = buf[pos : pos + 8], pos + 8
        elif wire == _FIXED32:
            value, pos = buf[pos : pos + 4], pos + 4
        else:
            raise _Malformed(f"unsupported wire type {wire}")
        if pos > end:
            raise _Malformed("field runs past the end of its message")
        yield number, wire, value


def decompress(data: bytes | str) -> bytes:
    """The snappy (block format) body inflated, with its announced size capped."""
    if isinstance(data, str):
        raise FormatError("expected a snappy-compressed body, got text", line=1, where="byte")
    data = bytes(data)
    if not data:
        raise FormatError("empty body: expected a snappy-compressed WriteRequest", where="byte")
    try:
        size, _ = _varint(data, 0)
    except (_Malformed, IndexError):
        raise FormatError("not snappy (block format): bad length preamble", where="byte") from None
    if size > MAX_DECOMPRESSED:
        raise FormatError(
            f"snappy body announces {size} bytes, over the {MAX_DECOMPRESSED}-byte limit",
            where="byte",
        )
    try:
        return bytes(cramjam.snappy.decompress_raw(data))
    except cramjam.DecompressionError as err:
        raise FormatError(f"not snappy (block format): {err}", where="byte") from None


def series_spans(buf: bytes) -> list[tuple[int, int]]:
    """(start, end) of each TimeSeries of a WriteRequest; FormatError if it is none."""
    spans: list[tuple[int, int]] = []
    try:
        _series_spans(buf, spans)
    except (_Malformed, IndexError) as err:
        offset = spans[-1][1] if spans else 0
        raise FormatError(
            f"not a WriteRequest: {err if isinstance(err, _Malformed) else 'truncated'}",
            line=offset,
            where="byte",
        ) from None
    return spans


def _series_spans(buf: bytes, spans: list[tuple[int, int]]) -> None:
    end, pos = len(buf), 0
    while pos < end:
        if buf[pos] == 0x0A:  # field 1, length-delimited: the usual one-byte tag
            length, pos = _varint(buf, pos + 1)
            spans.append((pos, pos + length))
            pos += length
            continue
        for number, wire, value in _fields(buf, pos, end):  # anything else: read it in full
            if number == 1:
                if wire != _LEN:
                    raise _Malformed("field 1 (timeseries) is not length-delimited")
                spans.append(value)
        return
    if pos > end:
        raise _Malformed("field runs past the end of its message")


def check(data: bytes | str) -> None:
    """Raise the FormatError ``parse`` would raise for the body as a whole (cheap: no samples)."""
    series_spans(decompress(data))


# --- Series -------------------------------------------------------------------------


def _labels(buf: bytes, spans: list[tuple[int, int]]) -> dict[str, str]:
    labels = {}
    for start, end in spans:
        name = value = ""
        for number, wire, item in _fields(buf, start, end):
            if wire == _LEN and number in (1, 2):
                text = buf[item[0] : item[1]].decode("utf-8")
                if number == 1:
                    name = text
                else:
                    value = text
        labels[name] = value
    return labels


def _sample_slowly(buf: bytes, start: int, end: int) -> tuple[bytes, int]:
    """(8 raw bytes of the double, timestamp ms) in any field order; absent fields are zero."""
    raw, stamp = b"\x00" * 8, 0
    for number, wire, item in _fields(buf, start, end):
        if number == 1 and wire == _FIXED64:
            raw = item
        elif number == 2 and wire == _VARINT:
            stamp = item
    if len(raw) != 8:
        raise _Malformed("truncated sample value")
    return raw, stamp


def _split_series(buf: bytes, start: int, end: int):
    """(label spans, sample spans, label key) of one TimeSeries."""
    label_spans, sample_spans = [], []
    pos, run_start, run_end, runs = start, start, start, 0
    while pos < end:  # the usual shape: one-byte tags 0x0a (label) and 0x12 (sample)
        tag, field_start = buf[pos], pos
        if tag != 0x0A and tag != 0x12:
            return _split_series_slowly(buf, start, end)
        length = buf[pos + 1]
        if length < 0x80:
            pos += 2
        else:
            length, pos = _varint(buf, pos + 1)
        if tag == 0x0A:
            label_spans.append((pos, pos + length))
            if field_start != run_end or not runs:  # a new run of consecutive labels
                run_start, runs = field_start, runs + 1
            run_end = pos + length
        else:
            sample_spans.append((pos, pos + length))
        pos += length
    if pos > end:
        raise _Malformed("field runs past the end of its message")
    if runs == 1:  # the labels are one slice of the body, tags and all
        return label_spans, sample_spans, buf[run_start:run_end]
    return label_spans, sample_spans, _label_key(buf, label_spans)


def _split_series_slowly(buf: bytes, start: int, end: int):
    """Any field order; unknown fields (exemplars, histograms) skipped."""
    label_spans, sample_spans = [], []
    for number, wire, item in _fields(buf, start, end):
        if number == 1 and wire == _LEN:
            label_spans.append(item)
        elif number == 2 and wire == _LEN:
            sample_spans.append(item)
        elif number in (1, 2):
            raise _Malformed(f"field {number} of a TimeSeries is not length-delimited")
    return label_spans, sample_spans, _label_key(buf, label_spans)


def _label_key(buf: bytes, label_spans: list[tuple[int, int]]) -> bytes:
    """The series' labels as one key (labels split by other fields, or none: refused)."""
    if not label_spans:
        raise _Malformed("a TimeSeries without labels")
    return b"\xff" + b"\x00".join(buf[s:e] for s, e in label_spans)  # cannot start with 0x0a


def unit_for(metric: str) -> str:
    """Tally's unit for a metric name: its known unit, else the Prometheus suffix's."""
    from . import metric_info  # the package imports this module: look it up late

    info = metric_info(metric)
    if info is not None:
        return info[0]
    for suffix, unit in _SUFFIX_UNITS:
        if metric.endswith(suffix) or metric.endswith(suffix + "_total"):
            return unit
    return ""


class _Router:
    """Label set -> (source, metric, unit) or the reason the series cannot be stored."""

    def __init__(self, feed_slugs: Collection[str], source_ids: Collection[str]) -> None:
        self.feed_slugs = frozenset(feed_slugs)
        self.source_ids = frozenset(source_ids)
        self.cache: dict[bytes, tuple] = {}

    def resolve(self, labels: dict[str, str]) -> tuple:
        """(source, metric, unit, None) or (None, None, field, reason)."""
        name = labels.get("__name__", "")
        if not name:
            return None, None, "labels", "series has no __name__ label"
        metric = name.replace(":", ".")
        if len(metric) > MAX_METRIC:
            return None, None, "__name__", f"metric name longer than {MAX_METRIC} characters"
        where = _describe(labels)
        feed = labels.get(FEED_LABEL)
        if feed is not None and feed in self.feed_slugs:
            return FEED_SOURCE_PREFIX + feed, metric, unit_for(metric), None
        for label in sorted(labels):
            if label != "__name__" and labels[label] in self.source_ids:
                return labels[label], metric, unit_for(metric), None
        if feed is not None:
            reason = f"{where}: unknown feed {feed!r:.80} (no feed has this slug or source id)"
        else:
            reason = f"{where}: unknown feed (no feed label, no label value is a feed's source id)"
        return None, None, "feed", reason


_ROUTERS: dict[tuple[frozenset, frozenset], _Router] = {}
_CACHED_ROUTES = 200_000


def _router(feed_slugs: frozenset, source_ids: frozenset) -> _Router:
    """The router for these feeds, kept across batches: a Prometheus server sends the same
    label sets every scrape, so each is resolved once per process (bounded)."""
    router = _ROUTERS.get((feed_slugs, source_ids))
    if router is None or len(router.cache) > _CACHED_ROUTES:
        if len(_ROUTERS) >= 8:
            _ROUTERS.clear()
        router = _ROUTERS[(feed_slugs, source_ids)] = _Router(feed_slugs, source_ids)
    return router


def _describe(labels: dict[str, str]) -> str:
    inner = ",".join(f'{k}="{v:.60}"' for k, v in sorted(labels.items()) if k != "__name__")
    return f"series {labels.get('__name__', '')}{{{inner}}}"[:300]


class _Times:
    """Timestamp -> aware datetime, or the reason it is refused; decoded once per batch (the
    samples of one scrape share a timestamp)."""

    def __init__(self, now: datetime) -> None:
        self.latest = now + timedelta(days=1)
        self.by_varint: dict[bytes, datetime | str] = {}

    def of_varint(self, raw: bytes) -> datetime | str:
        moment = self.by_varint.get(raw)
        if moment is None:
            stamp, end = _varint(raw, 0)
            if end != len(raw):
                raise _Malformed("sample runs past its timestamp")
            moment = self.by_varint[raw] = self.of_ms(stamp)
        return moment

    def of_ms(self, stamp: int) -> datetime | str:
        if stamp >= 1 << 63:
            stamp -= 1 << 64
        try:
            moment = _EPOCH + timedelta(milliseconds=stamp)
        except OverflowError:
            return f"timestamp out of range: {stamp}"
        if moment > self.latest:
            return f"timestamp {moment.isoformat()} is more than 1 day in the future"
        return moment


def parse(
    data: bytes | str,
    *,
    now: datetime | None = None,
    feed_slugs: Collection[str] = (),
    source_ids: Collection[str] = (),
) -> ParseResult:
    """Samples of a remote-write body, each routed to a feed by its labels (see the module)."""
    now = require_aware(now, "now") or utc_now()
    buf = decompress(data)
    router = _router(frozenset(feed_slugs), frozenset(source_ids))
    result = ParseResult()
    times = _Times(now)
    cache, known, kept = router.cache, times.by_varint, result.samples
    unpack, isfinite, new = _DOUBLE.unpack_from, math.isfinite, tuple.__new__
    for index, (start, end) in enumerate(series_spans(buf), start=1):
        # The usual series, as Prometheus writes it: its labels, then one sample of a double
        # and a 6-byte millisecond timestamp (18 bytes: 0x12 16 0x09 <8> 0x10 <6>). Its label
        # bytes are a key the slow path below resolved (so checked) earlier.
        cut = end - 18
        if (
            cut > start
            and buf[cut] == 0x12
            and buf[cut + 1] == 16
            and buf[cut + 2] == 0x09
            and buf[cut + 11] == 0x10
            and buf[start] == 0x0A
            and (route := cache.get(buf[start:cut])) is not None
            and route[3] is None
        ):
            moment = known.get(buf[cut + 12 : end])
            value = unpack(buf, cut + 3)[0]
            if moment is not None and moment.__class__ is not str and isfinite(value):
                kept.append(new(Sample, (*route[:2], moment, value, route[2], None, None)))
                continue
        try:
            label_spans, sample_spans, key = _split_series(buf, start, end)
            route = router.cache.get(key)
            if route is None:
                route = router.cache[key] = router.resolve(_labels(buf, label_spans))
            samples, rejected = _series_samples(buf, index, route, sample_spans, times)
        except (_Malformed, IndexError, UnicodeDecodeError) as err:
            reason = "truncated" if isinstance(err, IndexError) else str(err)
            result.rejected.append(Rejected(index, "series", f"not a TimeSeries: {reason:.200}"))
            continue
        result.samples += samples
        result.rejected += rejected
    return result


def _series_samples(buf: bytes, index: int, route: tuple, spans, times: _Times):
    """(kept samples, rejections) of one series; _Malformed when its bytes are not samples."""
    source, metric, unit_or_field, reason = route
    if reason is not None:
        return [], [Rejected(index, unit_or_field, reason) for _ in spans]
    kept, rejected = [], []
    unpack, isfinite, known = _DOUBLE.unpack_from, math.isfinite, times.by_varint
    for start, end in spans:
        if end - start >= 11 and buf[start] == 0x09 and buf[start + 9] == 0x10:
            stamp = buf[start + 10 : end]
            value, moment = unpack(buf, start + 1)[0], known.get(stamp) or times.of_varint(stamp)
            raw = buf[start + 1 : start + 9] if not isfinite(value) else None
        else:  # zero value or zero time left out (proto3), or another field order
            raw, stamp = _sample_slowly(buf, start, end)
            value, moment = _DOUBLE.unpack(raw)[0], times.of_ms(stamp)
        if moment.__class__ is str:
            rejected.append(Rejected(index, "timestamp", moment))
        elif raw is None:
            kept.append(Sample(source, metric, moment, value, unit_or_field))
        elif raw == STALE_NAN:
            rejected.append(Rejected(index, "value", f"stale marker ({_where(source, metric)})"))
        elif isfinite(value):
            kept.append(Sample(source, metric, moment, value, unit_or_field))
        else:
            rejected.append(Rejected(index, "value", f"not a finite number: {value}"))
    return kept, rejected


def _where(source: str, metric: str) -> str:
    return f"{metric} of {source}"
