"""Done when: two open copies of the same run in real Chromium. A tick on one shows on the
other within 2 s without reloading either; a tick made offline waits on the phone, is sent
once when the network is back, and the other copy shows it."""

import time

import pytest
from playwright.sync_api import expect

from demo.runbooks import load_runbooks
from runbooks import services
from runbooks.models import Runbook, RunStep, RunStepChange
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _open_run(browser, base, username, run, **context_args):
    # Chromium's offline emulation does not cover what a service worker passes on: this test
    # runs without the worker; tests/browser/test_offline_pages.py cuts the network for real.
    context = browser.new_context(service_workers="block", **context_args)
    page = context.new_page()
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit], input[type=submit]")
    page.goto(f"{base}/runbooks/runs/{run.pk}/")
    page.wait_for_selector('#live-status[data-state="live"]', timeout=10_000)
    # A reload would lose this marker: every change below must arrive without one.
    page.evaluate("window.__noReload = true")
    return context, page


@pytest.mark.django_db(transaction=True)
def test_a_tick_shows_on_every_open_copy_and_an_offline_tick_is_sent_once(
    browser, live_server, event, operator, lead
):
    load_runbooks()
    runbook = Runbook.objects.get(slug="ott-handoff-preshow")
    run = services.start_run(runbook=runbook, event=event, started_by=operator)
    ctx_a, a = _open_run(
        browser,
        live_server.url,
        operator.username,
        run,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
    )
    ctx_b, b = _open_run(browser, live_server.url, lead.username, run)

    started = time.monotonic()
    a.locator("#step-1 button.rb-done").click()
    b.wait_for_selector("#step-1.state-done", timeout=2_000)
    assert time.monotonic() - started < 2.0
    expect(b.locator(".rb-progress [data-count=done]")).to_have_text("1", timeout=2_000)
    assert "operator1" in b.locator("#step-1 .rb-recorded").inner_text()

    # Offline on the phone: the tick and a note wait, the page stays, nothing reaches the server.
    ctx_a.set_offline(True)
    a.locator("#step-2 button.rb-done").click()
    a.locator("#step-3 summary").click()
    a.fill("#note-3", "Partner asked for a second check at 08:40")
    a.locator("#step-3 button:has-text('Save note')").click()
    a.wait_for_selector("#queue-status:has-text('2 waiting to send')", timeout=3_000)
    assert a.locator("#step-2.state-done.waiting").count() == 1
    assert not a.locator("#step-2 button.rb-done").is_visible()  # no second tick offered
    assert a.locator(".rb-progress [data-count=done]").inner_text() == "2"
    time.sleep(1.5)
    assert RunStep.objects.get(run=run, number=2).state == "pending"
    assert b.locator("#step-2.state-pending").count() == 1

    ctx_a.set_offline(False)
    a.wait_for_selector("#queue-status:has-text('All sent')", timeout=8_000)
    b.wait_for_selector("#step-2.state-done", timeout=3_000)
    b.wait_for_selector("#step-3 .rb-note:has-text('second check at 08:40')", timeout=3_000)
    time.sleep(1.5)  # a stray resend would land now
    assert RunStepChange.objects.filter(run=run, number=2).count() == 1
    assert RunStepChange.objects.filter(run=run, number=3).count() == 1
    steps = {s.number: s for s in RunStep.objects.filter(run=run)}
    assert steps[2].state == "done" and steps[2].recorded_by == operator
    assert steps[3].note == "Partner asked for a second check at 08:40"
    assert a.locator("#step-2.waiting").count() == 0

    # An undo on the desktop reaches the phone too.
    b.locator("#step-1 button.rb-undo").click()
    a.wait_for_selector("#step-1.state-pending", timeout=2_000)
    assert a.evaluate("window.__noReload") is True
    assert b.evaluate("window.__noReload") is True
    ctx_a.close()
    ctx_b.close()
