"""Shared result types and small helpers for the telemetry parsers (no Django here)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import orjson

FUTURE_TOLERANCE = timedelta(days=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class FormatError(ValueError):
    """A whole payload cannot be parsed; names where."""

    def __init__(
        self,
        message: str,
        *,
        line: int | None = None,
        field: str | None = None,
        where: str = "line",
    ) -> None:
        self.message = message
        self.line = line
        self.field = field
        self.where = where
        super().__init__(message)

    def __str__(self) -> str:
        """Render as "line 3, field 'recv.packets': not a number"."""
        parts = []
        if self.line is not None:
            parts.append(f"{self.where} {self.line}")
        if self.field is not None:
            parts.append(f"field {self.field!r}")
        return f"{', '.join(parts)}: {self.message}" if parts else self.message

    def __reduce__(self) -> tuple[Any, ...]:
        """Keep line and field when the error crosses a process boundary."""
        return (type(self), (self.message,), dict(self.__dict__))


class Sample(NamedTuple):
    """One value of one metric at one instant (immutable).

    A NamedTuple rather than a frozen dataclass: a big batch builds tens of thousands, and a
    frozen dataclass's __init__ (object.__setattr__ per field) cost three times as much.
    """

    source: str | None
    metric: str
    time: datetime
    value: float
    unit: str
    connection: str | None = None
    stats: tuple[float, float, float, float] | None = None


@dataclass(frozen=True, slots=True)
class Alert:
    """An alarm being set or cleared, or a state change worth showing on a timeline."""

    source: str | None
    alarm_id: str
    state: str
    kind: str
    time: datetime
    message: str
    detail: dict


@dataclass(frozen=True, slots=True)
class Rejected:
    """One record (or one field of it) that was skipped, and why."""

    record: int
    field: str | None
    reason: str


@dataclass
class ParseResult:
    """Everything a payload yielded: samples, alerts and what was rejected."""

    samples: list[Sample] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


def decode_text(data: bytes | str) -> str:
    """Return the payload as text, raising FormatError at the line of the first bad byte."""
    if isinstance(data, str):
        text = data
    else:
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as err:
            line = data.count(b"\n", 0, err.start) + 1
            raise FormatError("not UTF-8 text", line=line) from None
    return text[1:] if text.startswith("\ufeff") else text


def load_json(text: str, *, line_offset: int = 0) -> Any:
    """Parse JSON, turning every failure (syntax, nesting depth, huge numbers) into FormatError.

    orjson first (several times faster on big batches); what it refuses (NaN, integers past
    64 bits, lone surrogates, bad syntax) goes to the standard parser, which accepts the same
    documents it always did and explains the rest.
    """
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise FormatError(f"invalid JSON: {err.msg}", line=err.lineno + line_offset) from None
    except RecursionError:
        line = _too_deep_line(text) + line_offset
        raise FormatError("JSON nested too deeply", line=line) from None
    except ValueError as err:
        raise FormatError(f"invalid JSON: {err}", line=line_offset + 1) from None


def _too_deep_line(text: str, limit: int = 256) -> int:
    """Find the line where brackets nest deeper than `limit` (only run after a RecursionError)."""
    depth, line, in_string, escaped = 0, 1, False, False
    for char in text:
        if char == "\n":
            line += 1
        elif escaped:
            escaped = False
        elif in_string:
            escaped = char == "\\"
            in_string = char != '"'
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return line
        elif char in "]}":
            depth -= 1
    return line


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def require_aware(value: datetime | None, name: str) -> datetime | None:
    """Reject naive datetimes passed as options; they are a programming error."""
    if value is not None and value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime")
    return value


def parse_iso_time(text: str) -> datetime | str:
    """Parse an ISO 8601 timestamp with a zone into UTC; return the reason on failure."""
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return f"not an ISO 8601 timestamp: {text!r:.60}"
    if moment.utcoffset() is None:
        return f"timestamp has no time zone: {text!r:.60}"
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        return f"timestamp out of range: {text!r:.60}"


def parse_epoch_ms(value: float) -> datetime | str:
    """Turn epoch milliseconds into an aware UTC datetime; return the reason on failure."""
    if not math.isfinite(value):
        return "timestamp is not a finite number"
    try:
        return _EPOCH + timedelta(milliseconds=value)
    except OverflowError:
        return f"timestamp out of range: {value}"


def future_reason(moment: datetime, now: datetime) -> str | None:
    """Explain why a timestamp is too far in the future, or return None when it is fine."""
    if moment - now > FUTURE_TOLERANCE:
        return f"timestamp {moment.isoformat()} is more than 1 day in the future"
    return None


def number_reason(value: object) -> str | None:
    """Explain why a JSON value is not a usable finite number, or return None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"not a number: {value!r:.40}"
    if isinstance(value, float) and not math.isfinite(value):
        return f"not a finite number: {value}"
    if isinstance(value, int) and not -(2**1023) < value < 2**1023:
        return f"number out of range: {value!r:.40}"
    return None


def parse_number(text: str) -> float | str:
    """Parse a finite number from text; return the reason on failure."""
    try:
        value = float(text)
    except ValueError:
        return f"not a number: {text!r:.40}"
    if not math.isfinite(value):
        return f"not a finite number: {text.strip()}"
    return value
