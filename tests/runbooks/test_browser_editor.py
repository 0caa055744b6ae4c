"""Done when: in real Chromium a lead edits a runbook: the preview shows the rendered,
sanitized text as they type, a learning is picked by typing words of it and cited by the
new revision, and on the runbook page a learning is linked through the same picker."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from retro import services as retro_services
from runbooks.models import Runbook, RunbookLink
from tests.conftest import PASSWORD
from tests.runbooks.test_browser import _shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.mark.django_db(transaction=True)
def test_lead_previews_cites_a_learning_and_links_one(browser, live_server, runbook, event, lead):
    for i in range(40):
        retro_services.log_entry(
            event=event,
            author=lead,
            kind="learning",
            body=f"Routine learning {i}",
            occurred_at=event.start + timedelta(hours=1),
        )
    wanted, _ = retro_services.log_entry(
        event=event,
        author=lead,
        kind="learning",
        body="Passphrase typo held the B path down for 4 minutes",
        occurred_at=event.start + timedelta(hours=2),
    )
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", lead.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit], input[type=submit]")

    page.goto(f"{live_server.url}/runbooks/{runbook.slug}/edit/")
    body = page.locator("#id_body")
    body.press("End")
    body.press("Control+End")
    body.type("\n- [ ] Read the passphrase back **twice** <script>window.__xss=1</script>\n")
    preview = page.locator("#rb-preview")
    expect(preview.locator("strong", has_text="twice")).to_have_count(1, timeout=4_000)
    expect(page.locator("#rb-preview-state")).to_have_text("5 steps in a run")
    assert preview.locator("script").count() == 0
    assert page.evaluate("window.__xss === undefined")

    page.fill("#rb-learning-q", "passphrase typo")
    option = page.locator("#rb-learning-options li[role=option]")
    expect(option).to_have_count(1, timeout=4_000)
    page.locator("#rb-learning-q").press("ArrowDown")
    page.locator("#rb-learning-q").press("Enter")
    expect(page.locator("#rb-chosen li")).to_have_count(1)
    _shot(page, "editor")
    page.fill("#id_summary", "Read back the passphrase")
    page.click("button:has-text('Save revision')")
    page.wait_for_url(f"**/runbooks/{runbook.slug}/")
    expect(page.locator(".msg-success")).to_contain_text("Saved as revision 2, citing 1 entry")
    revision = Runbook.objects.get(pk=runbook.pk).current
    assert revision.number == 2 and list(revision.entries.all()) == [wanted]

    page.locator(".rb-link summary").click()
    page.fill("#link-entry-q", "typo held")
    expect(page.locator("#link-entry-options li[role=option]")).to_have_count(1, timeout=4_000)
    _shot(page, "link-picker")
    page.locator("#link-entry-options li[role=option]").click()
    page.click(".rb-link button:has-text('Link')")
    page.wait_for_url("**#learnings-h")
    link = RunbookLink.objects.get()
    assert (link.entry, link.runbook.pk) == (wanted, runbook.pk)
    page.goto(f"{live_server.url}/search/?q=learning")
    expect(page.locator(".rb-hit")).to_have_count(30)
    _shot(page, "search")
    context.close()
