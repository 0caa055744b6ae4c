"""Generic telemetry, for gear Tally has no dedicated parser for: JSON or CSV samples.

JSON: a list of sample objects, or an object whose ``samples`` key holds that list::

    {"samples": [
      {"source": "venue-encoder-a", "metric": "encoder.temperature",
       "time": "2026-11-26T19:00:00Z", "value": 41.5, "unit": "C"},
      {"metric": "return.asl.bitrate", "time": 1795719600000, "value": 4.8, "unit": "Mb/s"}
    ]}

- ``metric`` (required): 1 to 100 characters from ``A-Z a-z 0-9 _ . / -``.
- ``time`` (required): ISO 8601 with a zone (``2026-11-26T19:00:00Z``,
  ``2026-11-26T20:00:00+01:00``) or a number of milliseconds since 1970-01-01 UTC.
- ``value`` (required): a finite JSON number (strings, NaN and Infinity are rejected).
- ``source`` (optional): the identifier the gear reports under, up to 255 characters; the feed
  is then matched by it. Leave it out when the upload URL already names the feed.
- ``unit`` (optional, up to 32 characters): defaults to the metric's known unit, else ``""``.
- Other keys are ignored.

CSV: a header line is required and names the columns, in any order: ``time``, ``metric`` and
``value`` are required, ``source`` and ``unit`` optional (``time,source,metric,value,unit`` is
the usual order). Cells follow the JSON rules; a numeric ``time`` is epoch milliseconds and an
empty ``source`` or ``unit`` means "not given". Every row must have exactly the header's columns:
a row that has not is rejected on its own (a payload where no row has them is a FormatError).

Both: a sample with a bad field, a timestamp without a zone, or a timestamp more than a day in
the future is rejected on its own (record = 1-based sample index for JSON, line number for CSV);
a payload that is not valid JSON/CSV, or has the wrong shape or header, is a FormatError.
"""

from __future__ import annotations

import csv
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
    parse_iso_time,
    parse_number,
    require_aware,
    utc_now,
)

METRIC_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-")
MAX_METRIC = 100
MAX_SOURCE = 255
MAX_UNIT = 32
CSV_COLUMNS = ("time", "source", "metric", "value", "unit")
_REQUIRED = ("time", "metric", "value")


def is_metric_name(name: object) -> bool:
    """True for names of 1-100 characters from [A-Za-z0-9_./-]."""
    return isinstance(name, str) and 0 < len(name) <= MAX_METRIC and METRIC_CHARS.issuperset(name)


class _Builder:
    """Validates generic samples field by field."""

    def __init__(self, now: datetime | None) -> None:
        self.now = require_aware(now, "now") or utc_now()
        self.result = ParseResult(samples=[], alerts=[], rejected=[])
        self._metrics: dict[str, bool] = {}
        self._units: dict[str, str] = {}

    def reject(self, record: int, field: str | None, reason: str) -> None:
        """Note one rejected sample."""
        self.result.rejected.append(Rejected(record, field, reason))

    def add(self, record: int, fields: dict[str, object]) -> None:
        """Validate one sample (source, metric, time, value, unit) and keep it."""
        metric, raw_time, value = fields.get("metric"), fields.get("time"), fields.get("value")
        source, unit = fields.get("source"), fields.get("unit")
        if not self._metric_ok(metric):
            self.reject(record, "metric", f"not a metric name: {metric!r:.60}")
            return
        if (reason := number_reason(value)) is not None:
            self.reject(record, "value", reason)
            return
        moment = self._time(raw_time)
        if isinstance(moment, str):
            self.reject(record, "time", moment)
            return
        if source is not None and (not isinstance(source, str) or len(source) > MAX_SOURCE):
            self.reject(record, "source", f"source must be a string of at most {MAX_SOURCE}")
            return
        if unit is not None and (not isinstance(unit, str) or len(unit) > MAX_UNIT):
            self.reject(record, "unit", f"unit must be a string of at most {MAX_UNIT}")
            return
        unit = self._default_unit(metric) if unit is None else unit
        self.result.samples.append(Sample(source or None, metric, moment, float(value), unit))

    def _metric_ok(self, metric: object) -> bool:
        """Check a metric name, remembering the answer for strings."""
        if not isinstance(metric, str):
            return False
        known = self._metrics.get(metric)
        if known is None:
            known = self._metrics[metric] = is_metric_name(metric)
        return known

    def _time(self, raw: object) -> datetime | str:
        """ISO 8601 with a zone, or epoch milliseconds."""
        if isinstance(raw, str):
            moment = parse_iso_time(raw)
        elif number_reason(raw) is None:
            moment = parse_epoch_ms(raw)
        else:
            return f"time must be ISO 8601 with a zone or epoch ms, not {raw!r:.40}"
        if isinstance(moment, str):
            return moment
        return future_reason(moment, self.now) or moment

    def _default_unit(self, metric: str) -> str:
        """The known unit of a metric (see formats.METRICS), else ""."""
        unit = self._units.get(metric)
        if unit is None:
            from . import metric_info  # late import: the package imports this module

            info = metric_info(metric)
            unit = self._units[metric] = info[0] if info else ""
        return unit


