"""srt-live-transmit JSON/CSV statistics, tested on real captures (see captures/README.md)."""

import json
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest

from integrations.formats import KEY_METRICS, METRICS, FormatError, parse, srt

CAPTURES = Path(__file__).resolve().parent / "captures"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "telemetry-samples"
NOW = datetime(2026, 11, 27, tzinfo=UTC)


def capture(name: str) -> bytes:
    """A committed capture, falling back to the shared samples folder."""
    path = CAPTURES / name
    return (path if path.exists() else SHARED / name).read_bytes()


def series(result, metric: str) -> list[float]:
    """The values of one metric, in output order."""
    return [s.value for s in result.samples if s.metric == metric]


def totals(result, metric: str) -> dict[str, float]:
    """Per-connection sum of one metric."""
    sums: dict[str, float] = defaultdict(float)
    for sample in result.samples:
        if sample.metric == metric:
            sums[sample.connection] += sample.value
    return dict(sums)


def test_clean_json_capture_yields_65_records_of_one_socket_without_loss():
    result = srt.parse_json(capture("clean-1.srt-stats.jsonl"), now=NOW)

    assert result.rejected == []
    times = sorted({s.time for s in result.samples})
    assert len(times) == 65
    assert times[0] == datetime(2026, 11, 26, 2, 42, 33, 12914, tzinfo=UTC)
    assert times[-1] == datetime(2026, 11, 26, 2, 43, 31, 890929, tzinfo=UTC)
    assert {s.connection for s in result.samples} == {"579694407#1"}
    assert {s.source for s in result.samples} == {None}
    assert len(result.samples) == 65 * (36 + 2)  # + srt.socket, srt.elapsed
    for metric in ("recv.packetsLost", "recv.packetsDropped", "recv.packetsRetransmitted"):
        assert set(series(result, metric)) == {0.0}


def test_json_fields_keep_their_units_and_first_values():
    result = srt.parse_json(capture("clean-1.srt-stats.jsonl"), now=NOW)
    first = {s.metric: s for s in result.samples[:36]}

    assert first["recv.packets"].value == 167
    assert first["recv.bytes"].value == 213584
    assert (first["recv.mbitRate"].value, first["recv.mbitRate"].unit) == (1.59418, "Mb/s")
    assert (first["link.rtt"].value, first["link.rtt"].unit) == (0.083, "ms")
    assert (first["window.flow"].value, first["window.flow"].unit) == (8192, "packets")
    assert first["recv.msTsbPdDelay"].value == 120
    assert first["send.sendPeriod"].unit == "us"


def test_clean_run_keeps_per_interval_counters_as_they_are():
    result = srt.parse_json(capture("clean-1.srt-stats.jsonl"), now=NOW)

    assert series(result, "recv.packets")[:3] == [167, 151, 143]
    assert totals(result, "recv.packets") == {"579694407#1": 9774}


def test_csv_and_json_of_the_same_rig_map_to_the_same_metric_names():
    from_json = srt.parse_json(capture("clean-1.srt-stats.jsonl"), now=NOW)
    from_csv = srt.parse_csv(capture("clean-2.srt-stats.csv"), now=NOW)

    assert [s.metric for s in from_csv.samples[:36]] == [s.metric for s in from_json.samples[:36]]
    assert {(s.metric, s.unit) for s in from_csv.samples} == {
        (s.metric, s.unit) for s in from_json.samples
    }


def test_csv_capture_reads_columns_by_position_despite_the_repeated_time_header():
    data = capture("clean-2.srt-stats.csv")
    header = data.decode().splitlines()[0].split(",")
    assert header.count("Time") == 2

    result = srt.parse_csv(data, now=NOW)

    assert result.rejected == []
    assert len({s.time for s in result.samples}) == 65
    assert {s.connection for s in result.samples} == {"1038258332#1"}
    first = {s.metric: s.value for s in result.samples[:36]}
    assert result.samples[0].time == datetime(2026, 11, 26, 2, 43, 37, 348720, tzinfo=UTC)
    assert first["link.rtt"] == 0.075  # msRTT
    assert first["recv.packetsLost"] == 0  # pktRcvLoss
    assert first["recv.mbitRate"] == 1.59881  # mbpsRecvRate
    assert first["recv.packets"] == 168  # pktRecv
    assert first["recv.byteAvailBuf"] == 12265500  # byteAvailRcvBuf


