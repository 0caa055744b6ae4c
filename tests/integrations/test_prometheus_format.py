"""The remote-write parser on hand-built WriteRequests (encoded by prometheus_wire from the proto
definitions): routing by feed label and source id, metric names, NaN, stale markers, bad bytes."""

import math
import struct
from datetime import UTC, datetime, timedelta

import pytest

from integrations.formats import FormatError, check, parse
from integrations.formats import prometheus as prom

from .prometheus_wire import (
    STALE_NAN_BITS,
    compress,
    field,
    label,
    ms,
    sample,
    series,
    varint,
    write_request,
)

NOW = datetime.now(UTC).replace(microsecond=0)
T = ms(NOW - timedelta(minutes=5))
FEEDS = {"feed_slugs": ["kn1-asl", "kn1-program"], "source_ids": ["srt://kn1-contrib-a"]}


def parsed(*encoded: bytes, **options):
    return parse("prometheus", write_request(*encoded), now=NOW, **{**FEEDS, **options})


def test_a_feed_label_naming_a_feed_slug_routes_the_series_there():
    result = parsed(
        series({"__name__": "node_load1", "feed": "kn1-asl"}, [(0.75, T), (1.5, T + 1000)])
    )
    assert [(s.source, s.metric, s.value) for s in result.samples] == [
        ("feed:kn1-asl", "node_load1", 0.75),
        ("feed:kn1-asl", "node_load1", 1.5),
    ]
    assert result.samples[1].time == datetime.fromtimestamp((T + 1000) / 1000, UTC)
    assert result.rejected == []


def test_a_label_value_listed_in_a_feeds_source_ids_routes_the_series():
    labels = {"__name__": "recv:packetsLost", "instance": "srt://kn1-contrib-a", "job": "srt"}
    (s,) = parsed(series(labels, [(3, T)])).samples
    assert (s.source, s.metric, s.unit, s.value) == (
        "srt://kn1-contrib-a",
        "recv.packetsLost",
        "packets",
        3.0,
    )


def test_colons_in_the_name_are_dots_and_units_come_from_the_vocabulary_or_the_suffix():
    result = parsed(
        series({"__name__": "link:rtt", "feed": "kn1-asl"}, [(12, T)]),
        series({"__name__": "process_cpu_seconds_total", "feed": "kn1-asl"}, [(4, T)]),
        series({"__name__": "encoder_temperature_celsius", "feed": "kn1-asl"}, [(41, T)]),
        series({"__name__": "up", "feed": "kn1-asl"}, [(1, T)]),
    )
    assert [(s.metric, s.unit) for s in result.samples] == [
        ("link.rtt", "ms"),
        ("process_cpu_seconds_total", "s"),
        ("encoder_temperature_celsius", "C"),
        ("up", ""),
    ]


def test_a_series_of_no_known_feed_is_rejected_sample_by_sample_with_its_labels():
    result = parsed(
        series(
            {"__name__": "up", "job": "node", "instance": "10.0.0.9:9100"}, [(1, T), (1, T + 1)]
        ),
        series({"__name__": "up", "feed": "kn9-nowhere"}, [(1, T)]),
        series({"__name__": "up", "feed": "kn1-asl"}, [(1, T)]),
    )
    assert len(result.samples) == 1
    assert [(r.record, r.field) for r in result.rejected] == [(1, "feed"), (1, "feed"), (2, "feed")]
    assert 'instance="10.0.0.9:9100"' in result.rejected[0].reason
    assert "unknown feed" in result.rejected[0].reason
    assert "unknown feed 'kn9-nowhere'" in result.rejected[2].reason


def test_nan_and_infinity_are_rejected_and_stale_markers_are_named_stale():
    body = series(
        {"__name__": "up", "feed": "kn1-asl"}, [(math.nan, T), (math.inf, T + 1), (2, T + 2)]
    )
    stale = field(
        1,
        label("__name__", "up")
        + label("feed", "kn1-asl")
        + sample(0, T + 3, raw_bits=STALE_NAN_BITS),
    )
    result = parsed(body, stale)
    assert [s.value for s in result.samples] == [2.0]
    reasons = [(r.record, r.field, r.reason) for r in result.rejected]
    assert reasons[0][:2] == (1, "value") and "not a finite number: nan" in reasons[0][2]
    assert "not a finite number: inf" in reasons[1][2]
    assert reasons[2][:2] == (2, "value") and reasons[2][2].startswith("stale marker")


def test_a_zero_value_and_fields_in_another_order_still_parse():
    # proto3 leaves a zero value out; a sender may also write the timestamp first
    zero = field(2, b"\x10" + varint(T))
    swapped = field(2, b"\x10" + varint(T + 1) + b"\x09" + struct.pack("<d", 7.25))
    body = field(1, label("__name__", "up") + label("feed", "kn1-asl") + zero + swapped)
    result = parsed(body)
    assert [(s.value, ms(s.time)) for s in result.samples] == [(0.0, T), (7.25, T + 1)]


def test_labels_after_the_samples_and_unknown_fields_are_read():
    exemplar = field(3, b"\x0a\x00")
    body = field(1, sample(5, T) + exemplar + label("feed", "kn1-asl") + label("__name__", "up"))
    metadata = field(3, field(2, b"up"))
    (s,) = parsed(body + metadata).samples
    assert (s.source, s.metric, s.value) == ("feed:kn1-asl", "up", 5.0)


