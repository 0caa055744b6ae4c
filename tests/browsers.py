"""Debian's Chromium driven by Playwright, shared by every browser test."""

import threading
import time

import pytest
from django.db import connections

from tests.services import require_chromium

# As root in a sandbox with no network: no sandboxing, no GPU, no background traffic.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _server_request_threads() -> list[threading.Thread]:
    """The live server's request threads: each holds a database connection until the
    browser's keep-alive socket closes, and PostgreSQL will not drop a database in use."""
    return [t for t in threading.enumerate() if "process_request_thread" in t.name]


@pytest.fixture
def browser(monkeypatch):
    """Chromium for one test; afterwards every page, context and the browser are closed and
    the live server's request threads have let go of their database connections."""
    path = require_chromium()
    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # between page actions are still synchronous. Only for this test: a leaked variable
    # would fail the deploy check.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            for context in chromium.contexts:
                context.close()
            chromium.close()
            # ORM calls made while Playwright's loop runs use a connection of their own.
            connections.close_all()
    deadline = time.monotonic() + 10
    while _server_request_threads() and time.monotonic() < deadline:
        time.sleep(0.05)


def signed_in_page(browser, base: str, username: str, **context_args):
    """A new context (Playwright ``new_context`` arguments) signed in as ``username`` through
    the login form; (context, page)."""
    from tests.conftest import PASSWORD

    context = browser.new_context(**context_args)
    page = context.new_page()
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit], input[type=submit]")
    return context, page