def test_every_csv_column_maps_to_a_json_field_name():
    header = capture("clean-2.srt-stats.csv").decode().splitlines()[0].split(",")
    mapped = {
        srt.CSV_COLUMNS[name] for name in header if name not in ("Timepoint", "Time", "SocketID")
    }
    json_names = set()
    for group, fields in json.loads(capture("clean-1.srt-stats.jsonl").splitlines()[0]).items():
        if isinstance(fields, dict):
            json_names |= {f"{group}.{key}" for key in fields}

    assert mapped == json_names


def test_lossy_capture_reports_loss_recovered_by_retransmission_and_one_drop():
    result = srt.parse_json(capture("lossy-1.srt-stats.jsonl"), now=NOW)

    assert result.rejected == []
    assert len({s.time for s in result.samples}) == 25
    conn = "918931699#1"
    assert totals(result, "recv.packetsLost") == {conn: 35}
    assert totals(result, "recv.packetsRetransmitted") == {conn: 34}
    assert totals(result, "recv.packetsDropped") == {conn: 1}
    assert series(result, "recv.packetsDropped")[3] == 1  # the RCV-DROPPED of 04:31:35.97


def test_full_stats_capture_is_detected_as_cumulative_and_turned_into_deltas():
    result = srt.parse_json(capture("fullstats-reconnect.srt-stats.jsonl"), now=NOW)

    packets = defaultdict(list)
    for sample in result.samples:
        if sample.metric == "recv.packets":
            packets[sample.connection].append(sample.value)
    assert packets["80933182#1"] == [40, 39, 41, 40, 39, 40, 42, 38, 40]
    assert packets["80933180#1"] == [18, 40, 39, 41, 43, 37, 39, 41, 41]
    assert totals(result, "recv.packetsLost") == {"80933182#1": 14, "80933180#1": 6}
    assert result.rejected == []


def test_instantaneous_fields_are_not_differenced_in_cumulative_mode():
    result = srt.parse_json(capture("fullstats-reconnect.srt-stats.jsonl"), now=NOW)

    assert series(result, "recv.mbitRate")[:2] == [0.654187, 0.611856]
    assert series(result, "link.rtt")[:2] == [0.147, 0.18]
    assert set(series(result, "window.flow")) == {8192}


def test_a_new_socket_id_starts_a_new_connection():
    result = srt.parse_json(capture("fullstats-reconnect.srt-stats.jsonl"), now=NOW)

    connections = list(dict.fromkeys(s.connection for s in result.samples))
    assert connections == ["80933182#1", "80933180#1"]


def test_a_time_reset_on_the_same_socket_is_a_new_connection_not_a_wrap():
    data = capture("fullstats-reconnect.srt-stats.jsonl").splitlines(keepends=True)
    first_run = b"".join(data[:9])

    result = srt.parse_json(first_run + first_run, now=NOW)

    assert totals(result, "recv.packets") == {"80933182#1": 359, "80933182#2": 359}
    assert result.rejected == []


def test_sender_side_full_stats_csv_is_cumulative_and_agrees_with_the_receiver():
    sender = srt.parse_csv(capture("relay-sender-fullstats.srt-stats.csv"), now=NOW)
    receiver = srt.parse_json(capture("relay-receiver.srt-stats.jsonl"), now=NOW)

    assert totals(sender, "send.packets") == {"1016646533#1": 501}
    assert series(sender, "send.packets")[:3] == [42, 43, 40]
    assert totals(sender, "send.packetsLost") == {"1016646533#1": 22}
    assert totals(receiver, "recv.packetsLost") == {"796432696#1": 22}
    assert totals(receiver, "recv.packetsRetransmitted") == {"796432696#1": 21}
    assert totals(receiver, "recv.packetsDropped") == {"796432696#1": 1}


@pytest.mark.parametrize(
    "name",
    ["clean-1.srt-stats.jsonl", "lossy-1.srt-stats.jsonl", "relay-receiver.srt-stats.jsonl"],
)
def test_per_interval_captures_are_not_mistaken_for_cumulative(name):
    auto = srt.parse_json(capture(name), now=NOW)
    interval = srt.parse_json(capture(name), now=NOW, counters="interval")

    assert [s.value for s in auto.samples] == [s.value for s in interval.samples]


