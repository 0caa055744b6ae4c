"""Actions pages: per event and across events, filters, inline status, carried over."""

from datetime import timedelta

import pytest
from django.utils import timezone

from retro import finalize, meeting, services
from retro.models import Entry, Event
from tests.retro.shows import end_show

from ..conftest import make_user


def action(event, author, owner, body="Raise SRT latency to 2000 ms", **fields):
    learning, _ = services.log_entry(
        event=event,
        author=author,
        kind="learning",
        body=f"Why: {body}",
        occurred_at=event.start + timedelta(hours=2),
    )
    return meeting.promote_learning_to_action(
        learning=learning,
        actor=author,
        owner=owner,
        due=fields.pop("due", timezone.localdate() + timedelta(days=10)),
        body=body,
    )


def make_overdue(entry, actor, days=3):
    return services.edit_entry(
        entry=entry,
        editor=actor,
        version=entry.version,
        due=timezone.localdate() - timedelta(days=days),
    )


def test_event_actions_are_grouped_by_owner_with_overdue_marked(
    viewer_client, event, lead, operator
):
    late = make_overdue(action(event, lead, operator, body="Fix caption drift"), lead)
    action(event, lead, lead, body="Add the missing subtitle language")
    response = viewer_client.get(f"/events/{event.slug}/actions/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "lead1" in html and "operator1" in html
    assert f'id="action-{late.pk}" class="action-row kind-action overdue' in html
    assert "<select" not in html.split("actions-table", 1)[1]  # viewers can't change status


def test_filters_by_status_and_owner(lead_client, event, lead, operator):
    a = action(event, lead, operator, body="Alpha action")
    action(event, lead, lead, body="Beta action")
    services.set_action_status(entry=a, status="done", actor=lead)
    html = lead_client.get(f"/events/{event.slug}/actions/?status=done").content.decode()
    assert "Alpha action" in html and "Beta action" not in html
    html = lead_client.get(f"/events/{event.slug}/actions/?owner=lead1").content.decode()
    assert "Beta action" in html and "Alpha action" not in html
    html = lead_client.get(f"/events/{event.slug}/actions/?status=overdue").content.decode()
    assert "No actions match" in html


@pytest.mark.parametrize(
    "who,own,expected",
    [
        ("operator", True, 302),
        ("operator", False, 403),
        ("lead", False, 302),
        ("viewer", False, 403),
        ("outsider", False, 404),
    ],
)
def test_status_changes_operators_their_own_leads_any(
    client, event, lead, operator, viewer, outsider, who, own, expected
):
    user = {"operator": operator, "lead": lead, "viewer": viewer, "outsider": outsider}[who]
    owned = action(event, lead, user if own else lead)
    client.force_login(user)
    response = client.post(f"/actions/{owned.pk}/status/", {"status": "in_progress"})
    assert response.status_code == expected
    owned.refresh_from_db()
    assert (owned.status == "in_progress") == (expected == 302)


def test_status_still_changes_after_the_retro_is_finalized(operator_client, event, lead, operator):
    owned = action(event, lead, operator)
    finalize.finalize_retro(event=end_show(event), actor=lead)
    response = operator_client.post(
        f"/actions/{owned.pk}/status/", {"status": "done", "next": f"/events/{event.slug}/actions/"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/events/{event.slug}/actions/#action-{owned.pk}"
    owned.refresh_from_db()
    assert owned.status == "done"


def test_unsafe_next_is_ignored(operator_client, event, lead, operator):
    owned = action(event, lead, operator)
    response = operator_client.post(
        f"/actions/{owned.pk}/status/", {"status": "done", "next": "https://evil.example/"}
    )
    assert response["Location"].startswith(f"/events/{event.slug}/actions/")


def test_all_events_page_shows_only_events_the_user_may_see(
    client, event, other_event, lead, operator
):
    mine = action(event, lead, operator, body="Visible action")
    stranger = make_user("other-lead")
    services.set_membership(event=other_event, user=stranger, role="lead", actor=None)
    action(other_event, stranger, stranger, body="Secret action")
    client.force_login(operator)
    html = client.get("/actions/").content.decode()
    assert "Visible action" in html and "Secret action" not in html
    html = client.get("/actions/?owner=me").content.decode()
    assert f"action-{mine.pk}" in html


def test_open_actions_of_the_followed_event_are_carried_over(client, event, lead, operator):
    last_year = Event.objects.create(
        name="Summit 2025",
        slug="summit-2025",
        start=event.start - timedelta(days=365),
        end=event.start - timedelta(days=361),
        state=Event.State.LIVE,
    )
    services.set_membership(event=last_year, user=lead, role="lead", actor=None)
    services.set_membership(event=last_year, user=operator, role="operator", actor=None)
    still_open = action(last_year, lead, operator, body="Carry me over")
    done = action(last_year, lead, operator, body="Already done")
    services.set_action_status(entry=done, status="done", actor=lead)
    last_year.state = Event.State.CLOSED
    last_year.save()
    Event.objects.filter(pk=event.pk).update(follows=last_year)
    client.force_login(operator)
    html = client.get(f"/events/{event.slug}/actions/").content.decode()
    assert "Carried over from earlier events" in html
    assert "Carry me over" in html and "Already done" not in html
    # the owner closes it from this page; then it is no longer carried
    client.post(f"/actions/{still_open.pk}/status/", {"status": "done"})
    html = client.get(f"/events/{event.slug}/actions/").content.decode()
    assert "Carry me over" not in html


def test_carried_over_actions_stay_hidden_from_non_members_of_the_old_event(
    viewer_client, event, lead
):
    last_year = Event.objects.create(
        name="Summit 2025",
        slug="summit-2025",
        start=event.start - timedelta(days=365),
        end=event.start - timedelta(days=361),
    )
    services.set_membership(event=last_year, user=lead, role="lead", actor=None)
    action(last_year, lead, lead, body="Private to last year")
    Event.objects.filter(pk=last_year.pk).update(state=Event.State.CLOSED)
    Event.objects.filter(pk=event.pk).update(follows=last_year)
    html = viewer_client.get(f"/events/{event.slug}/actions/").content.decode()
    assert "Private to last year" not in html
    assert Entry.objects.filter(body="Private to last year").exists()
