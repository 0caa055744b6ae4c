"""srt-live-transmit statistics: ``-pf:json`` (JSON Lines or a JSON array) and ``-pf:csv``.

Metric names are the JSON group and key, e.g. ``recv.packetsLost``, ``link.rtt``,
``recv.mbitRate``, ``window.flow``; every numeric field of every group is kept. The CSV uses the
libsrt names (``pktRcvLoss``, ``msRTT``, ``mbpsRecvRate``...) and every column maps to the same
canonical JSON name (see ``CSV_COLUMNS``). The CSV header repeats ``Time`` (columns 2 and 4, both
the ms since the socket was created); columns are read by position, never by a dict reader.

Time comes from ``timepoint`` (ISO 8601 with an offset such as ``+0000``) and is converted to UTC;
a timepoint without an offset rejects the record. Samples have ``source=None`` (the feed comes
from the ingest URL) and ``connection=f"{sid}#{n}"``: a socket id seen for the first time, or a
decrease of ``time`` on a known socket, starts connection ``n`` = 1, 2, ... of that socket,
unless ``time`` was past ``WRAP_FLOOR_MS`` (a counter wrap is the same connection). Every record
also yields ``srt.socket`` and ``srt.elapsed`` samples (``connection_samples``), from which
anomaly detection tells reconnects across batches (``is_reconnect``).

Packet and byte counters (``packets*``, ``bytes*``) are emitted per interval. srt-live-transmit
clears them after every record unless it runs with ``-f``, in which case they are cumulative since
the connection started, and the output does not say which. See ``counter_mode`` for how
``counters="auto"`` decides; cumulative counters become deltas per connection, and the first record
of a connection keeps its value. Instantaneous fields (rtt, bandwidth, mbitRate, msBuf,
byteAvailBuf, window.*) pass through unchanged.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from math import isfinite

from .base import (
    FormatError,
    ParseResult,
    Rejected,
    Sample,
    decode_text,
    future_reason,
    load_json,
    number_reason,
    parse_iso_time,
    parse_number,
    require_aware,
    utc_now,
)

COUNTER_MODES = ("auto", "interval", "cumulative")

# canonical name, libsrt CSV column, unit, label
_FIELDS: tuple[tuple[str, str, str, str], ...] = (
    ("window.flow", "pktFlowWindow", "packets", "SRT flow window"),
    ("window.congestion", "pktCongestionWindow", "packets", "SRT congestion window"),
    ("window.flight", "pktFlightSize", "packets", "SRT packets in flight"),
    ("link.rtt", "msRTT", "ms", "SRT round-trip time"),
    ("link.bandwidth", "mbpsBandwidth", "Mb/s", "SRT estimated link bandwidth"),
    ("link.maxBandwidth", "mbpsMaxBW", "Mb/s", "SRT maximum bandwidth setting"),
    ("send.packets", "pktSent", "packets", "SRT packets sent"),
    ("send.packetsUnique", "pktSentUnique", "packets", "SRT unique packets sent"),
    ("send.packetsLost", "pktSndLoss", "packets", "SRT packets reported lost by the receiver"),
    ("send.packetsDropped", "pktSndDrop", "packets", "SRT packets dropped by the sender"),
    ("send.packetsRetransmitted", "pktRetrans", "packets", "SRT packets retransmitted"),
    ("send.packetsFilterExtra", "pktSndFilterExtra", "packets", "SRT packet-filter extra sent"),
    ("send.bytes", "byteSent", "bytes", "SRT bytes sent"),
    ("send.bytesUnique", "byteSentUnique", "bytes", "SRT unique bytes sent"),
    ("send.bytesDropped", "byteSndDrop", "bytes", "SRT bytes dropped by the sender"),
    ("send.byteAvailBuf", "byteAvailSndBuf", "bytes", "SRT free send buffer"),
    ("send.msBuf", "msSndBuf", "ms", "SRT send buffer (time)"),
    ("send.mbitRate", "mbpsSendRate", "Mb/s", "SRT send rate"),
    ("send.sendPeriod", "usPktSndPeriod", "us", "SRT packet send period"),
    ("recv.packets", "pktRecv", "packets", "SRT packets received"),
    ("recv.packetsUnique", "pktRecvUnique", "packets", "SRT unique packets received"),
    ("recv.packetsLost", "pktRcvLoss", "packets", "SRT packets lost (before retransmission)"),
    ("recv.packetsDropped", "pktRcvDrop", "packets", "SRT packets dropped (unrecovered)"),
    ("recv.packetsRetransmitted", "pktRcvRetrans", "packets", "SRT retransmitted packets received"),
    ("recv.packetsBelated", "pktRcvBelated", "packets", "SRT packets received too late"),
    ("recv.packetsFilterExtra", "pktRcvFilterExtra", "packets", "SRT packet-filter extra received"),
    ("recv.packetsFilterSupply", "pktRcvFilterSupply", "packets", "SRT packets rebuilt by filter"),
    ("recv.packetsFilterLoss", "pktRcvFilterLoss", "packets", "SRT packets the filter lost"),
    ("recv.bytes", "byteRecv", "bytes", "SRT bytes received"),
    ("recv.bytesUnique", "byteRecvUnique", "bytes", "SRT unique bytes received"),
    ("recv.bytesLost", "byteRcvLoss", "bytes", "SRT bytes lost"),
    ("recv.bytesDropped", "byteRcvDrop", "bytes", "SRT bytes dropped (unrecovered)"),
    ("recv.byteAvailBuf", "byteAvailRcvBuf", "bytes", "SRT free receive buffer"),
    ("recv.msBuf", "msRcvBuf", "ms", "SRT receive buffer (time)"),
    ("recv.mbitRate", "mbpsRecvRate", "Mb/s", "SRT receive rate"),
    ("recv.msTsbPdDelay", "msRcvTsbPdDelay", "ms", "SRT receiver latency (TSBPD delay)"),
)

# Which connection a record came from, one sample each per record (see connection_samples).
SOCKET, ELAPSED = "srt.socket", "srt.elapsed"
CONNECTION_METRICS: dict[str, tuple[str, str]] = {
    SOCKET: ("id", "SRT socket id"),
    ELAPSED: ("ms", "SRT connection age (ms since the socket was created)"),
}
METRICS: dict[str, tuple[str, str]] = {
    **{name: (unit, label) for name, _, unit, label in _FIELDS},
    **CONNECTION_METRICS,
}
CSV_COLUMNS: dict[str, str] = {column: name for name, column, _, _ in _FIELDS}
_CSV_META = ("Timepoint", "Time", "SocketID")
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")

# (metric, unit, is_counter) for one field
FieldInfo = tuple[str, str, bool]


def _is_counter(metric: str) -> bool:
    """Packet and byte counters are the fields that -f turns cumulative."""
    return metric.partition(".")[2].startswith(("packets", "bytes"))


_KNOWN: dict[tuple[str, str], FieldInfo] = {
    tuple(name.split(".")): (name, unit, _is_counter(name)) for name, _, unit, _ in _FIELDS
}


_PLAIN_NUMBERS = frozenset((int, float))  # not bool: True is not a statistic
_INT_LIMIT = 2**1023  # integers past this do not fit a float


@dataclass(slots=True)
class _Record:
    """One statistics record, after validation, before counter conversion."""

    number: int
    connection: str
    time: datetime
    elapsed: float | None
    values: list[tuple[FieldInfo, float]]


class _Collector:
    """Validates records one at a time and remembers connections and rejections."""

    def __init__(self, counters: str, now: datetime | None) -> None:
        if counters not in COUNTER_MODES:
            raise ValueError(f"counters must be one of {COUNTER_MODES}, not {counters!r}")
        self.counters = counters
        self.now = require_aware(now, "now") or utc_now()
        self.records: list[_Record] = []
        self.rejected: list[Rejected] = []
        self._fields: dict[tuple[str, str], FieldInfo | None] = dict(_KNOWN)
        self._groups: dict[str, dict[str, FieldInfo | None]] = {}
        # group -> (its keys, their FieldInfo, positions of counters) of a clean record
        self._shapes: dict[str, tuple[tuple[str, ...], tuple[FieldInfo, ...], tuple[int, ...]]] = {}
        self._sockets: dict[int, tuple[int, float | None]] = {}

    def reject(self, number: int, field: str | None, reason: str) -> None:
        """Note one rejected record or field."""
        self.rejected.append(Rejected(number, field, reason))

    def connection(self, sid: int, elapsed: float | None) -> str:
        """Name the connection a record belongs to; a reset of `time` starts a new one."""
        epoch, last = self._sockets.get(sid, (0, None))
        if epoch == 0 or is_time_reset(last, elapsed):
            epoch += 1
        self._sockets[sid] = (epoch, elapsed if elapsed is not None else last)
        return f"{sid}#{epoch}"

    def header(self, number: int, sid: object, timepoint: object) -> tuple[int, datetime] | None:
        """Validate the socket id and timepoint of a record, or reject the record."""
        if isinstance(sid, bool) or not isinstance(sid, int):
            self.reject(number, "sid", f"socket id is not an integer: {sid!r:.40}")
            return None
        if not isinstance(timepoint, str):
            self.reject(number, "timepoint", "missing timepoint")
            return None
        moment = parse_iso_time(timepoint)
        if isinstance(moment, str):
            self.reject(number, "timepoint", moment)
            return None
        if reason := future_reason(moment, self.now):
            self.reject(number, "timepoint", reason)
            return None
        return sid, moment

    def field(self, group: str, key: str) -> FieldInfo | None:
        """Look up (or derive once) the canonical name, unit and counter flag of a JSON field."""
        try:
            return self._fields[(group, key)]
        except KeyError:
            name = f"{group}.{key}"
            valid = bool(group and key) and len(name) <= 100 and _NAME_CHARS.issuperset(group + key)
            info = (name, "", _is_counter(name)) if valid else None
            self._fields[(group, key)] = info
            return info

    def value(self, number: int, info: FieldInfo, value: float) -> bool:
        """Reject negative counters; return whether the value is kept."""
        if info[2] and value < 0:
            self.reject(number, info[0], f"negative counter: {value}")
            return False
        return True

    def add_json(self, obj: object, number: int) -> None:
        """Validate one JSON record and keep it."""
        if not isinstance(obj, dict):
            self.reject(number, None, "record is not a JSON object")
            return
        head = self.header(number, obj.get("sid"), obj.get("timepoint"))
        if head is None:
            return
        elapsed = obj.get("time")
        elapsed = None if number_reason(elapsed) else float(elapsed)
        values = []
        for group, fields in obj.items():
            if isinstance(fields, dict):
                values.extend(self._json_group(number, group, fields))
        connection = self.connection(head[0], elapsed)
        self.records.append(_Record(number, connection, head[1], elapsed, values))

    def _json_group(self, number: int, group: str, fields: dict) -> list[tuple[FieldInfo, float]]:
        """Collect the valid numeric fields of one JSON group."""
        shape = self._shapes.get(group)
        if shape is not None and shape[0] == tuple(fields):
            # The same keys as this group's last clean record (srt-live-transmit repeats its
            # layout): check the values all at once, in C, and fall through on any doubt.
            values = fields.values()
            if _PLAIN_NUMBERS.issuperset(map(type, values)):
                try:
                    floats = list(map(float, values))
                    finite = isfinite(sum(floats))
                except OverflowError:  # an integer beyond float range
                    finite = False
                if finite and min(map(floats.__getitem__, shape[2]), default=0.0) >= 0:
                    return list(zip(shape[1], floats, strict=True))
        kept = self._json_fields(number, group, fields)
        if shape is None:
            infos = tuple(map(self._groups[group].get, fields))
            if None not in infos:
                counters = tuple(i for i, info in enumerate(infos) if info[2])
                self._shapes[group] = (tuple(fields), infos, counters)
        return kept

    def _json_fields(self, number: int, group: str, fields: dict) -> list[tuple[FieldInfo, float]]:
        """Collect the valid numeric fields of one JSON group, field by field, saying why a
        field is left out."""
        kept = []
        known = self._groups.get(group)  # key -> FieldInfo of this group (no tuple per field)
        if known is None:
            known = self._groups[group] = {}
        for key, raw in fields.items():
            info = known.get(key)
            if info is None:
                info = known[key] = self.field(group, key)
            # Fast path for the usual case (a known field, a finite int/float, not a negative
            # counter); anything else goes through the checks below, which say why.
            kind = type(raw)
            if (
                info is not None
                and (
                    (kind is int and -_INT_LIMIT < raw < _INT_LIMIT)
                    or (kind is float and isfinite(raw))
                )
                and not (info[2] and raw < 0)
            ):
                kept.append((info, float(raw)))
            elif info is None:
                self.reject(number, f"{group}.{key}"[:100], "field name is not a metric name")
            elif (reason := number_reason(raw)) is not None:
                self.reject(number, info[0], reason)
            elif self.value(number, info, raw):
                kept.append((info, float(raw)))
        return kept

    def result(self) -> ParseResult:
        """Convert counters and build the samples."""
        cumulative = _cumulative_connections(self.records, self.counters)
        samples = _emit(self.records, cumulative, self.rejected)
        samples += connection_samples(self.records)
        return ParseResult(samples=samples, alerts=[], rejected=self.rejected)


def parse_json(
    data: bytes | str, *, counters: str = "auto", now: datetime | None = None
) -> ParseResult:
    """Parse srt-live-transmit ``-pf:json`` output (JSON Lines, or one JSON array of records)."""
    text = decode_text(data)
    collector = _Collector(counters, now)
    if text.lstrip().startswith("["):
        records = load_json(text)
        if not isinstance(records, list):
            raise FormatError("expected a JSON array of records", line=1)
        for number, obj in enumerate(records, 1):
            collector.add_json(obj, number)
        return collector.result()
    for number, obj in _json_lines(text, collector.reject):
        collector.add_json(obj, number)
    return collector.result()


def _json_lines(text: str, reject) -> list[tuple[int, object]]:
    """(line number, value) per non-blank line. A line that is not JSON (a truncated last line,
    a stray log line) is rejected on its own through `reject`; when no line is JSON, the payload
    as a whole is not, and the first line's error is raised."""
    values, first_error = [], None
    for number, line in enumerate(text.split("\n"), 1):
        if line and not line.isspace():
            try:
                values.append((number, load_json(line, line_offset=number - 1)))
            except FormatError as err:
                first_error = first_error or err
                reject(number, None, err.message)
    if not values and first_error is not None:
        raise first_error
    return values