def test_counter_mode_can_be_forced():
    data = capture("fullstats-reconnect.srt-stats.jsonl")

    raw = srt.parse_json(data, now=NOW, counters="interval")
    forced = srt.parse_json(capture("clean-1.srt-stats.jsonl"), now=NOW, counters="cumulative")

    assert series(raw, "recv.packets")[:3] == [40, 79, 120]
    assert any("cumulative counter decreased" in r.reason for r in forced.rejected)
    with pytest.raises(ValueError, match="counters"):
        srt.parse_json(data, now=NOW, counters="sometimes")


def test_json_array_of_records_is_accepted():
    lines = capture("clean-1.srt-stats.jsonl").decode().splitlines()
    as_array = "[" + ",\n".join(lines[:5]) + "]"

    result = srt.parse_json(as_array, now=NOW)

    assert len(result.samples) == 5 * (36 + 2)
    assert series(result, "recv.packets") == [167, 151, 143, 157, 144]


def test_parse_tells_csv_from_json():
    assert parse("srt-csv", capture("clean-2.srt-stats.csv"), now=NOW).samples
    assert srt.parse(capture("clean-2.srt-stats.csv"), now=NOW).samples[0].connection == (
        "1038258332#1"
    )
    assert srt.parse(capture("clean-1.srt-stats.jsonl"), now=NOW).samples[0].connection == (
        "579694407#1"
    )


def edited(line: bytes, edit) -> bytes:
    """A real record with one edit applied."""
    record = json.loads(line)
    edit(record)
    return json.dumps(record).encode()


def test_bad_records_are_rejected_and_the_rest_is_kept():
    lines = capture("clean-1.srt-stats.jsonl").splitlines()
    lines[1] = edited(lines[1], lambda r: r.update(timepoint="2026-11-26T02:42:33.945897"))
    lines[2] = edited(lines[2], lambda r: r["recv"].update(packets="many"))
    lines[3] = edited(lines[3], lambda r: r["link"].update(rtt=float("nan")))
    lines[4] = edited(lines[4], lambda r: r["recv"].update(packetsLost=-3))
    lines[5] = edited(lines[5], lambda r: r.update(timepoint="2026-11-29T00:00:00+0000"))

    result = srt.parse_json(b"\n".join(lines), now=NOW)

    reasons = {(r.record, r.field): r.reason for r in result.rejected}
    assert "no time zone" in reasons[(2, "timepoint")]
    assert "not a number" in reasons[(3, "recv.packets")]
    assert "not a finite number" in reasons[(4, "link.rtt")]
    assert "negative counter" in reasons[(5, "recv.packetsLost")]
    assert "future" in reasons[(6, "timepoint")]
    assert len({s.time for s in result.samples}) == 63
    assert len(result.samples) == 63 * (36 + 2) - 3


def test_nan_literal_in_the_csv_is_rejected_per_field():
    lines = capture("clean-2.srt-stats.csv").decode().splitlines()
    cells = lines[3].split(",")
    cells[7] = "nan"  # msRTT
    lines[3] = ",".join(cells)

    result = srt.parse_csv("\n".join(lines), now=NOW)

    assert [(r.record, r.field) for r in result.rejected] == [(4, "link.rtt")]
    assert len(series(result, "link.rtt")) == 64


def test_truncated_json_line_is_rejected_alone_naming_the_line():
    lines = capture("clean-1.srt-stats.jsonl").splitlines(keepends=True)
    cut = b"".join(lines[:2]) + lines[2][:400]

    result = srt.parse_json(cut, now=NOW)

    assert [r.record for r in result.rejected] == [3]
    assert "invalid JSON" in result.rejected[0].reason
    assert result.samples == srt.parse_json(b"".join(lines[:2]), now=NOW).samples


def test_a_payload_whose_only_line_is_not_json_names_the_line():
    line = capture("clean-1.srt-stats.jsonl").splitlines()[0]

    with pytest.raises(FormatError) as err:
        srt.parse_json(b"\n" + line[:400], now=NOW)

    assert err.value.line == 2
    assert str(err.value).startswith("line 2")


def test_csv_row_with_a_missing_column_names_line_and_field():
    lines = capture("clean-2.srt-stats.csv").decode().splitlines()
    lines[5] = lines[5].rsplit(",", 1)[0]

    with pytest.raises(FormatError) as err:
        srt.parse_csv("\n".join(lines), now=NOW)

    assert (err.value.line, err.value.field) == (6, "msRcvTsbPdDelay")
    assert "line 6, field 'msRcvTsbPdDelay'" in str(err.value)