def test_a_timestamp_more_than_a_day_ahead_is_rejected():
    ahead = ms(NOW + timedelta(days=2))
    result = parsed(series({"__name__": "up", "feed": "kn1-asl"}, [(1, ahead), (1, T)]))
    assert len(result.samples) == 1
    assert "more than 1 day in the future" in result.rejected[0].reason


def test_a_negative_timestamp_is_read_as_before_1970():
    (s,) = parsed(series({"__name__": "up", "feed": "kn1-asl"}, [(1, -1000)])).samples
    assert s.time == datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC)


def test_a_bad_series_is_rejected_alone_and_the_rest_kept():
    good = series({"__name__": "up", "feed": "kn1-asl"}, [(1, T)])
    no_labels = field(1, sample(1, T))
    cut_sample = field(
        1, label("__name__", "up") + label("feed", "kn1-asl") + field(2, b"\x09\x00\x00")
    )
    bad_utf8 = field(1, field(1, field(1, b"__name__") + field(2, b"\xff\xfe")) + sample(1, T))
    result = parsed(good, no_labels, cut_sample, bad_utf8, good)
    assert len(result.samples) == 2
    assert [(r.record, r.field) for r in result.rejected] == [
        (2, "series"),
        (3, "series"),
        (4, "series"),
    ]
    assert "without labels" in result.rejected[0].reason


def test_a_series_without_a_name_is_rejected():
    result = parsed(series({"feed": "kn1-asl"}, [(1, T)]))
    assert result.samples == []
    assert result.rejected[0].reason == "series has no __name__ label"


def test_a_body_that_is_not_snappy_is_a_format_error():
    with pytest.raises(FormatError, match="not snappy"):
        check("prometheus", b"\x0a\x05hello world, this is plain text")
    with pytest.raises(FormatError, match="not snappy"):
        parse("prometheus", b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", now=NOW)


def test_a_snappy_body_that_is_not_a_write_request_is_a_format_error():
    for raw, why in (
        (b"\x0b\x01", "wire type"),  # field 1 with wire type 3 (groups)
        (b"\x08\x01", "not length-delimited"),  # field 1 as a varint
        (b"\x0a\x50abc", "past the end"),  # a series longer than the body
        (b'{"series": []}', ""),  # JSON, snappy-compressed
    ):
        with pytest.raises(FormatError, match="not a WriteRequest") as err:
            check("prometheus", compress(raw))
        assert why in str(err.value)


def test_an_announced_size_over_the_cap_is_refused_before_inflating():
    body = varint(prom.MAX_DECOMPRESSED + 1) + b"\x00" * 16
    with pytest.raises(FormatError, match="over the"):
        check("prometheus", body)


def test_an_empty_write_request_holds_nothing():
    result = parse("prometheus", compress(b""), now=NOW)
    assert (result.samples, result.rejected) == ([], [])


def test_routes_follow_the_feeds_passed_in_not_a_stale_cache():
    body = series({"__name__": "up", "site": "venue-a"}, [(1, T)])
    before = parse("prometheus", write_request(body), now=NOW, source_ids=[])
    after = parse("prometheus", write_request(body), now=NOW, source_ids=["venue-a"])
    assert (len(before.samples), len(after.samples)) == (0, 1)
    assert after.samples[0].source == "venue-a"


def test_series_seen_before_parse_the_same_by_their_known_labels_and_still_reject_what_is_bad():
    """A label set resolved once is reused for the next requests of that server (the usual
    series: labels, then one sample): the samples and rejections come out the same."""
    later = T + 1000
    body = [
        series({"__name__": "link:rtt", "feed": "kn1-asl", "job": "enc"}, [(12.5, T)]),
        series({"__name__": "link:rtt", "feed": "kn1-asl", "job": "enc"}, [(13.5, later)]),
        series({"__name__": "up", "feed": "kn1-asl"}, [(1, T)]),
        series({"__name__": "up", "feed": "kn1-asl"}, [(math.nan, later)]),
        field(
            1,
            label("__name__", "up")
            + label("feed", "kn1-asl")
            + sample(0, later, raw_bits=STALE_NAN_BITS),
        ),
        series({"__name__": "up", "feed": "nowhere"}, [(1, T)]),
        series({"__name__": "up", "feed": "kn1-asl"}, [(1, ms(NOW + timedelta(days=2)))]),
        series({"__name__": "up", "instance": "srt://kn1-contrib-a"}, [(2, T), (3, later)]),
    ]
    first = parsed(*body, feed_slugs=["kn1-asl", "x"])  # a router of its own: nothing cached
    again = parsed(*body, feed_slugs=["kn1-asl", "x"])
    assert again.samples == first.samples
    assert again.rejected == first.rejected
    assert [(s.metric, s.value) for s in again.samples] == [
        ("link.rtt", 12.5),
        ("link.rtt", 13.5),
        ("up", 1.0),
        ("up", 2.0),
        ("up", 3.0),
    ]
    assert [r.field for r in again.rejected] == ["value", "value", "feed", "timestamp"]
    assert all(s.connection is None and s.stats is None for s in again.samples)