def check_json(data: bytes | str) -> None:
    """Raise the FormatError ``parse_json`` would raise, without building samples.

    For the request path: a big batch is checked here (JSON decoding only) and parsed once, by
    the worker. Per-record problems are not errors, so they are not looked at.
    """
    text = decode_text(data)
    if text.lstrip().startswith("["):
        if not isinstance(load_json(text), list):
            raise FormatError("expected a JSON array of records", line=1)
        return
    _json_lines(text, lambda *rejected: None)


def parse_csv(
    data: bytes | str, *, counters: str = "auto", now: datetime | None = None
) -> ParseResult:
    """Parse srt-live-transmit ``-pf:csv`` output; an empty file yields nothing."""
    text = decode_text(data)
    collector = _Collector(counters, now)
    rows = csv.reader(line.rstrip("\r") for line in text.split("\n"))
    header: list[str] | None = None
    layout: _CsvLayout | None = None
    try:
        for row in rows:
            number = rows.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if layout is None:
                header, layout = row, _csv_layout(row, number)
            elif row != header:  # a repeated header (appended files) is not data
                _add_csv_row(collector, layout, row, number)
    except csv.Error as err:
        raise FormatError(f"invalid CSV: {err}", line=rows.line_num) from None
    return collector.result()


def parse(data: bytes | str, *, counters: str = "auto", now: datetime | None = None) -> ParseResult:
    """Parse SRT statistics in either format, telling JSON from CSV by the first character."""
    text = decode_text(data)
    if text.lstrip()[:1] in ("{", "["):
        return parse_json(text, counters=counters, now=now)
    return parse_csv(text, counters=counters, now=now)