def test_csv_row_with_an_extra_column_names_line_and_field():
    lines = capture("clean-2.srt-stats.csv").decode().splitlines()
    lines[2] += ",7"

    with pytest.raises(FormatError) as err:
        srt.parse_csv("\n".join(lines), now=NOW)

    assert (err.value.line, err.value.field) == (3, "column 41")


def test_unknown_csv_header_column_names_the_column():
    data = capture("clean-2.srt-stats.csv").decode().replace("pktRcvLoss", "pktRcvLost", 1)

    with pytest.raises(FormatError) as err:
        srt.parse_csv(data, now=NOW)

    assert (err.value.line, err.value.field) == (1, "pktRcvLost")


def test_csv_without_timepoint_column_is_refused():
    data = capture("clean-2.srt-stats.csv").decode().replace("Timepoint", "Timestamp", 1)

    with pytest.raises(FormatError) as err:
        srt.parse_csv(data, now=NOW)

    assert (err.value.line, err.value.field) == (1, "Timepoint")


def test_repeated_csv_header_from_appended_files_is_skipped():
    data = capture("clean-2.srt-stats.csv").decode()

    result = srt.parse_csv(data + data, now=NOW)

    assert len(result.samples) == 2 * 65 * (36 + 2)
    assert {s.connection for s in result.samples} == {"1038258332#1", "1038258332#2"}


def test_non_utf8_input_names_the_line():
    data = capture("clean-1.srt-stats.jsonl").splitlines()
    data[6] = data[6][:50] + b"\xff\xfe" + data[6][50:]

    with pytest.raises(FormatError) as err:
        srt.parse_json(b"\n".join(data), now=NOW)

    assert err.value.line == 7
    assert "UTF-8" in str(err.value)


def test_deeply_nested_json_is_a_rejected_line_not_a_recursion_error():
    line = capture("clean-1.srt-stats.jsonl").splitlines()[0]
    deep = line + b"\n" + b'{"sid":' + b"[" * 100_000 + b"]" * 100_000 + b"}"

    result = srt.parse_json(deep, now=NOW)

    assert [r.record for r in result.rejected] == [2]
    assert "nested" in result.rejected[0].reason
    with pytest.raises(FormatError) as err:  # alone, it is the whole payload
        srt.parse_json(deep.split(b"\n")[1], now=NOW)
    assert err.value.line == 1


def test_empty_stats_file_yields_nothing():
    assert srt.parse_json(b"", now=NOW).samples == []
    assert srt.parse_csv(b"\n", now=NOW).samples == []


def test_every_emitted_metric_is_documented():
    names = set()
    for name in ("clean-1.srt-stats.jsonl", "fullstats-reconnect.srt-stats.jsonl"):
        names |= {s.metric for s in srt.parse_json(capture(name), now=NOW).samples}

    assert names == set(srt.METRICS)
    assert names <= set(METRICS)
    assert set(KEY_METRICS["srt"]) <= names


BAD_VALUES = [
    ("recv", "packetsLost", -3),  # a negative counter
    ("recv", "packetsLost", True),  # a bool is not a statistic
    ("recv", "mbitRate", "fast"),
    ("recv", "mbitRate", None),
    ("link", "rtt", float("nan")),  # json.dumps writes NaN
    ("link", "rtt", 10**400),  # past float range: rejected, not a crash
]


@pytest.mark.parametrize(("group", "key", "bad"), BAD_VALUES)
def test_a_bad_value_in_a_record_shaped_like_the_last_is_rejected_as_if_alone(group, key, bad):
    """Records that repeat the previous record's layout are checked all at once; any doubt
    falls back to the field-by-field checks, which keep and reject exactly the same."""
    lines = capture("clean-1.srt-stats.jsonl").decode().splitlines()
    first, second = json.loads(lines[0]), json.loads(lines[1])
    second[group][key] = bad
    bad_line = json.dumps(second)
    alone = srt.parse_json(bad_line, now=NOW, counters="interval")
    after = srt.parse_json(json.dumps(first) + "\n" + bad_line, now=NOW, counters="interval")
    assert [r.reason for r in after.rejected] == [r.reason for r in alone.rejected]
    assert len(alone.rejected) == 1 and alone.rejected[0].field == f"{group}.{key}"
    moment = alone.samples[0].time
    assert [(s.metric, s.value) for s in after.samples if s.time == moment] == [
        (s.metric, s.value) for s in alone.samples
    ]
