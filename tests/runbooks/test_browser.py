"""Browser: an operator runs the demo's pre-show handoff checklist on a phone-sized window,
and finds last year's learning about SRT latency from the contribution runbook's page."""

import os
from datetime import timedelta
from pathlib import Path

import pytest

from demo.runbooks import load_runbooks
from retro import services as retro_services
from retro.models import Event, Role
from runbooks.models import RunbookRun, RunStep
from tests.conftest import EVENT_START, PASSWORD

SHOTS = os.environ.get("RUNBOOK_SCREENSHOTS")


def _shot(page, name):
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def _login(page, base, username):
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit], input[type=submit]")


@pytest.fixture
def last_year(event, lead, operator):
    """Last year's closed event with the learning about SRT latency."""
    old = Event.objects.create(
        name="Summit 2025",
        slug="summit-2025",
        start=EVENT_START - timedelta(days=365),
        end=EVENT_START - timedelta(days=361),
        state=Event.State.LIVE,
    )
    retro_services.set_membership(event=old, user=lead, role=Role.LEAD, actor=None)
    retro_services.set_membership(event=old, user=operator, role=Role.OPERATOR, actor=None)
    retro_services.log_entry(
        event=old,
        author=lead,
        kind="learning",
        body="SRT latency at 120 ms on the contribution path lost packets over the venue ISP",
        occurred_at=old.start + timedelta(hours=5),
        stage="contribution",
    )
    Event.objects.filter(pk=old.pk).update(state=Event.State.CLOSED)
    return old


@pytest.mark.django_db(transaction=True)
def test_operator_runs_the_handoff_checklist_on_a_phone(
    browser, live_server, event, operator, lead, last_year
):
    load_runbooks()
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    page = context.new_page()
    _login(page, live_server.url, operator.username)
    page.goto(f"{live_server.url}/runbooks/ott-handoff-preshow/")
    page.select_option("#run-event", event.slug)
    page.click("text=Start run")
    page.wait_for_url("**/runbooks/runs/*/")
    run = RunbookRun.objects.get()
    assert page.locator(".rb-step").count() == run.steps.count() == 7
    page.locator("#step-1 button.rb-done").click()
    page.wait_for_selector("#step-1.state-done")
    page.locator("#step-2 button.rb-done").click()
    page.wait_for_selector("#step-2.state-done")
    page.locator("#step-3 summary").click()
    page.fill("#reason-3", "Subtitles start at the second keynote")
    page.locator("#step-3 button:has-text('Skip step')").click()
    page.wait_for_selector("#step-3.state-skipped")
    # Big enough to hit with a thumb, and nothing wider than the phone.
    box = page.locator("#step-4 button.rb-done").bounding_box()
    assert box["height"] >= 40 and box["width"] >= 120
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.wait_for_selector("#queue-status:has-text('All sent')", timeout=5_000)
    assert page.locator(".rb-progress [data-count=done]").inner_text() == "2"
    _shot(page, "run-phone")
    steps = {s.number: s for s in RunStep.objects.filter(run=run)}
    assert steps[1].state == steps[2].state == "done"
    assert steps[1].recorded_by == operator
    assert (
        steps[3].state == "skipped" and steps[3].reason == "Subtitles start at the second keynote"
    )
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("text=Finish run")
    page.wait_for_selector("text=Finished: this run is a record")
    run.refresh_from_db()
    assert run.finished_at is not None

    # A lead sees which learnings changed the contribution runbook, and searches last year's.
    page.goto(f"{live_server.url}/runbooks/contribution-encoder-srt/")
    _shot(page, "runbook-page-phone")
    page.fill("#rb-q", "SRT latency")
    page.locator(".rb-retro-search button").click()
    page.wait_for_url("**/search/?*")
    hit = page.locator(".rb-hit", has_text="Summit 2025")
    assert hit.count() >= 1
    assert hit.first.locator("mark").count() >= 1
    context.close()


@pytest.mark.django_db(transaction=True)
def test_lead_sees_the_learnings_behind_each_revision_and_the_diff(
    browser, live_server, event, lead, last_year
):
    from django.contrib.auth import get_user_model

    Event.objects.filter(pk=last_year.pk).update(slug="summit-2025")
    get_user_model().objects.filter(pk=lead.pk).update(username="lead")
    lead.refresh_from_db()
    load_runbooks()
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    _login(page, live_server.url, "lead")
    page.goto(f"{live_server.url}/runbooks/contribution-encoder-srt/")
    revisions = page.locator(".rb-revisions")
    assert "Latency from the measured RTT" in revisions.inner_text()
    assert "lost packets over the venue ISP" in revisions.inner_text()
    touching = page.locator(".rb-entries").inner_text()
    assert "Summit 2025" in touching and "changed r2" in touching
    _shot(page, "runbook-page")
    page.goto(f"{live_server.url}/runbooks/contribution-encoder-srt/diff/?from=1&to=3")
    assert page.locator(".rb-diff tr.d-replace, .rb-diff tr.d-insert").count() >= 2
    _shot(page, "diff-side")
    page.goto(f"{live_server.url}/runbooks/contribution-encoder-srt/diff/?from=1&to=3&mode=inline")
    _shot(page, "diff-inline")
    context.close()
