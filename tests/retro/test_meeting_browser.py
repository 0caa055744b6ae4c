"""In real Chromium: the retro meeting loads more entries as it scrolls, a vote counts without
a reload, a duplicate is merged by picking the kept entry from a search-as-you-type list; the
board's show clock counts down and its button marks the session on air."""

import os
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from retro import meeting_page, services
from retro.models import Entry, Vote
from tests.browsers import signed_in_page
from tests.workers import wait_for

from .test_meeting_page import many_entries

SHOTS = Path(os.environ.get("BOARD_SCREENSHOTS", "/tmp/tally-board-shots"))
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def signed_in(browser, base, username, width=1400):
    return signed_in_page(
        browser,
        base,
        username,
        viewport={"width": width, "height": 1000},
        timezone_id="Europe/Dublin",
    )


def test_the_meeting_scrolls_votes_and_merges_without_a_reload(
    browser, live_server, event, lead, operator
):
    many_entries(event, operator, 3 * meeting_page.PAGE_SIZE)
    keep, _ = services.log_entry(
        event=event,
        author=operator,
        kind="learning",
        body="Caption drift of 8 s on DE subtitles",
        client_id=uuid.uuid4(),
        stage="contribution",
    )
    dup, _ = services.log_entry(
        event=event,
        author=operator,
        kind="learning",
        body="German subs drifted again",
        client_id=uuid.uuid4(),
        stage="contribution",
    )
    ctx, page = signed_in(browser, live_server.url, lead.username)
    page.goto(f"{live_server.url}/events/{event.slug}/retro/")
    page.evaluate("window.loadedOnce = true")  # gone if the page reloads
    first = page.locator(".m-entry").count()
    assert first == meeting_page.PAGE_SIZE
    page.locator("[data-more]").scroll_into_view_if_needed()
    page.wait_for_selector(f".m-entry >> nth={meeting_page.PAGE_SIZE}", timeout=10_000)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "meeting.png"))

    card = page.locator(f'.m-entry[data-entry="{keep.pk}"]')
    card.locator("button:has-text('Vote')").click()
    wait_for(lambda: Vote.objects.filter(entry=keep, user=lead).exists(), timeout=10)
    page.wait_for_selector(f'.m-entry[data-entry="{keep.pk}"] .m-votes.has-votes')
    assert "1" in page.inner_text(f'.m-entry[data-entry="{keep.pk}"] .m-votes')

    dup_card = page.locator(f'.m-entry[data-entry="{dup.pk}"]')
    dup_card.locator("summary:has-text('Merge into')").click()
    dup_card.locator("input[name=keep_search]").type("drift of 8")
    options = dup_card.locator(".merge-options li[role=option]")
    wait_for(lambda: options.count() == 1, timeout=10)  # the list follows what was typed
    option = options.first
    assert "Caption drift of 8 s" in option.inner_text()
    option.click()
    assert dup_card.locator("input[name=keep]").input_value() == str(keep.pk)
    page.screenshot(path=str(SHOTS / "meeting-merge.png"))
    dup_card.locator("button:has-text('Merge this one into it')").click()
    wait_for(lambda: Entry.objects.get(pk=dup.pk).merged_into_id == keep.pk, timeout=10)
    page.wait_for_selector(f'.m-entry[data-entry="{dup.pk}"]', state="detached", timeout=10_000)
    page.wait_for_selector(f'.m-entry[data-entry="{keep.pk}"] .m-merged', timeout=10_000)
    assert page.evaluate("window.loadedOnce") is True  # no reload happened
    ctx.close()


def test_the_show_clock_counts_down_and_marks_the_session_on_air(
    browser, live_server, event, operator
):
    keynote = event.sessions.get(slug="kn1")
    now = timezone.now().replace(microsecond=0)
    keynote.scheduled_start, keynote.scheduled_end = (
        now - timedelta(minutes=5),
        now + timedelta(minutes=55),
    )
    keynote.save()
    ctx, page = signed_in(browser, live_server.url, operator.username)
    page.goto(f"{live_server.url}/events/{event.slug}/board/")
    remaining = page.locator(".sc-now .sc-remaining")
    page.wait_for_function(
        "/^\\d+:\\d\\d:\\d\\d$|^\\d+:\\d\\d$/.test("
        "document.querySelector('.sc-now .sc-remaining').textContent)",
        timeout=10_000,
    )
    before = remaining.inner_text()
    page.wait_for_timeout(1500)
    assert remaining.inner_text() != before  # it ticks
    assert page.inner_text(".sc-now .sc-countdown").startswith("off air in")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "board-show-clock.png"))
    page.click(".sc-now button:has-text('Mark on air now')")
    wait_for(lambda: event.sessions.get(slug="kn1").actual_start is not None, timeout=10)
    page.wait_for_selector(".sc-now button:has-text('Mark off air now')", timeout=10_000)
    assert "on air at" in page.inner_text(".sc-now .sc-times")
    ctx.close()
