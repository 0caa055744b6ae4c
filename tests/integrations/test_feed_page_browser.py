"""In a real browser: 'log a learning about this' on the board fills the form and reviews the
anomaly; dragging across a feed chart zooms in."""

from datetime import timedelta

import pytest

from integrations.models import Anomaly
from retro.models import Entry
from tests.browser.test_live_board import open_board
from tests.conftest import iso
from tests.workers import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def lossy(loss_burst):
    feed, _ = loss_burst
    return Anomaly.objects.get(feed=feed)


def test_log_a_learning_about_an_unreviewed_anomaly_in_one_click(
    browser, live_server, event, operator, lossy
):
    ctx, page = open_board(browser, live_server.url, operator.username)
    assert page.inner_text("[data-unreviewed-count]") == "1"
    page.click(".js-log-anomaly")
    assert page.is_checked("input[name=kind][value=learning]")
    assert page.input_value("#entry-feeds").strip() == "kn1-contrib-a"
    assert page.input_value("#entry-when")  # the anomaly's start, in the browser's zone
    page.type("#entry-body", "loss burst on A, rerouted")
    page.keyboard.press("Enter")
    wait_for(lambda: Entry.objects.filter(body__contains="loss burst on A").exists(), timeout=15)
    entry = Entry.objects.get(body__contains="loss burst on A")
    assert entry.body.startswith("Packet loss on kn1-contrib-a"), entry.body
    assert [f.slug for f in entry.feeds.all()] == ["kn1-contrib-a"]
    assert entry.kind == "learning"
    assert abs((entry.occurred_at - lossy.start).total_seconds()) < 1
    page.reload()
    assert page.inner_text("[data-unreviewed-count]") == "0"
    ctx.close()


def test_dragging_across_a_feed_chart_zooms_into_that_range(
    browser, live_server, event, viewer, lossy, loss_burst
):
    _, on_air = loss_burst
    ctx, page = open_board(browser, live_server.url, viewer.username)
    start, end = iso(on_air - timedelta(minutes=10)), iso(on_air + timedelta(minutes=30))
    page.goto(f"{live_server.url}/events/summit/telemetry/kn1-contrib-a/?start={start}&end={end}")
    chart = page.locator("svg.chart").first
    box = chart.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.40, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.55, y, steps=5)
    with page.expect_navigation(timeout=10_000):
        page.mouse.up()
    assert on_air.strftime("%Y-%m-%dT%H") in page.url and "raw samples" in page.content()
    assert page.locator("svg.chart").count() >= 5
    ctx.close()
