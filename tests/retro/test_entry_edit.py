"""Every field of an entry is editable from its page and through the API, with history,
the audit log and the 409 of a stale version."""

from datetime import timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from retro import services
from retro.models import AuditLog, Entry, Site
from tests.conftest import KEYNOTE_START

LA = ZoneInfo("America/Los_Angeles")


def learning(event, author, **fields):
    entry, _ = services.log_entry(
        event=event,
        author=author,
        kind=fields.pop("kind", "learning"),
        body=fields.pop("body", "ASL return dropped frames"),
        occurred_at=KEYNOTE_START + timedelta(minutes=10),
        **fields,
    )
    return entry


def form_of(page) -> dict:
    """The edit form's fields as the page drew them (what a browser would send back)."""
    form = page.context["form"]
    data = {name: form[name].value() for name in form.fields}
    return {k: ("" if v is None else v) for k, v in data.items()}


def test_the_entry_page_edits_every_field_with_history_and_audit(operator_client, event, operator):
    entry = learning(event, operator, tags=["asl"])
    page = operator_client.get(f"/entries/{entry.pk}/")
    assert page.status_code == 200 and 'name="when_zone"' in page.content.decode()
    data = form_of(page)
    wall = (KEYNOTE_START + timedelta(minutes=25)).astimezone(LA).strftime("%Y-%m-%dT%H:%M")
    data.update(
        occurred_at=wall,
        when_zone="event",
        feeds="kn1-asl kn1-program",
        session="kn1",
        stage="distribution",
        site="bcr",
        impact="on_air",
        tags="asl, frames",
    )
    saved = operator_client.post(f"/entries/{entry.pk}/edit/", data)
    assert saved.status_code == 302
    entry.refresh_from_db()
    assert entry.occurred_at == KEYNOTE_START + timedelta(minutes=25)
    assert sorted(f.slug for f in entry.feeds.all()) == ["kn1-asl", "kn1-program"]
    assert entry.session.slug == "kn1" and entry.stage == "distribution"
    assert entry.site == Site.objects.get(slug="bcr") and entry.impact == "on_air"
    assert entry.tags == ["asl", "frames"] and entry.version == 2
    changed = entry.revisions.get(version=2).changes
    assert set(changed) == {"occurred_at", "feeds", "session", "stage", "site", "impact", "tags"}
    line = AuditLog.objects.get(action="entry.update", object_id=str(entry.pk))
    assert line.changes["tags"] == [["asl"], ["asl", "frames"]]


def test_an_unchanged_form_changes_nothing_not_even_the_seconds(operator_client, event, operator):
    entry, _ = services.log_entry(
        event=event, author=operator, kind="win", body="Clean failover", occurred_at=None
    )
    before = entry.occurred_at
    page = operator_client.get(f"/entries/{entry.pk}/")
    operator_client.post(f"/entries/{entry.pk}/edit/", form_of(page))
    entry.refresh_from_db()
    assert entry.occurred_at == before and entry.version == 1


def test_when_is_read_in_the_zone_picked_beside_it(operator_client, event, operator):
    entry = learning(event, operator)
    operator_client.cookies["tally_tz"] = "Europe/Dublin"
    data = form_of(operator_client.get(f"/entries/{entry.pk}/"))
    moment = KEYNOTE_START + timedelta(minutes=40)
    data.update(
        occurred_at=moment.astimezone(ZoneInfo("Europe/Dublin")).strftime("%Y-%m-%dT%H:%M:%S"),
        when_zone="viewer",
    )
    operator_client.post(f"/entries/{entry.pk}/edit/", data)
    entry.refresh_from_db()
    assert entry.occurred_at == moment


def test_action_fields_are_edited_on_the_actions_page(lead_client, event, lead, operator):
    action = learning(event, lead, kind="action", body="Raise SRT latency", owner=operator)
    data = form_of(lead_client.get(f"/entries/{action.pk}/"))
    due = timezone.localdate() + timedelta(days=10)
    data.update(owner=lead.username, due=due.isoformat(), status="in_progress")
    assert lead_client.post(f"/entries/{action.pk}/edit/", data).status_code == 302
    action.refresh_from_db()
    assert (action.owner, action.due, action.status) == (lead, due, "in_progress")