def parse_json(data: bytes | str, *, now: datetime | None = None) -> ParseResult:
    """Parse a JSON list of samples, or ``{"samples": [...]}``."""
    payload = load_json(decode_text(data))
    if isinstance(payload, dict):
        if "samples" not in payload:
            raise FormatError("expected a 'samples' list", line=1, field="samples")
        payload = payload["samples"]
    if not isinstance(payload, list):
        raise FormatError("expected a list of samples", line=1, field="samples")
    builder = _Builder(now)
    for record, item in enumerate(payload, 1):
        if isinstance(item, dict):
            builder.add(record, item)
        else:
            builder.reject(record, None, "sample is not a JSON object")
    return builder.result


def parse_csv(data: bytes | str, *, now: datetime | None = None) -> ParseResult:
    """Parse CSV samples with a header naming the columns."""
    text = decode_text(data)
    builder = _Builder(now)
    rows = csv.reader(line.rstrip("\r") for line in text.split("\n"))
    columns: list[str] | None = None
    parsed, first_error = 0, None
    try:
        for row in rows:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if columns is None:
                columns = _header(row, rows.line_num)
                continue
            try:
                fields = _row_fields(columns, row, rows.line_num)
            except FormatError as err:  # a short or long row (a truncated line): that row only
                first_error = first_error or err
                builder.reject(rows.line_num, err.field, err.message)
                continue
            parsed += 1
            builder.add(rows.line_num, fields)
    except csv.Error as err:
        raise FormatError(f"invalid CSV: {err}", line=rows.line_num) from None
    if columns is None:
        raise FormatError("missing header line", line=1, field="time")
    if not parsed and first_error is not None:
        raise first_error  # no row has the header's columns: the payload is not this CSV
    return builder.result


def parse(data: bytes | str, *, now: datetime | None = None) -> ParseResult:
    """Parse generic samples, telling JSON from CSV by the first character."""
    text = decode_text(data)
    if text.lstrip()[:1] in ("[", "{"):
        return parse_json(text, now=now)
    return parse_csv(text, now=now)


def _header(row: list[str], line: int) -> list[str]:
    """Validate the header: known names, no repeats, the required ones present."""
    names = [cell.strip().lower() for cell in row]
    for name in names:
        if name not in CSV_COLUMNS:
            raise FormatError("unknown column in the header", line=line, field=name[:100])
        if names.count(name) > 1:
            raise FormatError("column appears twice in the header", line=line, field=name)
    for name in _REQUIRED:
        if name not in names:
            raise FormatError("missing column in the header", line=line, field=name)
    return names


def _row_fields(columns: list[str], row: list[str], line: int) -> dict[str, object]:
    """Map one CSV row to sample fields, converting value (and numeric time) to numbers."""
    if len(row) != len(columns):
        field = columns[len(row)] if len(row) < len(columns) else f"column {len(columns) + 1}"
        raise FormatError(
            f"expected {len(columns)} columns, found {len(row)}", line=line, field=field
        )
    fields: dict[str, object] = {}
    for name, cell in zip(columns, row, strict=True):
        text = cell.strip()
        if name in ("source", "unit"):
            fields[name] = text or None
        elif name == "metric":
            fields[name] = text
        else:
            number = parse_number(text)
            fields[name] = number if isinstance(number, float) else text
    return fields
