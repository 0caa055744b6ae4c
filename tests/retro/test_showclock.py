"""The show clock: current and next session with their countdowns, and the on-air / off-air
marks (leads and operators, not viewers) through the page, the API and the board."""

from datetime import timedelta

import pytest
from django.utils import timezone

from retro import showclock
from retro.models import AuditLog, Session
from tests.conftest import iso


@pytest.fixture
def keynote(event):
    return event.sessions.get(slug="kn1")


@pytest.fixture
def next_talk(event, keynote):
    start = timezone.now() + timedelta(minutes=45)
    return Session.objects.create(
        event=event,
        title="Encoder deep dive",
        slug="talk1",
        kind="innovation_talk",
        room="Room B",
        day=start.date(),
        scheduled_start=start,
        scheduled_end=start + timedelta(hours=1),
    )


def on_air_now(session, minutes_in=30):
    """Move the session's schedule so it has been on air for `minutes_in` minutes."""
    start = timezone.now().replace(microsecond=0) - timedelta(minutes=minutes_in)
    session.scheduled_start, session.scheduled_end = start, start + timedelta(hours=2)
    session.save()
    return session


def test_the_clock_counts_down_to_off_air_of_the_current_and_on_air_of_the_next(
    event, keynote, next_talk
):
    on_air_now(keynote)
    clock = showclock.show_clock(event)
    assert clock.current.session == keynote and clock.current.on_air
    assert clock.current.countdown_to == keynote.scheduled_end
    assert clock.current.countdown_label == "off air in"
    assert clock.next.session == next_talk and not clock.next.on_air
    assert clock.next.countdown_to == next_talk.scheduled_start


def test_an_overrun_session_marked_on_air_stays_current_until_marked_off_air(event, keynote, lead):
    on_air_now(keynote, minutes_in=150)  # scheduled off air 30 min ago
    showclock.mark_on_air(
        session=keynote, actor=lead, at=keynote.scheduled_start + timedelta(minutes=4)
    )
    clock = showclock.show_clock(event)
    assert clock.current.session == keynote and clock.current.countdown_label == "over by"
    assert clock.current.start_delta == timedelta(minutes=4)
    showclock.mark_off_air(session=keynote, actor=lead)
    assert showclock.show_clock(event).current is None


def test_marks_are_validated(event, keynote, lead):
    on_air_now(keynote)
    with pytest.raises(showclock.ValidationError, match="on air first"):
        showclock.mark_off_air(session=keynote, actor=lead)
    with pytest.raises(showclock.ValidationError, match="future"):
        showclock.mark_on_air(session=keynote, actor=lead, at=timezone.now() + timedelta(hours=1))
    showclock.mark_on_air(session=keynote, actor=lead)
    with pytest.raises(showclock.ValidationError, match="after the on-air"):
        showclock.mark_off_air(
            session=keynote, actor=lead, at=timezone.now() - timedelta(minutes=10)
        )


def test_marking_from_the_board_form_stores_audits_and_returns_to_the_board(
    operator_client, event, keynote, operator
):
    on_air_now(keynote)
    response = operator_client.post(f"/events/{event.slug}/sessions/kn1/on-air/")
    assert response.status_code == 302 and response["Location"].endswith("/board/")
    keynote.refresh_from_db()
    assert abs((keynote.actual_start - timezone.now()).total_seconds()) < 10
    log = AuditLog.objects.get(action="session.actual_start")
    assert log.actor == operator and "Opening keynote: on air at" in log.summary
    assert log.changes["actual_start"][0] is None


def test_viewers_cannot_mark_and_outsiders_see_nothing(client, viewer, outsider, event, keynote):
    client.force_login(viewer)
    assert client.post(f"/events/{event.slug}/sessions/kn1/on-air/").status_code == 403
    client.force_login(outsider)
    assert client.post(f"/events/{event.slug}/sessions/kn1/on-air/").status_code == 404
    keynote.refresh_from_db()
    assert keynote.actual_start is None


def test_api_marks_with_a_given_time_and_refuses_a_zoneless_one(
    lead_api, viewer_api, event, keynote
):
    on_air_now(keynote)
    url = f"/api/v1/events/{event.slug}/sessions/kn1/on-air/"
    at = keynote.scheduled_start + timedelta(minutes=3)
    assert viewer_api.post(url, {}, format="json").status_code == 403
    bad = lead_api.post(url, {"at": at.replace(tzinfo=None).isoformat()}, format="json")
    assert bad.status_code == 400 and "at" in bad.json()
    response = lead_api.post(url, {"at": iso(at)}, format="json")
    assert response.status_code == 200
    assert response.json()["start_delta_seconds"] == 180
    clock = viewer_api.get(f"/api/v1/events/{event.slug}/show-clock/").json()
    assert clock["current"]["slug"] == "kn1" and clock["current"]["actual_start"]


def test_the_board_shows_the_clock_and_buttons_only_to_operators(
    client, operator, viewer, event, keynote, next_talk
):
    on_air_now(keynote)
    client.force_login(operator)
    board = client.get(f"/events/{event.slug}/board/").content.decode()
    assert 'id="show-clock"' in board and "On air now" in board and "Encoder deep dive" in board
    assert "Mark on air now" in board
    client.force_login(viewer)
    seen = client.get(f"/events/{event.slug}/board/").content.decode()
    assert 'id="show-clock"' in seen and "Mark on air now" not in seen


def test_the_timeline_draws_the_actual_window_under_the_scheduled_band(
    lead_client, event, keynote, lead
):
    on_air_now(keynote)
    showclock.mark_on_air(
        session=keynote, actor=lead, at=keynote.scheduled_start + timedelta(minutes=6)
    )
    day = keynote.scheduled_start.astimezone(event.tz).date().isoformat()
    html = lead_client.get(f"/events/{event.slug}/board/?view=timeline&day={day}").content
    text = html.decode()
    assert 'class="actual-band"' in text and "actually on air" in text and "(+6 min)" in text
