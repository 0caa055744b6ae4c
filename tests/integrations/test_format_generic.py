"""Generic JSON/CSV samples, plus robustness of every parser against arbitrary bytes."""

import contextlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrations.formats import PARSERS, FormatError, generic, parse, srt

CAPTURES = Path(__file__).resolve().parent / "captures"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "telemetry-samples"
NOW = datetime(2026, 11, 27, tzinfo=UTC)
OPTIONS = {"now": NOW, "received_at": NOW}


def capture(name: str) -> bytes:
    """A committed capture, falling back to the shared samples folder."""
    path = CAPTURES / name
    return (path if path.exists() else SHARED / name).read_bytes()


def srt_samples():
    """Real samples to re-encode in the generic formats."""
    return srt.parse_json(capture("clean-1.srt-stats.jsonl"), now=NOW).samples[:360]


def test_json_list_round_trips_real_samples():
    samples = srt_samples()
    items = [
        {"source": "venue-srt-a", "metric": s.metric, "time": s.time.isoformat(), "value": s.value}
        for s in samples
    ]

    result = generic.parse_json(json.dumps(items), now=NOW)

    assert result.rejected == []
    assert [(s.metric, s.time, s.value, s.unit) for s in result.samples] == [
        (s.metric, s.time, s.value, s.unit) for s in samples
    ]
    assert {s.source for s in result.samples} == {"venue-srt-a"}


def test_samples_wrapper_with_epoch_ms_and_explicit_unit():
    payload = {
        "samples": [
            {"metric": "return.asl.bitrate", "time": 1795719600000, "value": 4.8, "unit": "Mb/s"},
            {"metric": "encoder.temperature", "time": "2026-11-26T20:00:00+01:00", "value": 41},
        ]
    }

    first, second = generic.parse_json(json.dumps(payload), now=NOW).samples

    assert (first.source, first.time, first.unit) == (
        None,
        datetime(2026, 11, 26, 19, 0, tzinfo=UTC),
        "Mb/s",
    )
    assert (second.time, second.value, second.unit) == (
        datetime(2026, 11, 26, 19, 0, tzinfo=UTC),
        41.0,
        "",
    )


def test_csv_columns_are_found_by_header_name_in_any_order():
    samples = srt_samples()
    lines = ["value,metric,time,source"]
    lines += [f"{s.value},{s.metric},{s.time.isoformat()}," for s in samples]

    result = generic.parse_csv("\n".join(lines), now=NOW)

    assert result.rejected == []
    assert [(s.metric, s.time, s.value, s.unit, s.source) for s in result.samples] == [
        (s.metric, s.time, s.value, s.unit, None) for s in samples
    ]


def test_csv_in_the_documented_order_with_units():
    text = (
        "time,source,metric,value,unit\r\n"
        "2026-11-26T19:00:00Z,hotel-feed,playout.buffer,2.5,s\r\n"
        '1795719660000,"hotel-feed",playout.buffer,2.25,\r\n'
    )

    result = parse("generic-csv", text, now=NOW)

    assert [(s.source, s.value, s.unit) for s in result.samples] == [
        ("hotel-feed", 2.5, "s"),
        ("hotel-feed", 2.25, ""),
    ]


def test_generic_parse_tells_json_from_csv():
    assert generic.parse('[{"metric": "a", "time": 0, "value": 1}]', now=NOW).samples
    assert generic.parse("time,metric,value\n0,a,1\n", now=NOW).samples


def test_bad_samples_are_rejected_and_the_rest_kept():
    items = [
        {"metric": "link.rtt", "time": "2026-11-26T19:00:00Z", "value": 4},
        {"metric": "bad metric", "time": "2026-11-26T19:00:00Z", "value": 4},
        {"metric": "link.rtt", "time": "2026-11-26T19:00:00", "value": 4},
        {"metric": "link.rtt", "time": "2026-11-26T19:00:00Z", "value": "4"},
        {"metric": "link.rtt", "time": "2026-11-26T19:00:00Z", "value": float("inf")},
        {"metric": "link.rtt", "time": "2026-12-01T00:00:00Z", "value": 4},
        {"metric": "x" * 101, "time": 0, "value": 4},
        {"metric": "link.rtt", "time": True, "value": 4},
        ["not", "an", "object"],
    ]

    result = generic.parse_json(json.dumps(items), now=NOW)

    assert [(r.record, r.field) for r in result.rejected] == [
        (2, "metric"),
        (3, "time"),
        (4, "value"),
        (5, "value"),
        (6, "time"),
        (7, "metric"),
        (8, "time"),
        (9, None),
    ]
    [kept] = result.samples
    assert (kept.metric, kept.unit) == ("link.rtt", "ms")


