"""The learning loop's pages and command: meeting decisions, the plan-next form,
`manage.py plan_next_event`, an entry's "seen before"."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command

from retro.models import AuditLog, Event, NoChangeDecision, RecurrenceLink
from tests.retro.shows import end_show
from tests.retro.test_loop import finalize, last_year_of, log


def test_meeting_page_lists_undecided_learnings_and_records_no_change(
    lead_client, event, lead, operator
):
    learning = log(event, operator, body="Caption drift of 8 s")
    page = lead_client.get(f"/events/{event.slug}/retro/").content.decode()
    assert "1 learning without a decision" in page and "No change needed…" in page
    end_show(event)
    refused = lead_client.post(f"/events/{event.slug}/retro/finalize/", {"confirm": "1"})
    assert refused.status_code == 400 and "have no decision yet" in refused.content.decode()
    empty = lead_client.post(
        f"/events/{event.slug}/retro/no-change/{learning.pk}/", {"reason": " "}, follow=True
    )
    assert "Say why no change is needed." in empty.content.decode()
    lead_client.post(
        f"/events/{event.slug}/retro/no-change/{learning.pk}/", {"reason": "Vendor bug"}
    )
    assert NoChangeDecision.objects.get().reason == "Vendor bug"
    page = lead_client.get(f"/events/{event.slug}/retro/").content.decode()
    assert "no change needed (lead1): Vendor bug" in page
    lead_client.post(f"/events/{event.slug}/retro/finalize/", {"confirm": "1"})
    event.refresh_from_db()
    assert event.retro_finalized


def test_the_event_page_plans_the_next_event_in_the_events_zone(lead_client, event, lead, operator):
    finalize(event, lead, operator)
    assert "Plan the next event" in lead_client.get(f"/events/{event.slug}/").content.decode()
    form = lead_client.get(f"/events/{event.slug}/next/").content.decode()
    assert 'name="start"' in form
    local = (event.end + timedelta(days=300)).astimezone(event.tz)
    response = lead_client.post(
        f"/events/{event.slug}/next/",
        {"slug": "summit-next", "name": "Summit next", "start": local.strftime("%Y-%m-%dT%H:%M")},
    )
    assert response.status_code == 302 and response["Location"] == "/events/summit-next/board/"
    nxt = Event.objects.get(slug="summit-next")
    assert nxt.start == local.replace(second=0, microsecond=0) and nxt.follows == event


def test_the_plan_form_shows_field_messages_and_creates_nothing(
    client, event, lead, operator, viewer
):
    client.force_login(lead)
    lead_client = client
    finalize(event, lead, operator)
    local = event.start.astimezone(event.tz)
    response = lead_client.post(
        f"/events/{event.slug}/next/",
        {"slug": event.slug, "name": "Again", "start": local.strftime("%Y-%m-%dT%H:%M")},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "exists already" in page and "starts after this one ends" in page
    assert Event.objects.count() == 1
    client.force_login(viewer)
    assert client.get(f"/events/{event.slug}/next/").status_code == 403


def test_plan_next_event_command_prints_progress(event, lead, operator, capsys):
    finalize(event, lead, operator)
    call_command(
        "plan_next_event",
        event.slug,
        "--slug=summit-next",
        "--name=Summit next",
        f"--start={(event.end + timedelta(days=300)).isoformat()}",
        "--lead=lead1",
    )
    out = capsys.readouterr().out
    assert "summit-next: 1 sessions copied" in out and "3 feeds copied" in out
    assert "Event summit-next planned from summit" in out
    assert Event.objects.get(slug="summit-next").follows == event


def test_plan_next_event_command_refuses_an_operator_and_an_unfinalized_event(
    event, lead, operator
):
    args = [
        event.slug,
        "--slug=n",
        "--name=N",
        f"--start={(event.end + timedelta(days=9)).isoformat()}",
    ]
    with pytest.raises(CommandError, match="lead"):
        call_command("plan_next_event", *args, "--lead=operator1")
    with pytest.raises(CommandError, match="force: The retro of Test Summit is not finalized"):
        call_command("plan_next_event", *args, "--lead=lead1")
    call_command("plan_next_event", *args, "--lead=lead1", "--force")
    assert AuditLog.objects.filter(action="event.plan_next_forced").exists()


def test_entry_page_shows_seen_before_and_links_it(operator_client, event, lead, operator):
    last = last_year_of(event, lead, operator)
    contrib = event.feeds.get(slug="kn1-contrib-a")
    now = log(event, operator, body="SRT packet loss on the contribution A path", feeds=[contrib])
    before = log(
        last,
        operator,
        body="Packet loss on SRT contribution path A at doors",
        feeds=[last.feeds.get(slug="kn1-contrib-a")],
        occurred_at=last.start,
    )
    page = operator_client.get(f"/entries/{now.pk}/").content.decode()
    assert "seen before at summit-2025" in page and "flagged at 2 of the last 2 events" in page
    operator_client.post(f"/entries/{now.pk}/recurrence/", {"earlier": str(before.pk)})
    assert RecurrenceLink.objects.filter(entry=now, earlier=before).exists()
    page = operator_client.get(f"/entries/{now.pk}/").content.decode()
    assert "Recurs" in page and "of summit-2025" in page


def test_the_board_and_feed_page_show_the_recurrence(viewer_client, event, lead, operator, viewer):
    last = last_year_of(event, lead, operator)
    contrib = event.feeds.get(slug="kn1-contrib-a")
    log(event, operator, feeds=[contrib])
    log(last, operator, feeds=[last.feeds.get(slug="kn1-contrib-a")], occurred_at=last.start)
    board = viewer_client.get(f"/events/{event.slug}/board/").content.decode()
    assert "flagged at 2 of the last 2 events" in board
    feed_page = viewer_client.get(f"/events/{event.slug}/telemetry/kn1-contrib-a/").content.decode()
    assert "flagged at 2 of the last 2 events" in feed_page


def test_the_board_asks_for_similar_learnings_only_when_the_event_follows_another(
    operator_client, event, lead, operator
):
    board = operator_client.get(f"/events/{event.slug}/board/").content.decode()
    assert "data-similar-url" not in board and "seen-before.js" not in board
    last_year_of(event, lead, operator)
    board = operator_client.get(f"/events/{event.slug}/board/").content.decode()
    assert f'data-similar-url="/api/v1/events/{event.slug}/similar/"' in board
    assert "js/seen-before" in board
