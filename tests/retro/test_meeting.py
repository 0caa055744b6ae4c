"""Retro meeting services: merge, vote, learning → action, finalize."""

import uuid
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from retro import finalize, meeting, services
from retro.models import AuditLog, Entry, Vote
from tests.retro.shows import end_show


def log(event, author, **fields):
    fields.setdefault("kind", "learning")
    fields.setdefault("body", "Packet loss on the ASL return feed during the keynote")
    fields.setdefault("occurred_at", event.start + timedelta(hours=3))
    entry, _ = services.log_entry(event=event, author=author, **fields)
    return entry


def future(days=7):
    return timezone.localdate() + timedelta(days=days)


def test_merge_keeps_both_texts_and_every_link(event, lead, operator, viewer):
    contrib, asl = event.feeds.get(slug="kn1-contrib-a"), event.feeds.get(slug="kn1-asl")
    keep = log(event, operator, feeds=[contrib], tags=["srt"])
    dup = log(
        event,
        lead,
        body="ASL return dropped packets at 10:05",
        feeds=[asl],
        tags=["asl", "srt"],
        session=event.sessions.get(),
        impact="on_air",
    )
    action = meeting.promote_learning_to_action(
        learning=dup, actor=lead, owner=operator, due=future()
    )
    meeting.vote(entry=dup, user=viewer)
    meeting.vote(entry=dup, user=operator)
    meeting.vote(entry=keep, user=operator)

    kept = meeting.merge_entries(keep=keep, duplicate=dup, actor=lead)

    dup.refresh_from_db()
    action.refresh_from_db()
    assert dup.merged_into_id == kept.pk and dup.body == "ASL return dropped packets at 10:05"
    assert kept.body.startswith("Packet loss")
    assert set(kept.feeds.values_list("slug", flat=True)) == {"kn1-contrib-a", "kn1-asl"}
    assert kept.tags == ["srt", "asl"]
    assert kept.session_id == dup.session_id and kept.impact == "on_air"
    assert sorted(Vote.objects.filter(entry=kept).values_list("user__username", flat=True)) == [
        "operator1",
        "viewer1",
    ]
    assert not Vote.objects.filter(entry=dup).exists()
    assert action.source_entry_id == kept.pk
    assert list(kept.merged_entries.all()) == [dup]
    assert dup.revisions.filter(changes__has_key="merged_into").exists()
    assert AuditLog.objects.filter(action="entry.merge", object_id=str(dup.pk)).exists()


@pytest.mark.parametrize("case", ["self", "kind", "already_merged", "other_event"])
def test_merge_refuses_what_is_not_a_duplicate(event, other_event, lead, operator, case):
    keep = log(event, operator)
    if case == "self":
        dup = keep
    elif case == "kind":
        dup = log(event, operator, kind="win", body="Clean failover to the B path")
    elif case == "already_merged":
        dup = log(event, operator, body="same")
        meeting.merge_entries(keep=log(event, operator, body="third"), duplicate=dup, actor=lead)
    else:
        dup = log(other_event, lead, occurred_at=other_event.start + timedelta(hours=1))
    with pytest.raises(ValidationError):
        meeting.merge_entries(keep=keep, duplicate=dup, actor=lead)
    keep.refresh_from_db()
    assert keep.version == 1


def test_voting_twice_counts_once_and_can_be_taken_back(event, operator):
    entry = log(event, operator)
    meeting.vote(entry=entry, user=operator)
    meeting.vote(entry=entry, user=operator)
    assert entry.votes.count() == 1
    meeting.unvote(entry=entry, user=operator)
    assert entry.votes.count() == 0


def test_learning_becomes_an_action_linked_to_it(event, lead, operator):
    learning = log(event, operator, feeds=list(event.feeds.all()[:1]), stage="contribution")
    client_id = uuid.uuid4()
    action = meeting.promote_learning_to_action(
        learning=learning,
        actor=lead,
        owner=operator,
        due=future(),
        body="Raise SRT latency to 2000 ms on the transatlantic path",
        client_id=client_id,
    )
    again = meeting.promote_learning_to_action(
        learning=learning, actor=lead, owner=operator, due=future(), client_id=client_id
    )
    assert again.pk == action.pk == client_id
    assert action.kind == "action" and action.status == "open"
    assert action.owner == operator and action.source_entry == learning
    assert action.stage == "contribution"
    assert list(action.feeds.all()) == list(learning.feeds.all())
    assert Entry.objects.filter(kind="action").count() == 1