@dataclass(slots=True)
class _CsvLayout:
    """Where the metadata and metric columns sit in a CSV header."""

    width: int
    names: list[str]
    timepoint: int
    sid: int
    elapsed: int | None
    columns: list[tuple[int, FieldInfo]]


def _csv_layout(header: list[str], number: int) -> _CsvLayout:
    """Map header positions to canonical fields; unknown or missing columns are errors."""
    names = [name.strip() for name in header]
    for required in ("Timepoint", "SocketID"):
        if required not in names:
            raise FormatError("missing column in the CSV header", line=number, field=required)
    columns, seen = [], set()
    for index, name in enumerate(names):
        if name in _CSV_META:
            continue
        canonical = CSV_COLUMNS.get(name)
        if canonical is None:
            raise FormatError("unknown column in the CSV header", line=number, field=name[:100])
        if canonical in seen:
            raise FormatError("column appears twice in the CSV header", line=number, field=name)
        seen.add(canonical)
        columns.append((index, _KNOWN[tuple(canonical.split("."))]))
    elapsed = names.index("Time") if "Time" in names else None
    return _CsvLayout(
        len(names), names, names.index("Timepoint"), names.index("SocketID"), elapsed, columns
    )


def _add_csv_row(collector: _Collector, layout: _CsvLayout, row: list[str], number: int) -> None:
    """Validate one CSV row and keep it."""
    if len(row) != layout.width:
        missing = len(row) < layout.width
        field = layout.names[len(row)] if missing else f"column {layout.width + 1}"
        raise FormatError(
            f"expected {layout.width} columns, found {len(row)}", line=number, field=field
        )
    head = collector.header(number, _csv_int(row[layout.sid]), row[layout.timepoint].strip())
    if head is None:
        return
    elapsed = None if layout.elapsed is None else parse_number(row[layout.elapsed])
    elapsed = elapsed if isinstance(elapsed, float) else None
    values = []
    for index, info in layout.columns:
        value = parse_number(row[index])
        if isinstance(value, str):
            collector.reject(number, info[0], value)
        elif collector.value(number, info, value):
            values.append((info, value))
    connection = collector.connection(head[0], elapsed)
    collector.records.append(_Record(number, connection, head[1], elapsed, values))


