"""The learning loop's API: next event, finalize, decisions, recurrences, similar learnings."""

from datetime import timedelta

from retro.models import AuditLog, Entry, Event, NoChangeDecision, RecurrenceLink
from tests.conftest import iso
from tests.retro.shows import end_show
from tests.retro.test_loop import finalize, last_year_of, log


def next_body(event, **extra):
    body = {
        "slug": "summit-next",
        "name": "Summit next",
        "start": iso(event.end + timedelta(days=300)),
    }
    body.update(extra)
    return body


def test_a_lead_posts_the_next_event_and_it_follows_this_one(lead_api, event, lead, operator):
    finalize(event, lead, operator)
    response = lead_api.post(f"/api/v1/events/{event.slug}/next/", next_body(event), format="json")
    assert response.status_code == 201
    assert response.json()["follows"] == event.slug and response.json()["state"] == "planning"
    nxt = Event.objects.get(slug="summit-next")
    assert nxt.follows == event and nxt.feeds.count() == event.feeds.count()
    shown = lead_api.get("/api/v1/events/summit-next/").json()
    assert shown["follows"] == event.slug


def test_next_event_bad_input_is_a_400_naming_the_field(lead_api, event, lead, operator):
    finalize(event, lead, operator)
    url = f"/api/v1/events/{event.slug}/next/"
    naive = (event.end + timedelta(days=300)).replace(tzinfo=None).isoformat()
    cases = [
        (next_body(event, slug=event.slug), "slug"),
        (next_body(event, start=iso(event.start + timedelta(hours=1))), "start"),
        (next_body(event, start=naive), "start"),  # no zone
    ]
    for body, field in cases:
        response = lead_api.post(url, body, format="json")
        assert response.status_code == 400, body
        assert field in response.json()
    assert Event.objects.count() == 1


def test_viewers_and_operators_get_403_for_next(viewer_api, operator_api, event, lead, operator):
    finalize(event, lead, operator)
    for api in (viewer_api, operator_api):
        response = api.post(f"/api/v1/events/{event.slug}/next/", next_body(event), format="json")
        assert response.status_code == 403
    assert not Event.objects.filter(slug="summit-next").exists()


def test_next_for_an_unfinalized_event_needs_force(lead_api, event):
    url = f"/api/v1/events/{event.slug}/next/"
    refused = lead_api.post(url, next_body(event), format="json")
    assert refused.status_code == 400 and "force" in refused.json()
    forced = lead_api.post(url, next_body(event, force=True), format="json")
    assert forced.status_code == 201
    assert AuditLog.objects.filter(action="event.plan_next_forced", event=event).exists()


def test_finalize_api_lists_undecided_learnings_then_accepts_a_decision(
    lead_api, event, lead, operator
):
    learning = log(event, operator, body="Caption drift of 8 s")
    url = f"/api/v1/events/{event.slug}/retro/finalize/"
    end_show(event)
    refused = lead_api.post(url, {}, format="json")
    assert refused.status_code == 400
    assert any("Caption drift" in m for m in refused.json()["learnings"])
    no_reason = lead_api.post(
        f"/api/v1/entries/{learning.pk}/decision/", {"reason": ""}, format="json"
    )
    assert no_reason.status_code == 400 and "reason" in no_reason.json()
    assert not NoChangeDecision.objects.exists()
    decided = lead_api.post(
        f"/api/v1/entries/{learning.pk}/decision/", {"reason": "Vendor fixed it"}, format="json"
    )
    assert decided.status_code == 201 and decided.json()["no_change"]["by"] == "lead1"
    done = lead_api.post(url, {}, format="json")
    assert done.status_code == 200 and done.json()["retro_override_reason"] == ""
    event.refresh_from_db()
    assert event.retro_finalized


def test_a_decision_on_a_finalized_retro_is_a_409_not_a_500(lead_api, event, lead, operator):
    finalize(event, lead, operator)
    learning = Entry.objects.filter(event=event, kind=Entry.Kind.LEARNING).first()
    before = NoChangeDecision.objects.count()
    response = lead_api.post(
        f"/api/v1/entries/{learning.pk}/decision/", {"reason": "late"}, format="json"
    )
    assert response.status_code == 409
    assert "finalized" in response.json()["detail"]
    assert NoChangeDecision.objects.count() == before


def test_operators_cannot_record_no_change(operator_api, event, operator):
    learning = log(event, operator)
    response = operator_api.post(
        f"/api/v1/entries/{learning.pk}/decision/", {"reason": "fine"}, format="json"
    )
    assert response.status_code == 403
    assert not NoChangeDecision.objects.exists()


def test_recurrence_api_counts_suggests_and_links(operator_api, event, lead, operator):
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
    url = f"/api/v1/entries/{now.pk}/recurrence/"
    shown = operator_api.get(url).json()
    assert shown["label"] == "flagged at 2 of the last 2 events"
    assert [e["id"] for e in shown["seen_before"]] == [str(before.pk)]
    similar = operator_api.get(
        f"/api/v1/events/{event.slug}/similar/", {"q": "packet loss on contribution"}
    ).json()
    assert similar["seen_before"][0]["event"] == "summit-2025"
    linked = operator_api.post(url, {"earlier": str(before.pk)}, format="json")
    assert linked.status_code == 201
    assert RecurrenceLink.objects.get().earlier == before
    assert operator_api.get(url).json()["linked"][0]["id"] == str(before.pk)


def test_linking_an_entry_of_an_event_the_user_cannot_see_is_a_400(
    operator_api, event, operator, other_event
):
    now = log(event, operator)
    secret = Entry.objects.create(event=other_event, kind="learning", body="secret")
    response = operator_api.post(
        f"/api/v1/entries/{now.pk}/recurrence/", {"earlier": str(secret.pk)}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"earlier": ["No entry you can see has this id."]}
    assert not RecurrenceLink.objects.exists()


def test_outsiders_see_nothing_of_the_loop(outsider_api, event, operator):
    learning = log(event, operator)
    assert outsider_api.get(f"/api/v1/entries/{learning.pk}/recurrence/").status_code == 404
    assert (
        outsider_api.post(
            f"/api/v1/events/{event.slug}/next/", next_body(event), format="json"
        ).status_code
        == 404
    )
    assert outsider_api.post(f"/api/v1/events/{event.slug}/retro/finalize/").status_code == 404
