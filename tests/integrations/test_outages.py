"""Outages as operators see them: the adaptive gap rule on air, SRT reconnects (not counter
wraps) and encoders that exit without `progress=end`, on real captures and built records."""

import json
from datetime import timedelta

import pytest

from integrations import anomalies
from integrations.formats import srt
from integrations.models import Anomaly
from tests.conftest import KEYNOTE_START
from tests.retime import first_time

from .conftest import capture, capture_on_air
from .telemetry_factory import ingest, srt_lines

pytestmark = pytest.mark.django_db

# The killed-15s run (see captures/README.md): the encoders started this long from the first
# stats record, the first one was SIGKILLed, the second ended cleanly.
RUN1_BEFORE_FIRST_RECORD = timedelta(seconds=2.125597)
RUN2_AFTER_FIRST_RECORD = timedelta(seconds=18.905273)
AIR = KEYNOTE_START + timedelta(minutes=20)


def feed_of(event):
    return event.feeds.get(slug="kn1-contrib-a")


def kinds(feed):
    return sorted(Anomaly.objects.filter(feed=feed).values_list("kind", flat=True))


def ingest_killed_run(event, feed):
    """The real capture of an encoder killed for 15 s, stats and both progress files."""
    stats = capture_on_air("killed-15s.srt-stats.jsonl", AIR - KEYNOTE_START)
    first = first_time(stats)
    ingest(event, "srt-json", stats, feed=feed, counters="interval")
    for name, started in (
        ("killed-15s-run1.ffmpeg-progress.txt", first - RUN1_BEFORE_FIRST_RECORD),
        ("killed-15s-run2.ffmpeg-progress.txt", first + RUN2_AFTER_FIRST_RECORD),
    ):
        ingest(
            event,
            "ffmpeg",
            capture(name).read_bytes(),
            feed=feed,
            started_at=started.isoformat(),
        )
    return [json.loads(line) for line in stats.splitlines()]


def test_the_real_15_s_kill_is_one_input_loss_one_reconnect_and_one_encoder_exit(event):
    feed = feed_of(event)
    records = ingest_killed_run(event, feed)

    assert kinds(feed) == ["encoder_exit", "input_loss", "reconnect"]
    old = [r for r in records if r["sid"] == records[0]["sid"]]
    new = [r for r in records if r["sid"] != records[0]["sid"]]
    last_before = srt_time(old[-1])
    first_after = srt_time(new[0])
    assert (first_after - last_before).total_seconds() == pytest.approx(16.0, abs=0.1)
    loss = Anomaly.objects.get(feed=feed, kind="input_loss")
    # The SRT silence, widened at most by the encoder's own silence between its progress
    # blocks: those carry no clock (stamped started_at + out_time, which trails the wall clock
    # by the encoder's start-up, here about 2 s).
    assert last_before - timedelta(seconds=2.5) <= loss.start <= last_before
    assert first_after <= loss.end <= first_after + timedelta(seconds=2.5)
    reconnect = Anomaly.objects.get(feed=feed, kind="reconnect")
    assert (reconnect.start, reconnect.end) == (last_before, first_after)
    assert reconnect.detail == {
        "reason": "new socket id",
        "socket_before": old[0]["sid"],
        "socket_after": new[0]["sid"],
    }
    exit_ = Anomaly.objects.get(feed=feed, kind="encoder_exit")
    assert exit_.start == loss.start  # the encoder's last progress block


def test_ingesting_the_killed_run_again_adds_nothing(event):
    feed = feed_of(event)
    ingest_killed_run(event, feed)
    before = list(Anomaly.objects.filter(feed=feed).values_list("kind", "start", "end"))
    ingest_killed_run(event, feed)

    assert list(Anomaly.objects.filter(feed=feed).values_list("kind", "start", "end")) == before


def test_a_clean_real_run_makes_no_anomaly(event):
    feed = feed_of(event)
    ingest(event, "srt-json", capture_on_air("clean-1.srt-stats.jsonl"), feed=feed)

    assert kinds(feed) == []


