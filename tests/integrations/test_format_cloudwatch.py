"""CloudWatch Metric Streams JSON via Firehose HTTP endpoint delivery, on the spec-exact sample."""

import base64
import gzip
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from integrations.formats import KEY_METRICS, METRICS, FormatError, cloudwatch, metric_info, parse

CAPTURES = Path(__file__).resolve().parent / "captures"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "telemetry-samples"
NOW = datetime(2026, 11, 27, tzinfo=UTC)
FLOW = (
    "arn:aws:mediaconnect:us-west-2:111122223333:flow:1-AbCdEfGhIjKlMnOp-abcdef123455:venue-feed-a"
)
SOURCE = (
    "arn:aws:mediaconnect:us-west-2:111122223333:source:"
    "1-AbCdEfGhIjKlMnOp-abcdef123455:venue-encoder-a"
)


def capture(name: str) -> bytes:
    """A committed capture, falling back to the shared samples folder."""
    path = CAPTURES / name
    return (path if path.exists() else SHARED / name).read_bytes()


def request() -> tuple[dict[str, str], bytes]:
    """Headers and body of the raw HTTP request, split at the first blank CRLF line."""
    head, _, body = capture("firehose-metric-stream-clean.http").partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")[1:]
    headers = dict(line.split(": ", 1) for line in lines)
    return headers, body


def datapoints(body: bytes) -> list[dict]:
    """The decoded datapoints, in delivery order."""
    points = []
    for record in json.loads(body)["records"]:
        text = base64.b64decode(record["data"]).decode()
        points += [json.loads(line) for line in text.splitlines()]
    return points


def firehose_body(points: list[dict], request_id: str = "t-1") -> str:
    """A Firehose body with one record carrying the given datapoints."""
    text = "".join(json.dumps(point) + "\n" for point in points)
    data = base64.b64encode(text.encode()).decode()
    return json.dumps({"requestId": request_id, "timestamp": 0, "records": [{"data": data}]})


def test_raw_request_body_is_the_json_body_and_carries_the_request_id():
    headers, body = request()

    assert len(body) == int(headers["Content-Length"]) == 113154
    assert cloudwatch.firehose_request_id(body) == headers["X-Amz-Firehose-Request-Id"]
    assert cloudwatch.firehose_request_id(body) == "db5b5fab-8f4d-4e27-9da1-494c73cf256d"


def test_request_yields_240_datapoints_per_namespace_and_metric():
    _, body = request()

    result = cloudwatch.parse_firehose(body, now=NOW)

    assert result.rejected == []
    assert len(result.samples) == 240
    by_namespace = Counter(s.metric.split(".")[0] for s in result.samples)
    assert by_namespace == {"mediaconnect": 130, "medialive": 110}
    per_series = Counter((s.source, s.metric) for s in result.samples)
    assert set(per_series.values()) == {5}  # one datapoint per minute, 19:00 to 19:04
    assert per_series[(FLOW, "mediaconnect.SourceBitRate")] == 5
    assert per_series[(SOURCE, "mediaconnect.SourceBitRate")] == 5
    assert per_series[("4816235:0", "medialive.NetworkIn")] == 5
    assert per_series[("4816235:1", "medialive.NetworkIn")] == 5
    times = sorted({s.time for s in result.samples})
    assert times[0] == datetime(2026, 11, 26, 19, 0, tzinfo=UTC)
    assert times[-1] == datetime(2026, 11, 26, 19, 4, tzinfo=UTC)


def test_point_value_is_sum_over_count_and_statistics_are_kept():
    _, body = request()

    result = cloudwatch.parse_firehose(body, now=NOW)

    rtt = next(
        s
        for s in result.samples
        if s.source == FLOW
        and s.metric == "mediaconnect.SourceRoundTripTime"
        and s.time == datetime(2026, 11, 26, 19, 0, tzinfo=UTC)
    )
    assert rtt.stats == (38.146, 44.031, 2450.864, 60.0)
    assert rtt.value == pytest.approx(2450.864 / 60)
    assert rtt.unit == "ms"


def test_datapoints_arrive_unordered_and_come_out_sorted():
    _, body = request()
    raw = [(p["metric_name"], p["timestamp"]) for p in datapoints(body)]
    assert raw != sorted(raw)

    samples = cloudwatch.parse_firehose(body, now=NOW).samples

    keys = [(s.source or "", s.metric, s.time) for s in samples]
    assert keys == sorted(keys)


def test_output_group_dimension_narrows_the_metric_name_and_source_is_channel_pipeline():
    _, body = request()

    result = cloudwatch.parse_firehose(body, now=NOW)
    medialive = {(s.source, s.metric) for s in result.samples if s.metric.startswith("medialive")}

    assert ("4816235:0", "medialive.ActiveOutputs/hls-to-origin") in medialive
    assert ("4816235:1", "medialive.Output4xxErrors/hls-to-origin") in medialive
    assert ("4816235:0", "medialive.DroppedFrames") in medialive
    assert not any(metric == "medialive.ActiveOutputs" for _, metric in medialive)
    assert metric_info("medialive.ActiveOutputs/hls-to-origin") == metric_info(
        "medialive.ActiveOutputs"
    )


