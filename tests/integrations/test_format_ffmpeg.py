"""ffmpeg -progress output, tested on real captures (see captures/README.md)."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from integrations.formats import KEY_METRICS, FormatError, ffmpeg, metric_info, parse

CAPTURES = Path(__file__).resolve().parent / "captures"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "telemetry-samples"
NOW = datetime(2026, 11, 27, tzinfo=UTC)
# clean-1: the encoder ran 02:42:31.762 to 02:43:32.005 (shared README)
CLEAN_END = datetime(2026, 11, 26, 2, 43, 32, 5000, tzinfo=UTC)
CLEAN_START = datetime(2026, 11, 26, 2, 42, 31, 762000, tzinfo=UTC)
# killed: started 04:32:09.572638, SIGKILL at 04:32:14.876832 (captures README)
KILLED_START = datetime(2026, 11, 26, 4, 32, 9, 572638, tzinfo=UTC)


def capture(name: str) -> bytes:
    """A committed capture, falling back to the shared samples folder."""
    path = CAPTURES / name
    return (path if path.exists() else SHARED / name).read_bytes()


def series(result, metric: str) -> list[float]:
    """The values of one metric, in block order."""
    return [s.value for s in result.samples if s.metric == metric]


def test_clean_capture_has_61_blocks_and_ends_cleanly():
    data = capture("clean-1.ffmpeg-progress.txt")

    result = ffmpeg.parse(data, received_at=CLEAN_END, now=NOW)

    assert result.rejected == []
    assert len({s.time for s in result.samples}) == 61
    assert len(result.samples) == 61 * 9
    assert series(result, "encoder.frame")[-1] == 1500
    assert ffmpeg.ended_cleanly(data) is True
    [end] = result.alerts
    assert (end.kind, end.state, end.alarm_id) == ("encoder_end", "info", "encoder_end")
    assert end.time == CLEAN_END
    assert end.detail["frame"] == 1500


def test_padded_values_are_parsed_with_their_units():
    result = ffmpeg.parse(capture("clean-1.ffmpeg-progress.txt"), received_at=CLEAN_END, now=NOW)
    units = {s.metric: s.unit for s in result.samples}

    assert series(result, "encoder.bitrate")[:3] == [0.0, 1620.0, 1584.5]  # "   0.0kbits/s"
    assert series(result, "encoder.speed")[-1] == 1.0  # "   1x"
    assert series(result, "encoder.stream_0_0_q")[0] == 24.0
    assert series(result, "encoder.total_size")[-1] == 11847384
    assert units["encoder.bitrate"] == "kbit/s"
    assert units["encoder.total_size"] == "bytes"
    assert units["encoder.speed"] == "x"
    assert units["encoder.out_time"] == "s"
    assert units["encoder.fps"] == "fps"


def test_out_time_is_read_from_microseconds():
    result = ffmpeg.parse(capture("clean-1.ffmpeg-progress.txt"), received_at=CLEAN_END, now=NOW)

    assert series(result, "encoder.out_time")[0] == pytest.approx(0.000011)
    assert series(result, "encoder.out_time")[-1] == pytest.approx(60.010667)


def test_out_time_ms_is_treated_as_microseconds_when_it_is_the_only_one():
    text = capture("clean-1.ffmpeg-progress.txt").decode()
    only_ms = "\n".join(
        line for line in text.split("\n") if not line.startswith(("out_time_us=", "out_time="))
    )

    result = ffmpeg.parse(only_ms, received_at=CLEAN_END, now=NOW)

    assert series(result, "encoder.out_time")[-1] == pytest.approx(60.010667)


def test_without_start_time_the_last_block_is_received_at_and_earlier_ones_step_back():
    result = ffmpeg.parse(capture("clean-1.ffmpeg-progress.txt"), received_at=CLEAN_END, now=NOW)
    times = sorted({s.time for s in result.samples})

    assert times[-1] == CLEAN_END
    assert times[0] == CLEAN_END - timedelta(microseconds=60010667 - 11)
    assert abs(times[0] - CLEAN_START) < timedelta(seconds=0.5)


def test_with_start_time_blocks_are_stamped_start_plus_out_time():
    result = ffmpeg.parse(
        capture("killed.ffmpeg-progress.txt"),
        started_at=KILLED_START,
        received_at=NOW,
        now=NOW,
    )
    times = sorted({s.time for s in result.samples})

    assert times[0] == KILLED_START + timedelta(microseconds=11)
    assert times[-1] == KILLED_START + timedelta(microseconds=5034667)


def test_killed_encoder_capture_has_no_end_and_no_end_alert():
    data = capture("killed.ffmpeg-progress.txt")

    result = ffmpeg.parse(data, received_at=NOW, now=NOW)

    assert ffmpeg.ended_cleanly(data) is False
    assert result.alerts == []
    assert series(result, "encoder.frame") == [1, 26, 51, 76, 101, 126]
    assert series(result, "encoder.bitrate")[-1] == 565.5


def test_trailing_partial_block_keeps_its_values_and_a_torn_last_line_is_ignored():
    text = capture("killed.ffmpeg-progress.txt").decode()
    cut = text[: text.rindex("dup_frames=")] + "dup_fr"  # written up to out_time, then torn

    result = ffmpeg.parse(cut, received_at=NOW, now=NOW)

    assert series(result, "encoder.frame") == [1, 26, 51, 76, 101, 126]
    assert series(result, "encoder.out_time")[-1] == pytest.approx(5.034667)
    assert series(result, "encoder.dup_frames") == [0, 0, 0, 0, 0]
    assert ffmpeg.ended_cleanly(cut) is False


def test_not_available_values_are_skipped_not_rejected():
    data = capture("null-two-streams.ffmpeg-progress.txt")
    assert b"bitrate=N/A" in data and b"speed=N/A" in data

    result = ffmpeg.parse(data, received_at=NOW, now=NOW)

    assert result.rejected == []
    assert series(result, "encoder.bitrate") == []
    assert series(result, "encoder.total_size") == []
    assert len(series(result, "encoder.speed")) == 6  # the first block says N/A
    assert len(series(result, "encoder.stream_0_1_q")) == 7  # a second video stream


def test_missing_out_time_falls_back_to_block_index_times_period():
    text = capture("killed.ffmpeg-progress.txt").decode()
    for key in ("out_time_us=", "out_time_ms=", "out_time="):
        lines = text.split("\n")
        lines = [f"{key}N/A" if line.startswith(key) else line for line in lines]
        text = "\n".join(lines)

    result = ffmpeg.parse(text, started_at=KILLED_START, received_at=NOW, period=2.0, now=NOW)
    times = sorted({s.time for s in result.samples})

    assert times == [KILLED_START + timedelta(seconds=2 * index) for index in range(6)]
    assert series(result, "encoder.out_time") == []


def test_dropped_frames_capture_reports_the_running_total():
    result = ffmpeg.parse(capture("drop-frames.ffmpeg-progress.txt"), received_at=NOW, now=NOW)

    assert series(result, "encoder.drop_frames") == [0, 4, 9, 14, 18]
    assert len(result.alerts) == 1


def test_registry_passes_only_the_options_ffmpeg_takes():
    result = parse(
        "ffmpeg", capture("lossy-1.ffmpeg-progress.txt"), received_at=NOW, now=NOW, counters="auto"
    )

    assert len({s.time for s in result.samples}) == 11
    with pytest.raises(TypeError):
        parse("ffmpeg", b"", received_at=NOW, recieved_at=NOW)


def test_non_numeric_values_are_rejected_per_block():
    text = capture("killed.ffmpeg-progress.txt").decode().replace("frame=51\n", "frame=5l\n")

    result = ffmpeg.parse(text, received_at=NOW, now=NOW)

    assert [(r.record, r.field) for r in result.rejected] == [(3, "encoder.frame")]
    assert series(result, "encoder.frame") == [1, 26, 76, 101, 126]


def test_negative_frame_counts_are_rejected():
    text = (
        capture("killed.ffmpeg-progress.txt").decode().replace("drop_frames=0", "drop_frames=-2", 1)
    )

    result = ffmpeg.parse(text, received_at=NOW, now=NOW)

    assert [(r.record, r.field) for r in result.rejected] == [(1, "encoder.drop_frames")]


def test_block_times_far_in_the_future_are_rejected():
    result = ffmpeg.parse(
        capture("killed.ffmpeg-progress.txt"),
        received_at=NOW + timedelta(days=3),
        now=NOW,
    )

    assert result.samples == []
    assert {r.field for r in result.rejected} == {"time"}


def test_a_line_that_is_not_key_value_names_the_line():
    text = capture("killed.ffmpeg-progress.txt").decode().replace("fps=", "fps ", 1)

    with pytest.raises(FormatError) as err:
        ffmpeg.parse(text, received_at=NOW, now=NOW)

    assert err.value.line == 2
    assert str(err.value).startswith("line 2")


def test_received_at_must_be_aware():
    with pytest.raises(ValueError, match="aware"):
        ffmpeg.parse(b"", received_at=NOW.replace(tzinfo=None))


def test_every_emitted_metric_is_documented():
    names = set()
    for name in ("clean-1.ffmpeg-progress.txt", "null-two-streams.ffmpeg-progress.txt"):
        names |= {s.metric for s in ffmpeg.parse(capture(name), received_at=NOW, now=NOW).samples}

    assert all(metric_info(name) for name in names)
    assert metric_info("encoder.stream_0_1_q") == ("q", "Encoder quantizer, stream 0:1")
    assert set(KEY_METRICS["ffmpeg"]) <= names
