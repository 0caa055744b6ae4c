"""Feed charts as operators read them: the page opens on the feed's on-air window with data
(the last hour while it is live), charts span the page and carry their series for the hover
crosshair, entries are marked in their own colour, the last time label is not clipped, and
board sparklines name their metric and scale."""

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from integrations import feed_page
from retro import showclock
from tally.charts import PALETTE, Series, Span, line_chart, sparkline

pytestmark = pytest.mark.django_db

T0 = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)  # pure drawing: any hour


def last_sample(feed):
    feed.refresh_from_db()
    return feed.telemetry_status.last_sample_at


def test_the_page_opens_on_the_on_air_window_with_data(viewer_client, loss_burst):
    feed, _ = loss_burst
    session = feed.session
    page = viewer_client.get(f"/events/summit/telemetry/{feed.slug}/")
    assert page.status_code == 200
    assert page.context["start"] == session.scheduled_start - feed_page.ON_AIR_MARGIN
    # Ten minutes of data in a two-hour slot: the window ends with the data, not the slot.
    assert last_sample(feed) < session.scheduled_end
    assert page.context["end"] == last_sample(feed) + feed_page.ON_AIR_MARGIN
    assert "On air with data" in page.content.decode()


def test_marked_on_air_times_move_the_default_window(viewer_client, loss_burst, lead, time_machine):
    feed, start = loss_burst
    # Marks reach back one day; the data sits at the keynote's air time, 16 to 40 h ago
    # depending on the hour the suite runs, so the clock is put three hours after it.
    time_machine.move_to(start + timedelta(hours=3), tick=True)
    session = feed.session
    session.scheduled_start, session.scheduled_end = start, timezone.now() - timedelta(hours=1)
    session.save()
    showclock.mark_on_air(session=session, actor=lead, at=start + timedelta(minutes=3))
    showclock.mark_off_air(session=session, actor=lead, at=start + timedelta(minutes=40))
    page = viewer_client.get(f"/events/summit/telemetry/{feed.slug}/")
    assert page.context["start"] == start + timedelta(minutes=3) - feed_page.ON_AIR_MARGIN
    assert page.context["end"] == last_sample(feed) + feed_page.ON_AIR_MARGIN


def test_while_the_session_is_on_air_the_page_shows_the_last_hour(viewer_client, loss_burst):
    feed, _ = loss_burst
    session = feed.session
    now = timezone.now()
    session.scheduled_start, session.scheduled_end = (
        now - timedelta(minutes=30),
        now + timedelta(hours=1),
    )
    session.save()
    page = viewer_client.get(f"/events/summit/telemetry/{feed.slug}/")
    assert abs((page.context["end"] - timezone.now()).total_seconds()) < 30
    assert page.context["end"] - page.context["start"] == feed_page.LIVE_WINDOW


def test_charts_span_the_page_and_carry_their_series_for_the_crosshair(viewer_client, loss_burst):
    feed, _ = loss_burst
    html = viewer_client.get(f"/events/summit/telemetry/{feed.slug}/").content.decode()
    assert 'class="page page-wide"' in html and "css/feed-charts" in html
    attrs = re.findall(r'data-series="([^"]+)"', html)
    assert len(attrs) >= 5  # one per key metric
    lines = json.loads(attrs[0].replace("&quot;", '"').replace("&amp;", "&"))
    assert lines[0]["t"] and len(lines[0]["t"]) == len(lines[0]["v"])
    assert any(v is not None for v in lines[0]["v"])
    assert f'viewBox="0 0 {feed_page.CHART_WIDTH} ' in html


def test_entries_are_marked_in_the_text_colour_not_a_line_colour():
    svg = line_chart(
        title="srt.rtt",
        series=[Series("rtt", "ms", [(T0, 10.0), (T0 + timedelta(minutes=5), 20.0)])],
        start=T0,
        end=T0 + timedelta(minutes=10),
        tz=UTC,
        spans=[Span(T0 + timedelta(minutes=2), T0 + timedelta(minutes=2), "Learning", "entry")],
    )
    mark = re.search(r'<g class="span span-entry">.*?</g>', svg).group(0)
    assert 'stroke="currentColor"' in mark and "stroke-dasharray" in mark
    assert not any(colour in mark for colour in PALETTE)


def test_the_last_time_label_is_anchored_inside_the_chart():
    end = T0 + timedelta(hours=1)
    svg = line_chart(
        title="bitrate",
        series=[Series("bitrate", "bit/s", [(T0, 1.0), (end, 2.0)])],
        start=T0,
        end=end,
        tz=UTC,
        width=640,
    )
    labels = re.findall(r'<text x="([\d.]+)" y="\d+" font-size="10" text-anchor="(\w+)"', svg)
    time_labels = [(float(x), anchor) for x, anchor in labels if anchor != "end" or float(x) > 58]
    last_x, last_anchor = max(time_labels)
    assert (
        last_x == pytest.approx(640 - 12) and last_anchor == "end"
    )  # the end's label at the right edge
    assert f">{end:%H:%M}</text>" in svg


def test_a_board_sparkline_names_its_metric_and_scale():
    points = [(T0 + timedelta(seconds=10 * i), float(v)) for i, v in enumerate([12, 40, 165, 30])]
    svg = sparkline(points, marker=T0 + timedelta(seconds=20), label="srt.rtt", unit="ms")
    assert "srt.rtt 12\u2013165 ms" in svg and 'aria-label="srt.rtt 12\u2013165 ms"' in svg
    assert 'aria-hidden="true"' not in svg
