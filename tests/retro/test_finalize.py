"""Finalizing a retro: what will be frozen is shown first, a live event needs a reason, a
lead reopens with a reason; the page and the API share retro.finalize."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from retro import finalize, meeting, services
from retro.models import AuditLog, Event
from tests.retro.shows import end_show
from tests.retro.test_loop import log


def decided_learning(event, lead, operator, body="SRT latency too low on the ASL return"):
    learning = log(event, operator, body=body)
    meeting.decide_no_change(learning=learning, actor=lead, reason="Within the vendor target")
    return learning


def test_the_preview_counts_what_will_be_frozen_and_the_undecided(event, lead, operator):
    decided_learning(event, lead, operator)
    undecided = log(event, operator, body="Caption drift of 8 s")
    log(event, operator, kind="win", body="Clean failover")
    log(event, operator, kind="action", body="Raise the SRT latency", owner=operator)
    deleted = log(event, operator, kind="win", body="logged twice")
    services.delete_entry(entry=deleted, actor=operator)

    preview = finalize.finalize_preview(event)
    assert preview.counts == {"win": 1, "learning": 2, "action": 1}
    assert preview.total == 4
    assert preview.undecided == [undecided]
    assert preview.live and set(preview.problems) == {"live", "learnings"}
    assert preview.needs_reason


def test_a_live_event_is_refused_without_a_reason(event, lead, operator):
    decided_learning(event, lead, operator)
    assert event.state == Event.State.LIVE
    with pytest.raises(ValidationError) as err:
        finalize.finalize_retro(event=event, actor=lead)
    assert "is still live" in err.value.message_dict["live"][0]
    event.refresh_from_db()
    assert not event.retro_finalized
    assert not AuditLog.objects.filter(action="retro.finalize").exists()


def test_an_event_inside_its_dates_is_live_even_in_planning(event):
    event.state = Event.State.PLANNING
    assert finalize.is_live(event)
    assert not finalize.is_live(event, now=event.end + timedelta(minutes=1))
    event.state = Event.State.CLOSED
    assert not finalize.is_live(event, now=event.start + timedelta(hours=1))


def test_a_lead_finalizes_a_live_event_with_a_reason_kept_in_the_audit(event, lead, operator):
    decided_learning(event, lead, operator)
    finalize.finalize_retro(event=event, actor=lead, override_reason="Last day is a rehearsal")
    event.refresh_from_db()
    assert event.retro_finalized and event.retro_override_reason == "Last day is a rehearsal"
    line = AuditLog.objects.get(action="retro.finalize")
    assert line.changes["overridden"] == ["live"]
    assert line.changes["frozen"] == {"win": 0, "learning": 1, "action": 0}


def test_after_the_show_no_reason_is_needed(event, lead, operator):
    decided_learning(event, lead, operator)
    finalize.finalize_retro(event=end_show(event), actor=lead)
    event.refresh_from_db()
    assert event.retro_finalized and event.retro_override_reason == ""


def test_the_confirmation_page_shows_counts_and_asks_for_confirmation(
    lead_client, event, lead, operator
):
    decided_learning(event, lead, operator)
    log(event, operator, kind="win", body="Clean failover")
    url = f"/events/{event.slug}/retro/finalize/"
    page = lead_client.get(url)
    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-count="total">2<' in html and 'data-count="undecided">0<' in html
    assert "is live" in html and 'name="override_reason"' in html

    unconfirmed = lead_client.post(url, {"override_reason": "Rehearsal day"})
    assert unconfirmed.status_code == 400 and "Tick the box" in unconfirmed.content.decode()
    no_reason = lead_client.post(url, {"confirm": "1"})
    assert no_reason.status_code == 400 and "is still live" in no_reason.content.decode()
    event.refresh_from_db()
    assert not event.retro_finalized

    done = lead_client.post(url, {"confirm": "1", "override_reason": "Rehearsal day"})
    assert done.status_code == 302 and done["Location"].endswith(f"/events/{event.slug}/retro/")
    event.refresh_from_db()
    assert event.retro_finalized and event.retro_override_reason == "Rehearsal day"


def test_operators_do_not_reach_the_confirmation_page(operator_client, event):
    assert operator_client.get(f"/events/{event.slug}/retro/finalize/").status_code == 403


def test_a_lead_reopens_from_the_page_with_a_reason(lead_client, event, lead, operator):
    decided_learning(event, lead, operator)
    finalize.finalize_retro(event=end_show(event), actor=lead)
    url = f"/events/{event.slug}/retro/reopen/"
    assert 'name="reason"' in lead_client.get(url).content.decode()
    empty = lead_client.post(url, {"reason": ""})
    assert empty.status_code == 400 and "Say why" in empty.content.decode()
    lead_client.post(url, {"reason": "Vendor answered after the meeting"})
    event.refresh_from_db()
    assert not event.retro_finalized
    line = AuditLog.objects.get(action="retro.reopen")
    assert line.summary == "Retro reopened: Vendor answered after the meeting"
    meeting_page = lead_client.get(f"/events/{event.slug}/retro/").content.decode()
    assert 'id="finalize-link"' in meeting_page


def test_finalize_api_previews_refuses_live_and_reopens(
    lead_api, operator_api, event, lead, operator
):
    decided_learning(event, lead, operator)
    url = f"/api/v1/events/{event.slug}/retro/finalize/"
    preview = lead_api.get(url).json()
    assert preview["counts"] == {"win": 0, "learning": 1, "action": 0, "total": 1}
    assert preview["live"] and preview["needs_reason"] and "live" in preview["problems"]
    assert operator_api.get(url).status_code == 403

    refused = lead_api.post(url, {}, format="json")
    assert refused.status_code == 400 and "live" in refused.json()
    done = lead_api.post(url, {"override_reason": "Show ends early"}, format="json")
    assert done.status_code == 200 and done.json()["retro_override_reason"] == "Show ends early"

    reopen = f"/api/v1/events/{event.slug}/retro/reopen/"
    assert operator_api.post(reopen, {"reason": "x"}, format="json").status_code == 403
    no_reason = lead_api.post(reopen, {"reason": " "}, format="json")
    assert no_reason.status_code == 400 and "reason" in no_reason.json()
    reopened = lead_api.post(reopen, {"reason": "More learnings came in"}, format="json")
    assert reopened.status_code == 200 and reopened.json()["retro_finalized_at"] is None
    event.refresh_from_db()
    assert not event.retro_finalized
    # Operators log again once the retro is reopened.
    _entry, created = services.log_entry(
        event=event, author=operator, kind="win", body="Back open", occurred_at=timezone.now()
    )
    assert created