def test_csv_rejects_cells_per_line():
    text = "time,metric,value\n2026-11-26T19:00:00Z,a,1\n2026-11-26T19:00:00Z,a,NaN\nsoon,a,2\n"

    result = generic.parse_csv(text, now=NOW)

    assert [(r.record, r.field) for r in result.rejected] == [(3, "value"), (4, "time")]
    assert len(result.samples) == 1


def test_a_csv_row_without_the_header_columns_is_rejected_alone():
    result = generic.parse_csv("time,metric,value\n0,a,1\n0,a\n", now=NOW)

    assert len(result.samples) == 1
    assert [(r.record, r.field) for r in result.rejected] == [(3, "value")]


@pytest.mark.parametrize(
    ("text", "line", "field"),
    [
        ("time,metric\n0,a\n", 1, "value"),
        ("time,metric,value,colour\n", 1, "colour"),
        ("time,metric,value,metric\n", 1, "metric"),
        ("time,metric,value\n0,a\n", 2, "value"),
        ("time,metric,value\n0,a,1,9\n", 2, "column 4"),
        ("", 1, "time"),
    ],
)
def test_csv_shape_errors_name_line_and_field(text, line, field):
    with pytest.raises(FormatError) as err:
        generic.parse_csv(text, now=NOW)

    assert (err.value.line, err.value.field) == (line, field)
    assert str(err.value).startswith(f"line {line}, field {field!r}")


@pytest.mark.parametrize(
    ("text", "line", "field"),
    [
        ('{"data": []}', 1, "samples"),
        ('{"samples": {}}', 1, "samples"),
        ('[{"metric": "a",\n "time": 0,\n "value": }]', 3, None),
    ],
)
def test_json_shape_errors_name_line_and_field(text, line, field):
    with pytest.raises(FormatError) as err:
        generic.parse_json(text, now=NOW)

    assert (err.value.line, err.value.field) == (line, field)


def test_unknown_format_is_a_format_error():
    with pytest.raises(FormatError):
        parse("carrier-pigeon", b"", now=NOW)


def test_format_error_survives_pickling():
    import pickle

    err = FormatError("not a number", line=3, field="recv.packets")

    again = pickle.loads(pickle.dumps(err))

    assert str(again) == "line 3, field 'recv.packets': not a number"
    assert (again.line, again.field, again.message) == (3, "recv.packets", "not a number")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fmt=st.sampled_from(sorted(PARSERS)), data=st.binary(max_size=2000))
def test_random_bytes_only_ever_raise_format_error(fmt, data):
    with contextlib.suppress(FormatError):
        parse(fmt, data, **OPTIONS)


REAL = {
    "srt-json": "lossy-1.srt-stats.jsonl",
    "srt-csv": "relay-sender-fullstats.srt-stats.csv",
    "ffmpeg": "killed.ffmpeg-progress.txt",
    "firehose": "firehose-metric-stream-clean.http",
}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fmt=st.sampled_from(sorted(REAL)),
    cut=st.integers(min_value=0, max_value=20_000),
    position=st.integers(min_value=0, max_value=20_000),
    junk=st.binary(min_size=1, max_size=8),
)
def test_damaged_real_captures_only_ever_raise_format_error(fmt, cut, position, junk):
    data = capture(REAL[fmt])
    if fmt == "firehose":
        data = data.partition(b"\r\n\r\n")[2]
    data = data[: len(data) - cut % len(data)]
    at = position % (len(data) + 1)
    damaged = data[:at] + junk + data[at + len(junk) :]
    with contextlib.suppress(FormatError):
        parse(fmt, damaged, **OPTIONS)
