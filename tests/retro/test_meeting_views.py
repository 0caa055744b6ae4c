"""Meeting mode pages: who may read, vote, merge, promote and finalize."""

from datetime import timedelta

import pytest
from django.utils import timezone

from retro import finalize, meeting, services
from retro.models import Entry, Vote
from tests.retro.shows import end_show


def log(event, author, **fields):
    fields.setdefault("kind", "learning")
    fields.setdefault("body", "Caption drift of 8 s on the English captions")
    fields.setdefault("occurred_at", event.start + timedelta(hours=3))
    entry, _ = services.log_entry(event=event, author=author, **fields)
    return entry


def url(event, name="", entry=None):
    base = f"/events/{event.slug}/retro/"
    return base + (f"{name}/{entry.pk}/" if entry is not None else (f"{name}/" if name else ""))


def test_meeting_groups_entries_by_stage_and_session(viewer_client, event, operator):
    session = event.sessions.get()
    log(event, operator, stage="contribution", session=session, body="SRT **loss** on path A")
    log(event, operator, kind="win", stage="distribution", body="Clean failover to B")
    response = viewer_client.get(url(event))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("Contribution") < html.index("Distribution")
    assert "Opening keynote" in html and "No session" in html
    assert "SRT <strong>loss</strong> on path A" in html
    assert "Vote</button>" not in html  # viewers read only


def test_meeting_page_query_count_does_not_grow_with_entries(
    lead_client, event, operator, django_assert_max_num_queries
):
    for n in range(30):
        log(event, operator, body=f"learning {n}", feeds=list(event.feeds.all()[:2]), tags=["srt"])
    with django_assert_max_num_queries(25):
        assert lead_client.get(url(event)).status_code == 200


@pytest.mark.parametrize(
    "who,vote,merge,promote,finalize",
    [
        ("viewer", 403, 403, 403, 403),
        ("operator", 302, 403, 403, 403),
        ("lead", 302, 302, 302, 400),  # finalize: not confirmed, the confirmation page again
        ("outsider", 404, 404, 404, 404),
    ],
)
def test_permissions_on_meeting_writes(
    client, event, lead, operator, viewer, outsider, who, vote, merge, promote, finalize
):
    user = {"viewer": viewer, "operator": operator, "lead": lead, "outsider": outsider}[who]
    client.force_login(user)
    a, b = log(event, operator), log(event, operator, body="caption drift again")
    due = (timezone.localdate() + timedelta(days=5)).isoformat()
    assert client.post(url(event, "vote", a)).status_code == vote
    assert client.post(url(event, "merge", b), {"keep": str(a.pk)[:8]}).status_code == merge
    r = client.post(url(event, "promote", a), {"owner": "operator1", "due": due})
    assert r.status_code == promote
    assert client.post(url(event, "finalize")).status_code == finalize
    assert Vote.objects.exists() == (vote == 302)
    assert Entry.objects.filter(merged_into=a).exists() == (merge == 302)
    assert Entry.objects.filter(kind="action", source_entry=a).exists() == (promote == 302)


def test_anonymous_gets_the_login_page(client, event):
    response = client.get(url(event))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_merge_by_short_reference_shows_the_duplicate_under_the_kept_entry(
    lead_client, event, operator
):
    keep = log(event, operator)
    dup = log(event, operator, body="Captions **lagging** 8 seconds")
    response = lead_client.post(url(event, "merge", dup), {"keep": f"#{str(keep.pk)[:8]}"})
    assert response.status_code == 302 and response["Location"].endswith(f"#entry-{keep.pk}")
    dup.refresh_from_db()
    assert dup.merged_into_id == keep.pk
    html = lead_client.get(url(event)).content.decode()
    assert "Merged duplicate" in html and "Captions <strong>lagging</strong> 8 seconds" in html


def test_promote_form_resend_creates_the_action_once(lead_client, event, operator):
    learning = log(event, operator)
    form = {
        "owner": "operator1",
        "due": (timezone.localdate() + timedelta(days=10)).isoformat(),
        "body": "Add a caption delay monitor",
        "client_id": "9b2f8f0e-8a43-4c55-9c3e-6f1b7b1d2a10",
    }
    lead_client.post(url(event, "promote", learning), form)
    lead_client.post(url(event, "promote", learning), form)
    action = Entry.objects.get(kind="action")
    assert action.body == "Add a caption delay monitor" and action.source_entry == learning


def test_promote_with_a_past_due_date_shows_the_message(lead_client, event, operator):
    learning = log(event, operator)
    form = {"owner": "operator1", "due": (timezone.localdate() - timedelta(days=7)).isoformat()}
    response = lead_client.post(url(event, "promote", learning), form, follow=True)
    assert "The due date is in the past." in response.content.decode()
    assert not Entry.objects.filter(kind="action").exists()


def test_finalizing_only_wins_asks_for_a_reason_then_accepts_it(lead_client, event, operator):
    log(event, operator, kind="win", body="Clean failover to the B path")
    end_show(event)
    page = lead_client.get(url(event)).content.decode()
    assert "only wins is not done" in page and 'id="finalize-link"' in page
    confirm = lead_client.get(url(event, "finalize")).content.decode()
    assert 'name="override_reason"' in confirm
    refused = lead_client.post(url(event, "finalize"), {"confirm": "1"}).content.decode()
    assert "a retro with only wins is not done" in refused
    event.refresh_from_db()
    assert not event.retro_finalized
    lead_client.post(
        url(event, "finalize"), {"confirm": "1", "override_reason": "Learnings live in INC-42"}
    )
    event.refresh_from_db()
    assert event.retro_override_reason == "Learnings live in INC-42"
    page = lead_client.get(url(event)).content.decode()
    assert "Finalized · read-only" in page and "Learnings live in INC-42" in page
    assert "/retro/merge/" not in page and "Vote</button>" not in page


def test_votes_after_finalizing_change_nothing(client, event, lead, operator):
    entry = log(event, operator)
    meeting.decide_no_change(learning=entry, actor=lead, reason="Known encoder quirk")
    finalize.finalize_retro(event=end_show(event), actor=lead)
    client.force_login(operator)
    response = client.post(url(event, "vote", entry), follow=True)
    assert "finalized" in response.content.decode()
    assert not Vote.objects.exists()
