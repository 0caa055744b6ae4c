"""Captures moved to the event's air time keep every value and interval they were recorded with."""

from datetime import UTC, datetime, timedelta

import pytest

from integrations.formats import parse
from tests.retime import first_time, retime

from .conftest import capture

AIR = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=5)


def parsed(fmt: str, data: bytes):
    return parse(fmt, data, now=AIR + timedelta(days=1)).samples


@pytest.mark.parametrize(
    ("fmt", "name"),
    [
        ("srt-json", "clean-1.srt-stats.jsonl"),
        ("srt-csv", "clean-2.srt-stats.csv"),
        ("firehose", "firehose-metric-stream-clean.json"),
    ],
)
def test_a_retimed_capture_keeps_its_values_and_intervals(fmt, name):
    original = capture(name).read_bytes()
    moved = retime(original, AIR)
    before, after = parsed(fmt, original), parsed(fmt, moved)
    assert len(before) == len(after) > 0
    delta = after[0].time - before[0].time
    assert abs(min(s.time for s in after) - AIR) < timedelta(seconds=1)
    assert all(b.time + delta == a.time for b, a in zip(before, after, strict=True))
    assert [(b.metric, b.value) for b in before] == [(a.metric, a.value) for a in after]


def test_an_http_capture_keeps_its_headers_with_the_new_length():
    moved = retime(capture("firehose-metric-stream-clean.http").read_bytes(), AIR)
    head, _, body = moved.partition(b"\r\n\r\n")
    assert head.startswith(b"POST /firehose HTTP/1.1")
    assert f"Content-Length: {len(body)}".encode() in head
    assert abs(first_time(body) - AIR) < timedelta(seconds=1)
