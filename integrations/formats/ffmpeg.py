"""ffmpeg ``-progress`` output: key=value blocks, each ending in ``progress=continue|end``.

Metrics (``source=None``; the feed comes from the URL):

- ``encoder.frame`` (frames, total), ``encoder.fps`` (fps), ``encoder.stream_N_M_q`` (q, the
  quantizer of output stream N:M), ``encoder.bitrate`` (kbit/s, from ``"   0.0kbits/s"``),
  ``encoder.total_size`` (bytes), ``encoder.out_time`` (s, from ``out_time_us``; ``out_time_ms``
  is microseconds too and only used when ``out_time_us`` is absent), ``encoder.dup_frames`` and
  ``encoder.drop_frames`` (frames, totals since the encoder started, as ffmpeg reports them),
  ``encoder.speed`` (x, from ``"   1x"``).
- ``N/A`` values are skipped, not rejected. Unknown keys are ignored.

There is no timestamp in the format. With ``started_at``, a block's time is ``started_at`` +
its ``out_time`` (or block index x ``period`` when ``out_time`` is N/A, index 0 for the first
block). Without it, the last block is stamped ``received_at`` and earlier blocks are spaced back
by their ``out_time`` differences (or ``period`` where those are unknown).

A block ending in ``progress=end`` yields an ``Alert(kind="encoder_end", state="info")``. A
trailing block without a ``progress=`` line (the encoder was killed, or the file is still being
written) keeps its values. A final line with no newline and no ``=`` is a torn write and is
ignored; any other line without ``=`` is a FormatError.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .base import (
    Alert,
    FormatError,
    ParseResult,
    Rejected,
    Sample,
    decode_text,
    future_reason,
    parse_number,
    require_aware,
    utc_now,
)

METRICS: dict[str, tuple[str, str]] = {
    "encoder.frame": ("frames", "Encoder frames output (total)"),
    "encoder.fps": ("fps", "Encoder frames per second"),
    "encoder.stream_0_0_q": ("q", "Encoder quantizer, stream 0:0"),
    "encoder.bitrate": ("kbit/s", "Encoder output bitrate"),
    "encoder.total_size": ("bytes", "Encoder output size (total)"),
    "encoder.out_time": ("s", "Encoder output media time"),
    "encoder.dup_frames": ("frames", "Encoder duplicated frames (total)"),
    "encoder.drop_frames": ("frames", "Encoder dropped frames (total)"),
    "encoder.speed": ("x", "Encoder speed (1x = real time)"),
}

# progress key -> (metric, unit, suffix to strip, must not be negative)
_KEYS: dict[str, tuple[str, str, str, bool]] = {
    "frame": ("encoder.frame", "frames", "", True),
    "fps": ("encoder.fps", "fps", "", True),
    "bitrate": ("encoder.bitrate", "kbit/s", "kbits/s", True),
    "total_size": ("encoder.total_size", "bytes", "", True),
    "dup_frames": ("encoder.dup_frames", "frames", "", True),
    "drop_frames": ("encoder.drop_frames", "frames", "", True),
    "speed": ("encoder.speed", "x", "x", True),
}
_OUT_TIME_KEYS = ("out_time_us", "out_time_ms", "out_time")
_MAX_OUT_TIME = 10 * 365 * 86400.0  # seconds; anything longer is garbage


@dataclass(slots=True)
class _Block:
    """The key=value lines of one progress block."""

    number: int
    values: dict[str, str] = field(default_factory=dict)
    progress: str | None = None


def parse(
    data: bytes | str,
    *,
    received_at: datetime,
    started_at: datetime | None = None,
    period: float = 1.0,
    now: datetime | None = None,
) -> ParseResult:
    """Parse ffmpeg ``-progress`` blocks into encoder samples and an encoder_end alert."""
    if require_aware(received_at, "received_at") is None:
        raise ValueError("received_at is required")
    require_aware(started_at, "started_at")
    if not 0 < period <= 86400:
        raise ValueError("period must be between 0 and 86400 seconds")
    now = require_aware(now, "now") or utc_now()
    blocks = _blocks(decode_text(data))
    result = ParseResult(samples=[], alerts=[], rejected=[])
    out_times = [_out_time(block, result.rejected) for block in blocks]
    times = _block_times(out_times, received_at, started_at, period)
    for block, out_time, moment in zip(blocks, out_times, times, strict=True):
        if moment is None:
            result.rejected.append(Rejected(block.number, "time", "block time out of range"))
            continue
        if reason := future_reason(moment, now):
            result.rejected.append(Rejected(block.number, "time", reason))
            continue
        _block_samples(block, out_time, moment, result)
        if block.progress == "end":
            result.alerts.append(_end_alert(block, moment, len(blocks)))
    return result


def ended_cleanly(data: bytes | str) -> bool:
    """True when the last ``progress=`` line says ``end`` (the encoder finished normally)."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes | bytearray) else data
    start = text.rfind("progress=")
    if start < 0 or (start > 0 and text[start - 1] != "\n"):
        return False
    return text[start + len("progress=") :].split("\n", 1)[0].strip() == "end"


