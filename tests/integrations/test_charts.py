"""SVG charts: axes with units, times in the viewer's zone, gaps kept as gaps, safe text."""

import xml.etree.ElementTree as ET
import zoneinfo
from datetime import UTC, datetime, timedelta

import pytest

from tally.charts import Series, Span, line_chart, sparkline, split_runs, y_ticks

T0 = datetime(2026, 11, 26, 17, 0, tzinfo=UTC)
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(autouse=True)
def _clock(time_machine):
    """Charts of a fixed day, drawn on that day: the clock is frozen an hour after T0."""
    time_machine.move_to(T0 + timedelta(hours=1), tick=False)


def points(seconds, value=1.0):
    return [(T0 + timedelta(seconds=s), value + s / 100) for s in seconds]


def chart(series, **kw):
    kw.setdefault("tz", zoneinfo.ZoneInfo("America/Los_Angeles"))
    return line_chart(
        title="Packet loss", series=series, start=T0, end=T0 + timedelta(minutes=10), **kw
    )


def test_chart_is_valid_svg_with_unit_on_the_axis_title():
    svg = chart([Series("recv.packetsLost", "packets", points(range(0, 600, 10)))])
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert root.find(f"{SVG}title").text == "Packet loss (packets)"


def test_time_axis_is_in_the_viewers_zone():
    svg = chart([Series("x", "ms", points(range(0, 600, 10)))])
    assert "09:00" in svg and "PST" in svg  # 17:00 UTC in Los Angeles
    dublin = chart(
        [Series("x", "ms", points(range(0, 600, 10)))], tz=zoneinfo.ZoneInfo("Europe/Dublin")
    )
    assert "17:00" in dublin and "GMT" in dublin


def test_a_hole_in_the_data_is_drawn_as_a_gap_not_zero():
    data = points(range(0, 200, 10)) + points(range(400, 600, 10))
    svg = chart([Series("rtt", "ms", data)])
    assert svg.count("<polyline") == 2
    assert len(split_runs([*data, (T0 + timedelta(seconds=300), None)], None)) == 2


def test_no_data_says_so():
    svg = chart([Series("rtt", "ms", [])])
    assert "no data in this window" in svg and "<polyline" not in svg


def test_marker_and_alert_span_are_drawn():
    span = Span(T0 + timedelta(minutes=2), T0 + timedelta(minutes=3), "InputLoss <b>")
    svg = chart(
        [Series("bitrate", "Mb/s", points(range(0, 600, 10)))],
        marker=T0 + timedelta(minutes=5),
        marker_label="entry",
        spans=[span],
    )
    assert 'stroke-dasharray="4 3"' in svg and ">entry<" in svg
    assert "span-alert" in svg and "InputLoss &lt;b&gt;" in svg
    ET.fromstring(svg)


def test_labels_are_escaped():
    svg = chart([Series("<script>", "<u>", points(range(0, 60, 10)))])
    assert "<script>" not in svg
    ET.fromstring(svg)


def test_y_ticks_are_round_numbers():
    assert y_ticks(0, 0.93) == [0, 0.25, 0.5, 0.75, 1.0]
    assert y_ticks(0, 1580) == [0, 500, 1000, 1500, 2000]


def test_sparkline_keeps_gaps():
    data = points(range(0, 100, 10)) + points(range(300, 400, 10))
    svg = sparkline(data, marker=T0 + timedelta(seconds=50))
    assert svg.count("<polyline") == 2
    assert sparkline([]) == ""


def test_multi_day_axis_names_the_days():
    svg = line_chart(
        title="Bitrate",
        series=[Series("x", "Mb/s", points(range(0, 600, 10)))],
        start=T0,
        end=T0 + timedelta(days=3),
        tz=zoneinfo.ZoneInfo("America/Los_Angeles"),
    )
    assert "Fri 27 Nov" in svg or "Sat 28 Nov" in svg