def _csv_int(text: str) -> int | str:
    """Parse a CSV integer cell, returning the text itself when it is not one."""
    try:
        return int(text)
    except ValueError:
        return text


def counter_mode(records: list[_Record]) -> str:
    """Decide whether one connection's counters are "cumulative" or "interval".

    The heuristic, in order:
    1. Fewer than two records: "interval" (the first record reads the same either way).
    2. Any packet/byte counter decreases between consecutive records: "interval" (cumulative
       counters never go down within a connection).
    3. Rate consistency, when rates are present: libsrt computes ``mbitRate`` over the same span
       the byte counters cover, i.e. since the previous record (interval) or since the socket was
       created (cumulative, ``-f``). For each record after the first, compare the byte count with
       ``mbitRate * span`` for both spans (``time`` is in ms) and pick the model with the smaller
       total log error.
    4. Otherwise (no traffic rates): "cumulative" when the packet count of the last record is at
       least twice that of the first, i.e. it clearly grew beyond one interval's size.
    """
    if len(records) < 2 or _any_counter_decreases(records):
        return "interval"
    traffic = [_traffic(record) for record in records]
    verdict = _rate_verdict(traffic)
    if verdict is not None:
        return verdict
    first, last = traffic[0][0], traffic[-1][0]
    return "cumulative" if last >= 2 * max(first, 1.0) else "interval"