def test_cloudwatch_units_become_short_units():
    _, body = request()

    units = {s.metric: s.unit for s in cloudwatch.parse_firehose(body, now=NOW).samples}

    assert units["mediaconnect.SourceBitRate"] == "b/s"
    assert units["mediaconnect.SourcePacketLossPercent"] == "%"
    assert units["mediaconnect.SourceRoundTripTime"] == "ms"
    assert units["mediaconnect.SourceNotRecoveredPackets"] == "count"
    assert units["medialive.NetworkIn"] == "Mb/s"
    assert units["medialive.InputLossSeconds"] == "s"
    assert units["medialive.InputVideoFrameRate"] == "fps"  # unit "None" in the stream


def test_every_metric_in_the_sample_is_documented():
    _, body = request()

    metrics = {s.metric for s in cloudwatch.parse_firehose(body, now=NOW).samples}

    assert all(metric_info(metric) for metric in metrics)


def test_decoded_records_parse_on_their_own():
    _, body = request()
    record = json.loads(body)["records"][0]["data"]

    result = cloudwatch.parse_records(base64.b64decode(record), now=NOW)

    assert len(result.samples) == 40


def test_gzip_body_is_accepted():
    _, body = request()

    result = parse("firehose", gzip.compress(body), now=NOW)

    assert len(result.samples) == 240


def test_zero_count_and_nan_datapoints_are_rejected_and_the_rest_kept():
    _, body = request()
    points = datapoints(body)[:5]
    points[1]["value"] = {"count": 0.0, "sum": 0.0, "max": 0.0, "min": 0.0}
    points[3]["value"]["sum"] = float("nan")

    result = cloudwatch.parse_firehose(firehose_body(points), now=NOW)

    assert len(result.samples) == 3
    reasons = {(r.record, r.field): r.reason for r in result.rejected}
    assert reasons[(2, "value.count")] == "record 1 line 2: count is 0"
    assert "not a finite number" in reasons[(4, "value.sum")]


def test_future_and_non_numeric_timestamps_are_rejected():
    _, body = request()
    points = datapoints(body)[:3]
    points[0]["timestamp"] = 1795719600000 + 3 * 86_400_000
    points[2]["timestamp"] = "2026-11-26T19:00:00Z"

    result = cloudwatch.parse_firehose(firehose_body(points), now=NOW)

    assert [(r.record, r.field) for r in result.rejected] == [(1, "timestamp"), (3, "timestamp")]
    assert "future" in result.rejected[0].reason


def test_legacy_and_unknown_namespaces():
    _, body = request()
    legacy, other = datapoints(body)[1], dict(datapoints(body)[1])
    legacy["namespace"] = "MediaLive"
    other.update(namespace="Custom/Venue Encoders", metric_name="Temp C", unit="None")
    other["dimensions"] = {"Site": "hall-b", "Encoder": "enc 2"}

    result = cloudwatch.parse_firehose(firehose_body([legacy, other]), now=NOW)

    assert {(s.source, s.metric, s.unit) for s in result.samples} == {
        ("4816235:1", "medialive.DroppedFrames", "count"),
        ("Encoder=enc 2,Site=hall-b", "venue_encoders.Temp_C", ""),
    }


def test_request_with_zero_records_is_empty_not_an_error():
    body = json.dumps({"requestId": "x", "timestamp": 1, "records": []})

    result = cloudwatch.parse_firehose(body, now=NOW)

    assert (result.samples, result.rejected) == ([], [])


def test_missing_records_names_the_field():
    with pytest.raises(FormatError) as err:
        cloudwatch.parse_firehose(b'{"requestId": "x", "timestamp": 1}', now=NOW)

    assert (err.value.line, err.value.field) == (1, "records")


def test_invalid_base64_names_the_record_and_field():
    _, body = request()
    payload = json.loads(body)
    payload["records"][1]["data"] = payload["records"][1]["data"][:-3] + "!!="

    with pytest.raises(FormatError) as err:
        cloudwatch.parse_firehose(json.dumps(payload), now=NOW)

    assert (err.value.line, err.value.field) == (2, "data")
    assert str(err.value) == "record 2, field 'data': invalid base64"


def test_invalid_json_inside_a_record_names_record_and_line():
    text = base64.b64encode(b'{"namespace": "AWS/MediaLive"}\n{"truncated": \n').decode()
    body = json.dumps({"requestId": "x", "records": [{"data": text}]})

    with pytest.raises(FormatError) as err:
        cloudwatch.parse_firehose(body, now=NOW)

    assert (err.value.line, err.value.field) == (1, "data")
    assert "line 2" in err.value.message


def test_truncated_body_names_the_line():
    _, body = request()

    with pytest.raises(FormatError) as err:
        cloudwatch.parse_firehose(body[:5000], now=NOW)

    assert err.value.line == body[:5000].count(b"\n") + 1 == 6
    assert str(err.value).startswith("line 6")


def test_request_id_is_required_for_the_reply():
    with pytest.raises(FormatError) as err:
        cloudwatch.firehose_request_id(b'{"records": []}')

    assert err.value.field == "requestId"


def test_key_metrics_are_documented_with_units():
    for namespace in ("mediaconnect", "medialive", "mediapackage"):
        for name in KEY_METRICS[namespace]:
            assert METRICS[name][0], name
