"""Done when (issue 15, items 1, 2, 9, 12) in real Chromium: an entry's fields are edited on
the board, a delete is undone from the "Deleted — Undo" prompt, the When field is read in the
zone picked beside it, and a lead finalizes a live event's retro only after a confirmation
with a reason, then reopens it with a reason."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from retro import meeting, services
from retro.models import AuditLog, Entry
from tests.browser.test_live_board import open_board, shot
from tests.conftest import KEYNOTE_START

pytestmark = [pytest.mark.browser, pytest.mark.slow]
LA = ZoneInfo("America/Los_Angeles")
DUBLIN = ZoneInfo("Europe/Dublin")


def log(event, author, **fields):
    entry, _ = services.log_entry(
        event=event,
        author=author,
        kind=fields.pop("kind", "learning"),
        body=fields.pop("body", "Captions lagged 8 s"),
        occurred_at=KEYNOTE_START + timedelta(minutes=20),
        **fields,
    )
    return entry


@pytest.mark.django_db(transaction=True)
def test_fields_are_edited_on_the_board_and_a_delete_is_undone(
    browser, live_server, event, operator
):
    entry = log(event, operator)
    ctx, page = open_board(browser, live_server.url, operator.username)
    page.click(f"#entry-{entry.pk} .js-edit")
    form = page.locator(f"#edit-form-{entry.pk}")
    form.wait_for()
    when = form.locator("input[name=occurred_at]")
    in_event_zone = (KEYNOTE_START + timedelta(minutes=20)).astimezone(LA)
    assert when.input_value()[:16] == in_event_zone.strftime("%Y-%m-%dT%H:%M")
    form.locator("select[name=when_zone]").select_option("viewer")  # keeps the instant
    in_dublin = (KEYNOTE_START + timedelta(minutes=20)).astimezone(DUBLIN)
    assert when.input_value()[:16] == in_dublin.strftime("%Y-%m-%dT%H:%M")
    when.fill((in_dublin + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S"))
    form.locator("input[name=feeds]").fill("kn1-asl")
    form.locator("select[name=stage]").select_option("distribution")
    form.locator("select[name=impact]").select_option("on_air")
    form.locator("input[name=tags]").fill("asl, captions")
    shot(page, "board-edit-all-fields")
    form.locator("button[type=submit]").click()
    page.wait_for_selector(f"#entry-{entry.pk} .stage-tag:has-text('Distribution')", timeout=4_000)
    entry.refresh_from_db()
    assert entry.occurred_at == KEYNOTE_START + timedelta(minutes=25)
    assert [f.slug for f in entry.feeds.all()] == ["kn1-asl"]
    assert (entry.stage, entry.impact, entry.tags) == (
        "distribution",
        "on_air",
        ["asl", "captions"],
    )
    assert entry.revisions.get(version=2).changes.keys() >= {"occurred_at", "feeds", "tags"}

    page.click(f"#entry-{entry.pk} .js-delete")
    page.wait_for_selector(f"#entry-{entry.pk}", state="detached", timeout=3_000)
    undo = page.locator("#board-notice .js-undo-delete")
    undo.wait_for(timeout=2_000)
    assert "Deleted" in page.inner_text("#board-notice")
    shot(page, "board-deleted-undo")
    assert Entry.objects.get(pk=entry.pk).deleted_at is not None
    undo.click()
    page.wait_for_selector(f"#entry-{entry.pk}", timeout=4_000)
    assert Entry.objects.get(pk=entry.pk).deleted_at is None
    assert AuditLog.objects.filter(action="entry.restore", object_id=str(entry.pk)).exists()
    ctx.close()


@pytest.mark.django_db(transaction=True)
def test_when_is_logged_in_the_zone_picked_beside_it(browser, live_server, event, operator):
    ctx, page = open_board(browser, live_server.url, operator.username)
    moment = KEYNOTE_START + timedelta(minutes=30)
    page.select_option("#entry-when-zone", "event")
    page.fill("#entry-when", moment.astimezone(LA).strftime("%Y-%m-%dT%H:%M"))
    page.fill("#entry-body", "Hotel feed froze for a second")
    page.press("#entry-body", "Enter")
    page.wait_for_selector("article.entry:has-text('Hotel feed froze')", timeout=4_000)
    assert Entry.objects.get(body="Hotel feed froze for a second").occurred_at == moment
    ctx.close()


@pytest.mark.django_db(transaction=True)
def test_a_live_retro_is_finalized_only_when_confirmed_with_a_reason_and_reopened(
    browser, live_server, event, lead, operator
):
    learning = log(event, operator)
    meeting.decide_no_change(learning=learning, actor=lead, reason="Vendor target")
    log(event, operator, kind="win", body="Clean failover to B")
    ctx, page = open_board(browser, live_server.url, lead.username)
    page.goto(f"{live_server.url}/events/{event.slug}/retro/")
    page.click("#finalize-link")
    page.wait_for_selector("#frozen-counts")
    assert page.inner_text('[data-count="total"]') == "2"
    assert "is live" in page.inner_text(".live-warning")
    page.click("#finalize-form button[type=submit]")  # nothing ticked, no reason: stays
    assert page.url.endswith("/retro/finalize/")
    event.refresh_from_db()
    assert not event.retro_finalized
    page.fill("#override-reason", "The last day is a rehearsal")
    page.check("#finalize-confirm")
    shot(page, "finalize-confirm")
    page.click("#finalize-form button[type=submit]")
    page.wait_for_selector(".badge-finalized", timeout=4_000)
    event.refresh_from_db()
    assert event.retro_finalized and event.retro_override_reason == "The last day is a rehearsal"

    page.click("#reopen-link")
    page.fill("#reopen-reason", "The vendor answered after the meeting")
    page.click("#reopen-form button[type=submit]")
    page.wait_for_selector("#finalize-link", timeout=4_000)
    event.refresh_from_db()
    assert not event.retro_finalized
    line = AuditLog.objects.get(action="retro.reopen")
    assert line.changes["reason"] == "The vendor answered after the meeting"
    ctx.close()