def _any_counter_decreases(records: list[_Record]) -> bool:
    """True when some counter goes down from one record to the next."""
    previous: dict[str, float] = {}
    for record in records:
        for (metric, _, counter), value in record.values:
            if counter:
                if value < previous.get(metric, -math.inf):
                    return True
                previous[metric] = value
    return False


def _traffic(record: _Record) -> tuple[float, float, float, float | None]:
    """Packets, bytes and Mb/s (both directions summed) and elapsed ms of one record."""
    packets = data = rate = 0.0
    for (metric, _, _), value in record.values:
        if metric in ("recv.packets", "send.packets"):
            packets += value
        elif metric in ("recv.bytes", "send.bytes"):
            data += value
        elif metric in ("recv.mbitRate", "send.mbitRate"):
            rate += value
    return packets, data, rate, record.elapsed


def _rate_verdict(traffic: list[tuple[float, float, float, float | None]]) -> str | None:
    """Pick the counter model that best explains bytes = rate x span, or None without evidence."""
    interval_error = cumulative_error = 0.0
    evidence = 0
    for (_, _, _, start), (_, data, rate, end) in pairwise(traffic):
        if start is None or end is None or not 0 <= start < end or rate <= 0 or data <= 0:
            continue
        bytes_per_ms = rate * 125.0  # Mb/s -> bytes/ms
        interval_error += abs(math.log(data / (bytes_per_ms * (end - start))))
        cumulative_error += abs(math.log(data / (bytes_per_ms * end)))
        evidence += 1
    if not evidence:
        return None
    return "cumulative" if cumulative_error < interval_error else "interval"


