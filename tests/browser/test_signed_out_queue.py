"""Done when: an expired session is told apart from a network problem. The board's queue says
"Signed out — sign in to send N waiting entries", the sign-in link opens in a new tab so the
page and its queue stay, and after signing in there the waiting entry is sent once."""

import time

import pytest

from retro.models import Entry
from tests.browser.test_live_board import open_board
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.mark.django_db(transaction=True)
def test_a_signed_out_board_keeps_the_entry_and_sends_it_after_sign_in(
    browser, live_server, event, operator
):
    context, page = open_board(browser, live_server.url, operator.username)
    # The session ends (expired, or signed out elsewhere); the CSRF cookie stays.
    context.clear_cookies(name="sessionid")

    page.locator("body").press("Escape")
    page.keyboard.press("l")
    page.keyboard.type("Subtitles in French dropped for a minute")
    page.keyboard.press("Enter")
    status = page.locator("#queue-status")
    status.locator("text=sign in").wait_for(timeout=5_000)
    assert status.inner_text() == "Signed out — sign in to send 1 waiting entry"
    page.wait_for_selector('#live-status[data-state="signed-out"]', timeout=3_000)
    assert not Entry.objects.filter(body__startswith="Subtitles in French").exists()

    with context.expect_page() as opened:
        status.locator("a.sign-in-link").click()
    login = opened.value
    login.wait_for_selector("input[name=username]")
    assert "/accounts/login/?next=" in login.url
    login.fill("input[name=username]", operator.username)
    login.fill("input[name=password]", PASSWORD)
    login.click("button[type=submit], input[type=submit]")

    page.wait_for_selector("#queue-status:has-text('All sent')", timeout=10_000)
    page.wait_for_selector('#live-status[data-state="live"]', timeout=5_000)
    time.sleep(1.5)  # a second send from either tab would land now
    assert Entry.objects.filter(body__startswith="Subtitles in French").count() == 1
    assert Entry.objects.get(body__startswith="Subtitles in French").author == operator
    page.wait_for_selector("article.entry:has-text('Subtitles in French')", timeout=3_000)
    context.close()
