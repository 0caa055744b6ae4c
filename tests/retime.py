"""Move a real capture to another moment: every timestamp shifted by the same whole seconds.

Captures were recorded on a fixed day; tests place them inside an event that is live on the
day the suite runs. Only the times change: the bytes between them, the format's quirks and the
intervals stay exactly as recorded.
"""

import base64
import json
import re
from datetime import UTC, datetime, timedelta

# srt-live-transmit's ...T02:42:33.012914+0000, the API's ...T19:00:00Z, a CSV's ... 19:00:00 (no zone)
ISO = re.compile(
    rb"(?P<stamp>\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2})(?P<rest>(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)"
)


def first_time(data: bytes) -> datetime:
    """The first timestamp of a capture, as a UTC instant."""
    if firehose := _firehose_json(data):
        return _firehose_first(firehose)
    match = ISO.search(data)
    if match is None:
        raise ValueError("no timestamp in this capture")
    return _parse(match)


def retime(data: bytes, start: datetime) -> bytes:
    """The capture with its first timestamp moved to `start` (whole seconds) and the rest kept
    at the same distance from it. An HTTP capture keeps its headers, Content-Length updated."""
    head, sep, body = data.partition(b"\r\n\r\n") if data.startswith(b"POST ") else (b"", b"", data)
    first = first_time(body)
    delta = timedelta(seconds=round((start - first).total_seconds()))
    if firehose := _firehose_json(body):
        moved = json.dumps(_shift_firehose(firehose, delta), indent=2).encode()
    else:
        moved = ISO.sub(lambda m: _shift_iso(m, delta), body)
    if not sep:
        return moved
    head = re.sub(rb"(?im)^Content-Length: *\d+", b"Content-Length: %d" % len(moved), head)
    return head + sep + moved


def _parse(match: re.Match) -> datetime:
    stamp = match["stamp"].decode().replace(" ", "T")
    rest = match["rest"].decode()
    zone = re.search(r"(Z|[+-]\d{2}:?\d{2})$", rest)
    moment = datetime.fromisoformat(stamp + (zone.group(1).replace("Z", "+00:00") if zone else ""))
    return moment.replace(tzinfo=moment.tzinfo or UTC).astimezone(UTC)


def _shift_iso(match: re.Match, delta: timedelta) -> bytes:
    """Shift the wall-clock part; the written offset and the fraction stay as they were."""
    stamp = match["stamp"].decode()
    separator = stamp[10]
    moved = datetime.fromisoformat(stamp.replace(" ", "T")) + delta
    return moved.strftime(f"%Y-%m-%d{separator}%H:%M:%S").encode() + match["rest"]


def _firehose_json(data: bytes) -> dict | None:
    """A Firehose HTTP endpoint request body (requestId, timestamp, records), else None."""
    if not data.lstrip().startswith(b"{"):
        return None
    try:
        document = json.loads(data)
    except ValueError:
        return None
    if isinstance(document, dict) and {"requestId", "records"} <= document.keys():
        return document
    return None


def _metric_lines(record: dict) -> list[dict]:
    text = base64.b64decode(record["data"]).decode()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _firehose_first(document: dict) -> datetime:
    stamps = [m["timestamp"] for r in document["records"] for m in _metric_lines(r)]
    return datetime.fromtimestamp(min(stamps) / 1000, UTC)


def _shift_firehose(document: dict, delta: timedelta) -> dict:
    ms = int(delta.total_seconds() * 1000)
    records = []
    for record in document["records"]:
        lines = _metric_lines(record)
        for metric in lines:
            metric["timestamp"] += ms
        text = "".join(json.dumps(m, separators=(",", ":")) + "\n" for m in lines)
        records.append({**record, "data": base64.b64encode(text.encode()).decode()})
    return {**document, "timestamp": document["timestamp"] + ms, "records": records}
