"""In real Chromium: hovering one feed chart shows a crosshair on every chart with each
chart's value at that moment; the charts fill the page's width."""

import os
from pathlib import Path

import pytest

from tests.retro.test_meeting_browser import signed_in

SHOTS = Path(os.environ.get("BOARD_SCREENSHOTS", "/tmp/tally-board-shots"))
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_hovering_a_chart_reads_every_chart_at_that_moment(
    browser, live_server, event, viewer, loss_burst
):
    feed, _ = loss_burst
    ctx, page = signed_in(browser, live_server.url, viewer.username, width=1600)
    page.goto(f"{live_server.url}/events/{event.slug}/telemetry/{feed.slug}/")
    charts = page.locator("svg.chart[data-series]")
    count = charts.count()
    assert count >= 5
    main = page.locator("main").bounding_box()
    first = charts.first.bounding_box()
    assert first["width"] > 0.9 * (main["width"] - 60)  # the page's width, not 62 % of it
    # The loss burst is at minute 5 of the keynote; the page opens on the on-air window.
    box = charts.nth(1).bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.12, box["y"] + box["height"] / 2)
    page.wait_for_function(
        f"document.querySelectorAll('.crosshair-tip:not([hidden])').length === {count}",
        timeout=5_000,
    )
    tips = page.locator(".crosshair-tip:not([hidden])")
    texts = [tips.nth(i).inner_text() for i in range(count)]
    assert all(any(ch.isdigit() for ch in t.splitlines()[-1]) or "no data" in t for t in texts)
    assert len({t.splitlines()[0] for t in texts}) == 1  # the same moment on every chart
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "feed-crosshair.png"))
    page.mouse.move(5, 5)
    page.wait_for_function(
        "document.querySelectorAll('.crosshair-tip:not([hidden])').length === 0", timeout=5_000
    )
    ctx.close()