def _blocks(text: str) -> list[_Block]:
    """Split the text into blocks; a line without '=' is an error unless it is a torn last line."""
    blocks: list[_Block] = []
    current = _Block(1)
    lines = text.split("\n")
    last = len(lines)
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line:
            continue
        key, sep, value = line.partition("=")
        if not sep or not key:
            if number == last:
                break  # a torn final write
            raise FormatError(f"expected key=value, found {line!r:.40}", line=number)
        if key == "progress":
            current.progress = value.strip()
            blocks.append(current)
            current = _Block(len(blocks) + 1)
        else:
            current.values[key.strip()] = value
    if current.values:
        blocks.append(current)
    return blocks


def _out_time(block: _Block, rejected: list[Rejected]) -> float | None:
    """The block's output time in seconds, or None when N/A or unusable."""
    for key in _OUT_TIME_KEYS:
        raw = block.values.get(key)
        if raw is None or raw.strip() == "N/A":
            continue
        seconds = _clock_seconds(raw) if key == "out_time" else parse_number(raw)
        if isinstance(seconds, str):
            rejected.append(Rejected(block.number, key, seconds))
            return None
        seconds = seconds if key == "out_time" else seconds / 1e6
        if abs(seconds) > _MAX_OUT_TIME:
            rejected.append(Rejected(block.number, key, f"out of range: {raw.strip()!r:.40}"))
            return None
        return seconds
    return None


def _clock_seconds(raw: str) -> float | str:
    """Parse ``[-]HH:MM:SS.ffffff`` into seconds; return the reason on failure."""
    text = raw.strip()
    sign = -1.0 if text.startswith("-") else 1.0
    parts = text.lstrip("-").split(":")
    if len(parts) != 3:
        return f"not a HH:MM:SS time: {text!r:.40}"
    hours, minutes, seconds = (parse_number(part) for part in parts)
    if any(isinstance(part, str) for part in (hours, minutes, seconds)):
        return f"not a HH:MM:SS time: {text!r:.40}"
    return sign * (hours * 3600 + minutes * 60 + seconds)


def _block_times(
    out_times: list[float | None],
    received_at: datetime,
    started_at: datetime | None,
    period: float,
) -> list[datetime | None]:
    """Stamp every block, anchored at started_at (forwards) or received_at (backwards)."""
    if started_at is not None:
        return [
            _shift(started_at, index * period if out is None else out)
            for index, out in enumerate(out_times)
        ]
    offsets = [0.0] * len(out_times)
    for index in range(len(out_times) - 2, -1, -1):
        here, after = out_times[index], out_times[index + 1]
        step = after - here if here is not None and after is not None and after >= here else period
        offsets[index] = offsets[index + 1] + step
    return [_shift(received_at, -offset) for offset in offsets]


def _shift(moment: datetime, seconds: float) -> datetime | None:
    """moment + seconds, or None when that falls outside the datetime range."""
    try:
        return moment + timedelta(seconds=seconds)
    except OverflowError:
        return None


def _block_samples(
    block: _Block, out_time: float | None, moment: datetime, result: ParseResult
) -> None:
    """Add the samples of one block, rejecting fields that are not numbers."""
    samples, rejected = result.samples, result.rejected
    for key, raw in block.values.items():
        spec = _KEYS.get(key) or _quantizer(key)
        if spec is None:
            continue
        metric, unit, suffix, non_negative = spec
        text = raw.strip()
        if text == "N/A":
            continue
        value = parse_number(text.removesuffix(suffix) if suffix else text)
        if isinstance(value, str):
            rejected.append(Rejected(block.number, metric, value))
        elif non_negative and value < 0:
            rejected.append(Rejected(block.number, metric, f"negative value: {text}"))
        else:
            samples.append(Sample(None, metric, moment, value, unit))
    if out_time is not None:
        samples.append(Sample(None, "encoder.out_time", moment, out_time, "s"))


def _quantizer(key: str) -> tuple[str, str, str, bool] | None:
    """Recognise ``stream_N_M_q`` keys (one per encoded output stream)."""
    digits = key[7:-2].replace("_", "")
    if key.startswith("stream_") and key.endswith("_q") and digits.isascii() and digits.isdigit():
        return (f"encoder.{key}", "q", "", False)
    return None


def _end_alert(block: _Block, moment: datetime, total: int) -> Alert:
    """The info alert that marks a clean encoder finish."""
    detail = {"block": block.number, "blocks": total}
    frame = block.values.get("frame", "").strip()
    if frame.isascii() and frame.isdigit():
        detail["frame"] = int(frame)
    return Alert(
        source=None,
        alarm_id="encoder_end",
        state="info",
        kind="encoder_end",
        time=moment,
        message="encoder finished cleanly (progress=end)",
        detail=detail,
    )
