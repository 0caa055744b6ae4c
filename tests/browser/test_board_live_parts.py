"""Done when: the board parts that are not entries of this event update live too. With the
board open on the timeline, a new entry's dot appears, a new anomaly raises the unreviewed
count, and an action carried over from last year leaves the board once it is done, all
without a reload."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from integrations.models import Anomaly
from retro import meeting, services
from retro.models import Event
from tests.browser.test_live_board import open_board

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _carried_action(event, lead, operator):
    last_year = Event.objects.create(
        name="Summit 2025",
        slug="summit-2025",
        start=event.start - timedelta(days=365),
        end=event.start - timedelta(days=361),
        state=Event.State.LIVE,
    )
    services.set_membership(event=last_year, user=lead, role="lead", actor=None)
    services.set_membership(event=last_year, user=operator, role="operator", actor=None)
    learning, _ = services.log_entry(
        event=last_year,
        author=lead,
        kind="learning",
        body="Why: the B path had no monitoring",
        occurred_at=last_year.start + timedelta(hours=2),
    )
    action = meeting.promote_learning_to_action(
        learning=learning,
        actor=lead,
        owner=operator,
        due=(event.start + timedelta(days=10)).date(),
        body="Monitor the B path on the multiviewer",
    )
    Event.objects.filter(pk=last_year.pk).update(state=Event.State.CLOSED)
    Event.objects.filter(pk=event.pk).update(follows=last_year)
    return action


@pytest.mark.django_db(transaction=True)
def test_timeline_dots_anomaly_count_and_carried_actions_update_live(
    browser, live_server, event, lead, operator
):
    carried = _carried_action(event, lead, operator)
    day = event.start.astimezone(event.tz).date().isoformat()
    context, page = open_board(browser, live_server.url, operator.username)
    page.goto(f"{live_server.url}/events/{event.slug}/board/?view=timeline&day={day}")
    page.wait_for_selector('#live-status[data-state="live"]', timeout=10_000)
    page.evaluate("window.__noReload = true")
    assert page.locator("svg.timeline-axis circle.mark").count() == 0
    assert page.locator("[data-unreviewed-count]").inner_text() == "0"
    assert page.locator(".carried-over", has_text="Monitor the B path").count() == 1

    services.log_entry(
        event=event,
        author=lead,
        kind="learning",
        body="Audio drifted on the ASL return",
        occurred_at=event.start + timedelta(hours=2),
    )
    page.wait_for_selector("svg.timeline-axis circle.mark.kind-learning", timeout=4_000)
    assert "Audio drifted" in page.locator("svg.timeline-axis circle.mark title").inner_html()

    Anomaly.objects.create(
        event=event,
        feed=event.feeds.get(slug="kn1-contrib-a"),
        kind="packet_loss",
        key="loss-live",
        source="detector",
        start=event.start + timedelta(hours=3),
        end=event.start + timedelta(hours=3, minutes=2),
    )
    expect(page.locator("[data-unreviewed-count]")).to_have_text("1", timeout=5_000)
    assert page.locator(".anomaly-list", has_text="kn1-contrib-a").count() == 1

    services.set_action_status(entry=carried, status="done", actor=operator)
    expect(page.locator("[data-live-part=carried]")).not_to_contain_text(
        "Monitor the B path", timeout=5_000
    )
    assert page.evaluate("window.__noReload") is True
    context.close()
