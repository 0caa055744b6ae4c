"""Done when: in real Chromium, a phone that loses the network reloads its runbook checklist or
the board and gets the page back from the device, with what it still has to send, instead of
the browser's offline page; what waited is sent once when the network is back; a page never
opened on the device says so; signing out forgets every kept page."""

import os
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from demo.runbooks import load_runbooks
from retro.models import Entry
from runbooks import services
from runbooks.models import Runbook, RunStep, RunStepChange
from tally import offline
from tests import browsers
from tests.reliability.servers import TcpProxy

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = Path(os.environ.get("BOARD_SCREENSHOTS", "/tmp/tally-board-shots"))
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


class Network:
    """The phone's way to the live server: a relay the test really cuts. Chromium's offline
    emulation does not cover the requests a service worker makes or passes on."""

    def __init__(self, live_server):
        self.proxy = TcpProxy(int(live_server.url.rsplit(":", 1)[1])).start()
        self.url = f"http://127.0.0.1:{self.proxy.port}"

    def down(self):
        self.proxy.stop()

    def up(self):
        self.proxy.start()


@pytest.fixture
def network(live_server):
    net = Network(live_server)
    yield net
    net.down()


def signed_in_page(browser, base, username):
    return browsers.signed_in_page(browser, base, username, **PHONE)


def kept_paths(page) -> list[str]:
    return page.evaluate(
        """async (name) => {
            const cache = await caches.open(name);
            return (await cache.keys()).map((r) => new URL(r.url).pathname);
        }""",
        offline.PAGES_CACHE,
    )


def wait_until_kept(page, path: str, timeout: float = 10) -> None:
    """The worker has taken over this page and holds a copy of it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path in kept_paths(page):
            return
        time.sleep(0.2)
    raise AssertionError(f"{path} was not kept within {timeout}s: {kept_paths(page)}")


@pytest.mark.django_db(transaction=True)
def test_a_checklist_reloaded_offline_opens_from_the_device_and_sends_its_tick_once(
    browser, network, event, operator
):
    load_runbooks()
    runbook = Runbook.objects.get(slug="ott-handoff-preshow")
    run = services.start_run(runbook=runbook, event=event, started_by=operator)
    base, path = network.url, f"/runbooks/runs/{run.pk}/"
    context, page = signed_in_page(browser, base, operator.username)
    page.goto(base + path)
    page.wait_for_selector('#live-status[data-state="live"]', timeout=10_000)
    wait_until_kept(page, path)
    assert page.locator("html[data-offline-copy]").count() == 0
    assert page.locator(".offline-copy").count() == 0

    network.down()
    page.locator("#step-2 button.rb-done").click()
    page.wait_for_selector("#queue-status:has-text('1 waiting to send')", timeout=3_000)
    page.reload()
    # The device's copy, saying so, with the tick still waiting on step 2.
    assert page.locator("html[data-offline-copy]").count() == 1
    expect(page.locator(".offline-copy")).to_contain_text("Offline copy of this page")
    expect(page.locator("#main")).to_contain_text(runbook.title)
    expect(page.locator("#queue-status")).to_contain_text("1 waiting to send", timeout=3_000)
    assert page.locator("#step-2.state-done.waiting").count() == 1
    assert page.locator(".rb-progress [data-count=done]").inner_text() == "1"
    assert RunStep.objects.get(run=run, number=2).state == "pending"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "checklist-offline-copy.png"))

    # A checklist this device never opened: an explanation, not the browser's error page.
    page.goto(f"{base}/runbooks/runs/{run.pk + 1000}/")
    expect(page.locator("[data-offline-missing]")).to_contain_text("no copy of this page")

    network.up()
    page.goto(base + path)
    page.wait_for_selector("#queue-status:has-text('All sent')", timeout=8_000)
    assert page.locator("html[data-offline-copy]").count() == 0
    time.sleep(1.5)  # a stray resend would land now
    assert RunStepChange.objects.filter(run=run, number=2).count() == 1
    step = RunStep.objects.get(run=run, number=2)
    assert step.state == "done" and step.recorded_by == operator
    context.close()


@pytest.mark.django_db(transaction=True)
def test_the_board_reloaded_offline_shows_its_waiting_entry_and_signing_out_forgets_it(
    browser, network, event, operator
):
    base, path = network.url, "/events/summit/board/"
    context, page = signed_in_page(browser, base, operator.username)
    page.goto(base + path)
    page.wait_for_selector('#live-status[data-state="live"]', timeout=10_000)
    wait_until_kept(page, path)

    network.down()
    page.fill("#entry-body", "Venue ISP down: logging from the phone on the floor")
    page.locator("#entry-body").press("Enter")
    page.wait_for_selector("#queue-status:has-text('1 waiting to send')", timeout=3_000)
    page.reload()
    assert page.locator("html[data-offline-copy]").count() == 1
    expect(page.locator("#pending-list")).to_contain_text("Venue ISP down", timeout=3_000)
    assert not Entry.objects.filter(body__startswith="Venue ISP down").exists()

    network.up()
    page.wait_for_selector("#queue-status:has-text('All sent')", timeout=8_000)
    time.sleep(1.5)
    assert Entry.objects.filter(body__startswith="Venue ISP down").count() == 1

    # Signing out forgets the kept pages: the next person on this phone sees none of them.
    page.goto(base + path)
    page.wait_for_selector('#live-status[data-state="live"]', timeout=10_000)
    assert path in kept_paths(page)
    page.locator("form[action='/accounts/logout/'] button").click()
    page.wait_for_url("**/accounts/login/**")
    deadline = time.monotonic() + 5
    while kept_paths(page) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert kept_paths(page) == []
    network.down()
    page.goto(base + path)
    expect(page.locator("[data-offline-missing]")).to_be_visible()
    context.close()
