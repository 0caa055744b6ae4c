"""The entry services every caller shares: once-only logging, validation, history, conflicts."""

import uuid
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from retro import services
from retro.models import Entry
from tests.conftest import TODAY

NEXT_YEAR = TODAY + timedelta(days=365)
LAST_YEAR = TODAY - timedelta(days=365)


def log(event, author, **fields):
    fields.setdefault("kind", "learning")
    fields.setdefault("body", "SRT latency too low on the ASL return")
    fields.setdefault("occurred_at", event.start + timedelta(hours=3))
    return services.log_entry(event=event, author=author, **fields)


def test_resend_with_the_same_id_logs_the_entry_once(event, operator):
    client_id = uuid.uuid4()
    first, created = log(event, operator, client_id=client_id)
    again, created_again = log(event, operator, client_id=client_id, body="changed on resend")
    assert created and not created_again
    assert again.pk == first.pk == client_id
    assert Entry.objects.count() == 1 and again.body.startswith("SRT latency")


def test_body_is_rendered_and_sanitized(event, operator):
    entry, _ = log(event, operator, body="**loss** on path A <script>alert(1)</script>")
    assert "<strong>loss</strong>" in entry.body_html
    assert "<script" not in entry.body_html


@pytest.mark.parametrize(
    "fields,field",
    [
        ({"body": "   "}, "body"),
        ({"body": "x" * 20_001}, "body"),
        ({"body": "nul\x00byte"}, "body"),
        ({"kind": "rant"}, "kind"),
        ({"kind": "win", "owner_is_member": True}, "owner"),
        ({"kind": "win", "due": NEXT_YEAR}, "due"),
        ({"kind": "action", "due": LAST_YEAR}, "due"),
        ({"kind": "win", "impact": "on_air"}, "impact"),
    ],
)
def test_bad_entries_are_refused_with_field_messages(event, operator, fields, field):
    if fields.pop("owner_is_member", False):
        fields["owner"] = operator
    with pytest.raises(ValidationError) as err:
        log(event, operator, **fields)
    assert field in err.value.message_dict
    assert not Entry.objects.exists()


def test_occurred_more_than_two_days_outside_the_event_is_refused(event, operator):
    with pytest.raises(ValidationError) as err:
        log(event, operator, occurred_at=event.end + timedelta(days=3))
    assert "occurred_at" in err.value.message_dict


def test_feed_of_another_event_is_refused(event, other_event, operator):
    from retro.models import Feed

    foreign = Feed.objects.create(event=other_event, slug="x", name="X", stage="handoff")
    with pytest.raises(ValidationError) as err:
        log(event, operator, feeds=[foreign])
    assert "feeds" in err.value.message_dict


def test_action_owner_must_be_a_member(event, operator, outsider):
    with pytest.raises(ValidationError) as err:
        log(event, operator, kind="action", owner=outsider)
    assert "owner" in err.value.message_dict


def test_edit_keeps_history_and_bumps_version(event, operator, lead):
    entry, _ = log(event, operator, feeds=[event.feeds.get(slug="kn1-asl")])
    edited = services.edit_entry(
        entry=entry, editor=lead, version=1, body="Raised latency to 400 ms"
    )
    assert edited.version == 2
    revision = edited.revisions.get()
    assert revision.editor == lead
    assert revision.changes["body"][1] == "Raised latency to 400 ms"
    assert edited.stage == "distribution"  # taken from the feed when not given


def test_stale_version_is_a_conflict_not_an_overwrite(event, operator, lead):
    entry, _ = log(event, operator)
    services.edit_entry(entry=entry, editor=lead, version=1, body="lead's text")
    with pytest.raises(services.StaleVersion):
        services.edit_entry(entry=entry, editor=operator, version=1, body="operator's text")
    assert Entry.objects.get(pk=entry.pk).body == "lead's text"


def test_soft_delete_and_restore(event, operator):
    entry, _ = log(event, operator)
    services.delete_entry(entry=entry, actor=operator)
    assert Entry.objects.get(pk=entry.pk).deleted_at is not None
    services.restore_entry(entry=entry, actor=operator)
    restored = Entry.objects.get(pk=entry.pk)
    assert restored.deleted_at is None and restored.version == 3


def test_finalized_retro_is_read_only_except_action_status(event, operator, lead):
    from django.utils import timezone

    action, _ = log(event, operator, kind="action", body="Raise SRT latency", owner=operator)
    event.retro_finalized_at = timezone.now()
    event.save()
    with pytest.raises(services.RetroFinalized):
        log(event, operator)
    with pytest.raises(services.RetroFinalized):
        services.edit_entry(entry=action, editor=lead, version=1, body="edited")
    done = services.set_action_status(entry=action, status="done", actor=operator)
    assert done.status == "done"


def test_the_default_time_on_an_event_that_ended_a_week_ago_says_what_to_do(operator, event):
    from django.utils import timezone

    week_ago = timezone.now() - timedelta(days=7)
    event.start, event.end = week_ago - timedelta(days=4), week_ago
    event.save()
    with pytest.raises(ValidationError) as err:
        services.log_entry(event=event, author=operator, kind="win", body="Clean handoff")
    message = err.value.message_dict["occurred_at"][0]
    assert message.startswith("No time was given, so now was used")
    assert "7 days after Test Summit ended" in message
    assert f"to {services.entry_window(event)[1].astimezone(event.tz):%a %d %b %Y}" in message
    at_the_time = week_ago - timedelta(hours=1)
    entry, created = services.log_entry(
        event=event, author=operator, kind="win", body="Clean handoff", occurred_at=at_the_time
    )
    assert created and entry.occurred_at == at_the_time


def test_a_time_far_from_the_event_names_the_gap_and_the_allowed_range(operator, event):
    with pytest.raises(ValidationError) as err:
        log(event, operator, occurred_at=event.start - timedelta(days=9))
    message = err.value.message_dict["occurred_at"][0]
    assert "9 days before Test Summit starts" in message
    assert "within 2 days of the event" in message and event.time_zone in message