def _cumulative_connections(records: list[_Record], counters: str) -> set[str]:
    """The connections whose counters must be turned into per-interval deltas."""
    if counters == "interval":
        return set()
    if counters == "cumulative":
        return {record.connection for record in records}
    grouped: dict[str, list[_Record]] = {}
    for record in records:
        grouped.setdefault(record.connection, []).append(record)
    return {conn for conn, group in grouped.items() if counter_mode(group) == "cumulative"}


def _emit(records: list[_Record], cumulative: set[str], rejected: list[Rejected]) -> list[Sample]:
    """Build samples in record order, turning cumulative counters into deltas."""
    samples: list[Sample] = []
    append = samples.append
    previous: dict[tuple[str, str], float] = {}
    new = tuple.__new__  # Sample(...) without its Python-level __new__ (a big batch makes 10^5)
    for record in records:
        connection, moment = record.connection, record.time
        if connection not in cumulative:
            samples += [
                new(Sample, (None, metric, moment, value, unit, connection, None))
                for (metric, unit, _), value in record.values
            ]
            continue
        for (metric, unit, counter), value in record.values:
            if counter:
                last = previous.get((connection, metric))
                previous[(connection, metric)] = value
                if last is not None:
                    if value < last:
                        reason = f"cumulative counter decreased from {last:g} to {value:g}"
                        rejected.append(Rejected(record.number, metric, reason))
                        continue
                    value -= last
            append(new(Sample, (None, metric, moment, value, unit, connection, None)))
    return samples


# --- Reconnects -------------------------------------------------------------------------

# `time` is ms since the socket was created. A decrease from a value this large (a socket up
# for 23.8 days, where a signed 32-bit millisecond counter wraps; no show's connection lives
# that long) is the counter wrapping, not the connection starting again.
WRAP_FLOOR_MS = 2**31 - 3_600_000


def is_time_reset(before: float | None, after: float | None) -> bool:
    """True when `time` went back on one socket: a new connection, unless it was a counter wrap."""
    if before is None or after is None or after >= before:
        return False
    return before < WRAP_FLOOR_MS


def is_reconnect(before: tuple[int, float | None], after: tuple[int, float | None]) -> bool:
    """Whether two consecutive records, (socket id, `time`) each, belong to different connections:
    a new socket id, or `time` reset on the same socket (a wrap is not a reset)."""
    return before[0] != after[0] or is_time_reset(before[1], after[1])


def connection_samples(records: list[_Record]) -> list[Sample]:
    """``srt.socket`` (the socket id) and ``srt.elapsed`` (its ``time``) of every record, so that
    a reconnect can be told across batches: the stored record before a batch has them too."""
    samples = []
    for record in records:
        sid = float(record.connection.partition("#")[0])
        samples.append(Sample(None, SOCKET, record.time, sid, "id", record.connection))
        if record.elapsed is not None:
            samples.append(
                Sample(None, ELAPSED, record.time, record.elapsed, "ms", record.connection)
            )
    return samples