def srt_time(record):
    return srt.parse_json(json.dumps(record), counters="interval").samples[0].time


@pytest.mark.parametrize(
    ("step", "missing", "flagged"),
    [
        (1, range(100, 104), False),  # 5 s between records: not longer than the 5 s floor
        (1, range(100, 105), True),  # 6 s
        (3, range(99, 105, 3), False),  # every 3 s: 9 s is 3 intervals, not more
        (3, range(99, 108, 3), True),  # 12 s
    ],
)
def test_the_default_gap_is_the_longer_of_5_s_and_three_reporting_intervals(
    event, step, missing, flagged
):
    feed = feed_of(event)
    ingest(event, "srt-json", srt_lines(AIR, 300, step=step, skip=missing.__contains__), feed=feed)

    assert kinds(feed) == (["input_loss"] if flagged else [])


def test_an_event_gap_replaces_the_5_s_floor_but_never_the_three_intervals(event, lead):
    feed = feed_of(event)
    anomalies.set_thresholds(event=event, actor=lead, values={"gap_seconds": 20})
    ingest(event, "srt-json", srt_lines(AIR, 120, skip=range(40, 56).__contains__), feed=feed)
    assert kinds(feed) == []  # 16 s of silence under a 20 s floor

    anomalies.set_thresholds(event=event, actor=lead, values={"gap_seconds": 1})
    later = AIR + timedelta(seconds=120)  # right after the first batch
    ingest(event, "srt-json", srt_lines(later, 120, step=3), feed=feed)
    assert kinds(feed) == []  # records 3 s apart are not a gap, whatever the floor


def test_a_collector_posting_record_by_record_finds_the_gap_from_stored_history(event):
    feed = feed_of(event)
    for second in [*range(0, 20), *range(36, 40)]:  # one batch per record, 16 s silent
        ingest(event, "srt-json", srt_lines(AIR + timedelta(seconds=second), 1), feed=feed)

    (loss,) = Anomaly.objects.filter(feed=feed)
    assert loss.kind == "input_loss"
    assert (loss.start - AIR, loss.end - AIR) == (timedelta(seconds=19), timedelta(seconds=36))


def test_a_new_socket_between_batches_is_a_reconnect_whichever_arrives_first(event):
    feed = feed_of(event)
    ingest(event, "srt-json", srt_lines(AIR + timedelta(seconds=60), 60, sid=5001), feed=feed)
    ingest(event, "srt-json", srt_lines(AIR, 60, sid=5000), feed=feed)

    (reconnect,) = Anomaly.objects.filter(feed=feed, kind="reconnect")
    assert (reconnect.start - AIR, reconnect.end - AIR) == (
        timedelta(seconds=59),
        timedelta(seconds=60),
    )
    assert reconnect.detail["socket_before"] == 5000
    assert reconnect.detail["socket_after"] == 5001
    assert kinds(feed) == ["reconnect"]  # no silence: the records are a second apart


def records(start, times, sid=7000):
    return (
        "\n".join(
            json.dumps(
                {
                    "sid": sid,
                    "timepoint": (start + timedelta(seconds=i)).strftime(
                        "%Y-%m-%dT%H:%M:%S.%f+0000"
                    ),
                    "time": elapsed,
                    "recv": {"packets": 150, "packetsLost": 0, "mbitRate": 1.6},
                }
            )
            for i, elapsed in enumerate(times)
        )
        + "\n"
    ).encode()


def test_time_starting_again_on_the_same_socket_is_a_reconnect(event):
    feed = feed_of(event)
    ingest(event, "srt-json", records(AIR, [50_000, 51_000, 52_000, 400, 1_400]), feed=feed)

    (reconnect,) = Anomaly.objects.filter(feed=feed)
    assert reconnect.kind == "reconnect"
    assert reconnect.detail["reason"] == "SRT time reset"
    assert (reconnect.start - AIR, reconnect.end - AIR) == (
        timedelta(seconds=2),
        timedelta(seconds=3),
    )