def test_a_stale_save_shows_their_values_and_keeps_mine(operator_client, lead, event, operator):
    entry = learning(event, operator)
    data = form_of(operator_client.get(f"/entries/{entry.pk}/"))
    services.edit_entry(entry=entry, editor=lead, version=1, stage="contribution")
    data.update(stage="handoff", tags="late")
    conflict = operator_client.post(f"/entries/{entry.pk}/edit/", data)
    html = conflict.content.decode()
    assert conflict.status_code == 409
    assert "Someone else changed this entry" in html and "contribution" in html
    assert conflict.context["form"]["version"].value() == 2  # saving again replaces theirs
    entry.refresh_from_db()
    assert entry.stage == "contribution" and entry.tags == []
    again = dict(data, version=2)
    assert operator_client.post(f"/entries/{entry.pk}/edit/", again).status_code == 302
    entry.refresh_from_db()
    assert entry.stage == "handoff" and entry.tags == ["late"] and entry.version == 3


def test_bad_values_come_back_with_field_messages(operator_client, event, operator):
    entry = learning(event, operator)
    data = form_of(operator_client.get(f"/entries/{entry.pk}/"))
    data.update(feeds="kn1-asl nope-feed", occurred_at="yesterday-ish")
    refused = operator_client.post(f"/entries/{entry.pk}/edit/", data)
    assert refused.status_code == 400
    assert "Give the date and the time" in refused.content.decode()
    data.update(occurred_at=form_of(operator_client.get(f"/entries/{entry.pk}/"))["occurred_at"])
    refused = operator_client.post(f"/entries/{entry.pk}/edit/", data)
    assert refused.status_code == 400 and "No feed nope-feed" in refused.content.decode()
    entry.refresh_from_db()
    assert entry.version == 1 and not entry.feeds.exists()


def test_others_cannot_edit(viewer_client, client, event, operator, lead):
    entry = learning(event, lead)
    assert viewer_client.post(f"/entries/{entry.pk}/edit/", {"version": 1}).status_code == 403
    client.force_login(operator)  # an operator edits their own entries only
    assert client.get(f"/entries/{entry.pk}/edit/form/").status_code == 403
    assert client.post(f"/entries/{entry.pk}/edit/", {"version": 1}).status_code == 403


def test_the_board_gets_the_same_form(operator_client, event, operator):
    entry = learning(event, operator)
    html = operator_client.get(f"/entries/{entry.pk}/edit/form/").content.decode()
    for name in ("body", "occurred_at", "when_zone", "feeds", "session", "stage", "site"):
        assert f'name="{name}"' in html
    assert 'name="impact"' in html and 'name="owner"' not in html  # a learning, no action


def test_the_api_patch_takes_every_field_and_answers_409_when_stale(
    operator_api, lead, event, operator
):
    entry = learning(event, operator)
    url = f"/api/v1/entries/{entry.pk}/"
    body = {
        "version": 1,
        "occurred_at": (KEYNOTE_START + timedelta(minutes=5)).isoformat(),
        "feeds": ["kn1-program"],
        "session": "kn1",
        "stage": "distribution",
        "site": "venue",
        "impact": "caught",
        "tags": ["srt"],
    }
    done = operator_api.patch(url, body, format="json")
    assert done.status_code == 200, done.json()
    assert done.json()["feeds"] == ["kn1-program"] and done.json()["site"] == "venue"
    stale = operator_api.patch(url, {"version": 1, "tags": ["x"]}, format="json")
    assert stale.status_code == 409 and stale.json()["current"]["tags"] == ["srt"]
    assert Entry.objects.get(pk=entry.pk).version == 2


def test_a_browser_dropping_zero_seconds_changes_nothing(operator_client, event, operator):
    entry = learning(event, operator)
    data = form_of(operator_client.get(f"/entries/{entry.pk}/"))
    assert data["occurred_at"].endswith(":00")
    data["occurred_at"] = data["occurred_at"][:16]  # what Chromium sends back
    assert operator_client.post(f"/entries/{entry.pk}/edit/", data).status_code == 302
    entry.refresh_from_db()
    assert entry.version == 1