@pytest.mark.parametrize("field", ["owner", "due", "learning"])
def test_promote_needs_a_learning_an_owner_and_a_future_due_date(
    event, lead, operator, outsider, field
):
    learning = log(event, operator, kind="win" if field == "learning" else "learning")
    kwargs = {"owner": operator, "due": future()}
    if field == "owner":
        kwargs["owner"] = outsider  # not a member
    if field == "due":
        kwargs["due"] = timezone.localdate() - timedelta(days=3)
    with pytest.raises(ValidationError) as err:
        meeting.promote_learning_to_action(learning=learning, actor=lead, **kwargs)
    assert field in err.value.message_dict
    assert not Entry.objects.filter(kind="action").exists()


def test_a_retro_with_only_wins_is_refused(event, lead, operator):
    log(event, operator, kind="win", body="Clean failover to the B path")
    with pytest.raises(ValidationError) as err:
        finalize.finalize_retro(event=end_show(event), actor=lead)
    assert "only wins is not done" in err.value.message_dict["override_reason"][0]
    event.refresh_from_db()
    assert not event.retro_finalized


def test_a_lead_overrides_the_only_wins_rule_with_a_written_reason(event, lead, operator):
    log(event, operator, kind="win", body="Clean failover to the B path")
    finalize.finalize_retro(
        event=end_show(event), actor=lead, override_reason="Learnings are in the vendor doc"
    )
    event.refresh_from_db()
    assert event.retro_finalized and event.retro_finalized_by == lead
    assert event.retro_override_reason == "Learnings are in the vendor doc"
    line = AuditLog.objects.get(action="retro.finalize")
    assert line.changes["retro_override_reason"] == ["", "Learnings are in the vendor doc"]


def test_only_a_lead_finalizes(event, operator):
    log(event, operator)
    with pytest.raises(PermissionDenied):
        finalize.finalize_retro(event=end_show(event), actor=operator)


def test_a_finalized_retro_is_read_only_except_action_status(event, lead, operator):
    learning = log(event, operator)
    win = log(event, operator, kind="win", body="B path failover was clean")
    action = meeting.promote_learning_to_action(
        learning=learning, actor=lead, owner=operator, due=future()
    )
    finalize.finalize_retro(event=end_show(event), actor=lead)
    event.refresh_from_db()
    with pytest.raises(services.RetroFinalized):
        meeting.vote(entry=learning, user=operator)
    with pytest.raises(services.RetroFinalized):
        meeting.merge_entries(keep=learning, duplicate=log_dup(event, learning), actor=lead)
    with pytest.raises(services.RetroFinalized):
        meeting.promote_learning_to_action(
            learning=Entry.objects.get(pk=learning.pk), actor=lead, owner=operator, due=future()
        )
    with pytest.raises(services.RetroFinalized):
        services.edit_entry(entry=win, editor=lead, version=win.version, body="changed")
    done = services.set_action_status(entry=action, status="done", actor=operator)
    assert done.status == "done"


def log_dup(event, learning):
    return Entry.objects.filter(event=event).exclude(pk=learning.pk).first()


def test_a_lead_reopens_with_a_reason_and_an_operator_cannot(event, lead, operator):
    learning = log(event, operator)
    meeting.decide_no_change(learning=learning, actor=lead, reason="Vendor bug, fixed upstream")
    finalize.finalize_retro(event=end_show(event), actor=lead)
    with pytest.raises(PermissionDenied):
        finalize.reopen_retro(event=event, actor=operator, reason="I need to edit")
    with pytest.raises(ValidationError) as err:
        finalize.reopen_retro(event=event, actor=lead, reason="  ")
    assert "Say why" in err.value.message_dict["reason"][0]
    finalize.reopen_retro(event=event, actor=lead, reason="The vendor answered after the meeting")
    event.refresh_from_db()
    assert not event.retro_finalized
    line = AuditLog.objects.get(action="retro.reopen")
    assert line.actor == lead and line.changes["reason"] == "The vendor answered after the meeting"