def test_a_counter_wrap_is_not_a_reconnect(event):
    feed = feed_of(event)
    top = 2**32 - 600  # a 32-bit millisecond counter just before it wraps
    ingest(event, "srt-json", records(AIR, [top - 2000, top - 1000, top, 400, 1_400]), feed=feed)
    signed = 2**31 - 500
    later = AIR + timedelta(seconds=5)  # the next batch, a second after the last record
    ingest(event, "srt-json", records(later, [signed - 1000, signed, 500]), feed=feed)

    assert kinds(feed) == []
    parsed = srt.parse_json(records(AIR, [top - 1000, top, 400]), counters="interval")
    assert {s.connection for s in parsed.samples} == {"7000#1"}


def test_the_parser_reports_socket_and_time_of_every_real_record():
    result = srt.parse_json(capture("fullstats-reconnect.srt-stats.jsonl").read_bytes())
    sockets = [s.value for s in result.samples if s.metric == "srt.socket"]
    ages = [s.value for s in result.samples if s.metric == "srt.elapsed"]

    assert sorted(set(sockets)) == [80933180, 80933182]
    assert sockets[0] == 80933182 and sockets[-1] == 80933180
    assert len(ages) == len(sockets) == len({s.time for s in result.samples})
    changes = [
        i
        for i in range(1, len(sockets))
        if srt.is_reconnect((sockets[i - 1], ages[i - 1]), (sockets[i], ages[i]))
    ]
    assert len(changes) == 1


def test_an_encoder_killed_mid_run_is_an_encoder_exit_and_a_clean_end_is_not(event):
    feed = feed_of(event)
    ingest(
        event,
        "ffmpeg",
        capture("clean-1.ffmpeg-progress.txt").read_bytes(),
        feed=feed,
        started_at=AIR.isoformat(),
    )
    assert kinds(feed) == []

    killed_at = AIR + timedelta(minutes=5)
    ingest(
        event,
        "ffmpeg",
        capture("killed.ffmpeg-progress.txt").read_bytes(),
        feed=feed,
        started_at=killed_at.isoformat(),
    )
    assert kinds(feed) == ["encoder_exit", "input_loss"]  # and the 4 min between the runs
    exit_ = Anomaly.objects.get(feed=feed, kind="encoder_exit")
    assert exit_.start == exit_.end
    assert killed_at < exit_.start < killed_at + timedelta(seconds=10)
    assert exit_.detail["reason"] == "progress file ended without progress=end"
    assert exit_.get_kind_display() == "Encoder exited abnormally"


def test_silence_shorter_than_a_minute_in_real_time_opens_nothing_and_late_data_closes_nothing(
    event,
):
    feed = feed_of(event)
    ingest(event, "srt-json", srt_lines(AIR, 60), feed=feed)
    assert anomalies.detect_silent_feeds(now=AIR + timedelta(seconds=100)) == 0

    assert anomalies.detect_silent_feeds(now=AIR + timedelta(minutes=3)) == 1
    assert Anomaly.objects.get(feed=feed).end is None
    # the collector was only late: its next batch continues a second after the last record
    ingest(event, "srt-json", srt_lines(AIR + timedelta(seconds=60), 120), feed=feed)
    assert kinds(feed) == []


def test_the_board_and_the_feed_page_show_a_reconnect_by_kind_and_sockets(event, viewer_client):
    feed = feed_of(event)
    ingest(event, "srt-json", srt_lines(AIR, 60, sid=5000), feed=feed)
    ingest(event, "srt-json", srt_lines(AIR + timedelta(seconds=60), 60, sid=5001), feed=feed)

    board = viewer_client.get(f"/events/{event.slug}/board/")
    assert board.status_code == 200
    assert "Reconnect" in board.content.decode()
    assert "new socket id: socket 5000 → 5001" in board.content.decode()
    page = viewer_client.get(
        f"/events/{event.slug}/telemetry/{feed.slug}/",
        {"start": AIR.isoformat(), "end": (AIR + timedelta(minutes=5)).isoformat()},
    )
    assert page.status_code == 200
    assert "Reconnect" in page.content.decode()
    assert "socket 5000 → 5001" in page.content.decode()
