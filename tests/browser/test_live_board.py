"""Done when: two people in two real browsers. One logs a learning with the keyboard only,
the other sees it within 2 s; the first goes offline, logs an entry, comes back, and the
entry arrives exactly once."""

import os
import time
from pathlib import Path

import pytest

from retro.models import Entry
from tests.conftest import PASSWORD

SHOTS = Path(os.environ.get("BOARD_SCREENSHOTS", "/tmp/tally-board-shots"))
pytestmark = [pytest.mark.browser, pytest.mark.slow]


def open_board(browser, base, username, slug="summit"):
    # Chromium's offline emulation does not cover what a service worker passes on, so the
    # offline part here runs without the worker; tests/browser/test_offline_pages.py cuts
    # the network for real with the worker in place.
    context = browser.new_context(
        viewport={"width": 1600, "height": 1000},
        timezone_id="Europe/Dublin",
        service_workers="block",
    )
    page = context.new_page()
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit], input[type=submit]")
    page.goto(f"{base}/events/{slug}/board/")
    page.wait_for_selector('#live-status[data-state="live"]', timeout=10_000)
    return context, page


def shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


@pytest.mark.django_db(transaction=True)
def test_two_operators_share_a_live_board_and_nothing_is_lost(
    browser, live_server, event, operator, lead
):
    ctx_a, a = open_board(browser, live_server.url, operator.username)
    ctx_b, b = open_board(browser, live_server.url, lead.username)

    # Keyboard only: L picks learning and focuses the text; Tab to feeds, pick from the
    # typeahead, back to the text, Enter logs it.
    a.locator("body").press("Escape")
    a.keyboard.press("l")
    assert a.evaluate("document.activeElement.id") == "entry-body"
    a.keyboard.type("Packet loss on the ASL return during the keynote")
    a.keyboard.press("Tab")
    a.keyboard.type("asl")
    a.keyboard.press("ArrowDown")
    a.keyboard.press("Enter")
    a.keyboard.press("Shift+Tab")
    started = time.monotonic()
    a.keyboard.press("Enter")
    b.wait_for_selector("article.entry:has-text('Packet loss on the ASL return')", timeout=2_000)
    seen_after = time.monotonic() - started
    assert seen_after < 2.0
    entry = Entry.objects.get(body="Packet loss on the ASL return during the keynote")
    assert entry.kind == "learning" and entry.author == operator
    assert [f.slug for f in entry.feeds.all()] == ["kn1-asl"]
    assert b.locator(f"#entry-{entry.pk}").get_attribute("data-kind") == "learning"
    shot(b, "board-second-viewer")

    # Offline: the entry waits in localStorage with a visible count, then arrives once.
    ctx_a.set_offline(True)
    a.keyboard.press("Escape")
    a.keyboard.press("w")
    a.keyboard.type("Clean failover to the B path while the venue ISP flapped")
    a.keyboard.press("Enter")
    a.wait_for_selector("#queue-status:has-text('1 waiting to send')", timeout=3_000)
    shot(a, "board-offline-waiting")
    assert not Entry.objects.filter(body__startswith="Clean failover").exists()
    ctx_a.set_offline(False)
    a.wait_for_selector("#queue-status:has-text('All sent')", timeout=8_000)
    b.wait_for_selector("article.entry:has-text('Clean failover to the B path')", timeout=4_000)
    time.sleep(1.5)  # any stray resend would land now
    assert Entry.objects.filter(body__startswith="Clean failover").count() == 1
    assert Entry.objects.get(body__startswith="Clean failover").kind == "win"
    assert b.locator("article.entry:has-text('Clean failover to the B path')").count() == 1
    shot(a, "board-operator")
    ctx_a.close()
    ctx_b.close()


@pytest.mark.django_db(transaction=True)
def test_a_stale_edit_shows_the_conflict_and_the_current_text(
    browser, live_server, event, operator, lead
):
    from datetime import timedelta

    from retro import services

    entry, _ = services.log_entry(
        event=event,
        author=operator,
        kind="learning",
        body="Captions lagged 8 s",
        occurred_at=event.start + timedelta(hours=3),
    )
    ctx, page = open_board(browser, live_server.url, operator.username)
    page.click(f"#entry-{entry.pk} .js-edit")
    area = page.locator(f"#edit-{entry.pk}")
    area.wait_for()
    services.edit_entry(
        entry=entry, editor=lead, version=1, body="Captions lagged 8 s on the ES subtitles"
    )
    area.fill("Captions lagged 6 s")
    area.press("Enter")
    note = page.locator(f"#entry-{entry.pk} .conflict")
    note.wait_for(timeout=3_000)
    assert "Someone else changed this entry" in note.inner_text()
    assert "on the ES subtitles" in note.inner_text()
    shot(page, "board-conflict")
    assert Entry.objects.get(pk=entry.pk).body == "Captions lagged 8 s on the ES subtitles"
    ctx.close()
