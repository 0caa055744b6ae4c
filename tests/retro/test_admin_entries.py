"""The admin's entries: times with the event's zone and UTC, tags as words, and a delete that
only hides (with a confirmation saying so) and can be undone."""

from datetime import timedelta
from zoneinfo import ZoneInfo

from retro import services
from retro.models import AuditLog, Entry, Event
from tests.conftest import KEYNOTE_START

LA = ZoneInfo("America/Los_Angeles")


def logged(event, author, **fields):
    entry, _ = services.log_entry(
        event=event,
        author=author,
        kind="learning",
        body="Caption drift of 8 s",
        occurred_at=KEYNOTE_START + timedelta(minutes=3),
        tags=["captions", "drift"],
        **fields,
    )
    return entry


def test_the_entry_list_shows_zones_and_tags_as_words(admin_client, event, operator):
    logged(event, operator)
    page = admin_client.get("/admin/retro/entry/").content.decode()
    local = (KEYNOTE_START + timedelta(minutes=3)).astimezone(LA)
    assert f"{local:%a %d %b %Y %H:%M} {local.tzname()}" in page
    assert f"{KEYNOTE_START + timedelta(minutes=3):%H:%M} UTC" in page
    assert "#captions, #drift" in page and '["captions", "drift"]' not in page


def test_the_admin_shows_an_entry_and_sends_edits_to_its_page(admin_client, event, operator):
    """One way to edit an entry: its page and the board, with history and the 409 check."""
    entry = logged(event, operator)
    url = f"/admin/retro/entry/{entry.pk}/change/"
    page = admin_client.get(url).content.decode()
    assert "#captions, #drift" in page and '["captions", "drift"]' not in page
    assert f'href="{entry.get_absolute_url()}"' in page and 'name="body"' not in page
    assert admin_client.post(url, {"body": "Rewritten in the admin"}).status_code == 403
    assert admin_client.get("/admin/retro/entry/add/").status_code == 403
    entry.refresh_from_db()
    assert entry.body == "Caption drift of 8 s" and entry.version == 1


def test_delete_in_the_admin_hides_and_restore_brings_back(
    admin_client, admin_user, event, operator
):
    entry = logged(event, operator)
    url = f"/admin/retro/entry/{entry.pk}/delete/"
    confirm = admin_client.get(url).content.decode()
    assert "hidden from the board" in confirm and "Restore" in confirm
    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    entry = Entry.objects.get(pk=entry.pk)  # still there
    assert entry.deleted_at is not None and entry.deleted_by == admin_user
    assert AuditLog.objects.filter(action="entry.delete", object_id=str(entry.pk)).exists()
    restored = admin_client.post(
        "/admin/retro/entry/",
        {"action": "restore_entries", "_selected_action": [str(entry.pk)]},
    )
    assert restored.status_code == 302
    entry.refresh_from_db()
    assert entry.deleted_at is None


def test_the_audit_log_is_read_only_with_zones(admin_client, event, operator):
    logged(event, operator)
    services.delete_entry(entry=Entry.objects.get(), actor=operator)
    line = AuditLog.objects.get(action="entry.delete")
    page = admin_client.get(f"/admin/retro/auditlog/{line.pk}/change/").content.decode()
    assert line.at.astimezone(LA).tzname() in page and "UTC" in page
    assert admin_client.get(f"/admin/retro/auditlog/{line.pk}/delete/").status_code == 403


def test_an_event_holding_a_record_cannot_be_deleted_from_the_admin(admin_client, event, operator):
    logged(event, operator)
    page = admin_client.get(f"/admin/retro/event/{event.pk}/change/").content.decode()
    assert "1 entries" in page and "closed (state), not deleted" in page
    assert f"/admin/retro/event/{event.pk}/delete/" not in page
    assert admin_client.get(f"/admin/retro/event/{event.pk}/delete/").status_code == 403
    assert (
        admin_client.post(f"/admin/retro/event/{event.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    changelist = admin_client.get("/admin/retro/event/").content.decode()
    assert "delete_selected" not in changelist
    refused = admin_client.post(
        "/admin/retro/event/", {"action": "delete_selected", "_selected_action": [event.pk]}
    )
    assert refused.status_code in (200, 302)
    assert Entry.objects.filter(event=event).count() == 1
    assert Event.objects.filter(pk=event.pk).exists()


def test_an_event_created_by_mistake_is_deleted_from_its_page(admin_client, admin_user):
    mistake = services.create_event(
        actor=admin_user,
        name="Tset Summit",
        slug="tset",
        time_zone="UTC",
        start=KEYNOTE_START,
        end=KEYNOTE_START + timedelta(days=1),
    )
    page = admin_client.get(f"/admin/retro/event/{mistake.pk}/change/").content.decode()
    assert "Nothing logged yet" in page
    assert f"/admin/retro/event/{mistake.pk}/delete/" in page
    done = admin_client.post(f"/admin/retro/event/{mistake.pk}/delete/", {"post": "yes"})
    assert done.status_code == 302
    assert not Event.objects.filter(pk=mistake.pk).exists()
