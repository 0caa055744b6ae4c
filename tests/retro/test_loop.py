"""The learning loop across events: finalize closes the loop, the next event is planned from
this one, carry-over follows the chain, recurrences and similar learnings are found."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from integrations.models import Anomaly
from retro import loop, meeting, planning, services
from retro.finalize import finalize_retro
from retro.models import AuditLog, Entry, Event, Feed, Membership, NoChangeDecision, RecurrenceLink
from runbooks import services as runbook_services
from tests.retro.shows import end_show


def log(event, author, **fields):
    fields.setdefault("kind", "learning")
    fields.setdefault("body", "Packet loss on the ASL return feed during the keynote")
    fields.setdefault("occurred_at", event.start + timedelta(hours=3))
    entry, _ = services.log_entry(event=event, author=author, **fields)
    return entry


def due():
    return timezone.localdate() + timedelta(days=7)


def last_year_of(event, lead, operator, *, slug="summit-2025", days=364):
    """The event as it ran `days` earlier (same sites and feed slugs), closed, and `event`
    planned to follow it."""
    earlier = Event.objects.create(
        name=f"Summit {slug}",
        slug=slug,
        time_zone=event.time_zone,
        start=event.start - timedelta(days=days),
        end=event.end - timedelta(days=days),
        state=Event.State.CLOSED,
    )
    for feed in event.feeds.all():
        Feed.objects.create(
            event=earlier,
            slug=feed.slug,
            name=feed.name,
            stage=feed.stage,
            origin=feed.origin,
            destination=feed.destination,
            transport=feed.transport,
        )
    services.set_membership(event=earlier, user=lead, role="lead", actor=None)
    services.set_membership(event=earlier, user=operator, role="operator", actor=None)
    Event.objects.filter(pk=event.pk).update(follows=earlier)
    event.refresh_from_db()
    return earlier


# --- Finalize closes the loop ---------------------------------------------------------


def test_an_empty_retro_cannot_be_finalized_even_with_a_reason(event, lead):
    with pytest.raises(ValidationError) as err:
        finalize_retro(event=end_show(event), actor=lead, override_reason="nothing happened")
    assert "no entries" in err.value.message_dict["entries"][0]
    event.refresh_from_db()
    assert not event.retro_finalized


def test_finalize_lists_learnings_without_a_decision_and_refuses(event, lead, operator):
    undecided = log(event, operator, body="Caption drift of 8 s on the English captions")
    with_action = log(event, operator, body="SRT latency too low on the transatlantic hop")
    meeting.promote_learning_to_action(learning=with_action, actor=lead, owner=operator, due=due())
    with pytest.raises(ValidationError) as err:
        finalize_retro(event=end_show(event), actor=lead)
    messages = err.value.message_dict["learnings"]
    assert messages[0].startswith("1 learning(s) have no decision")
    assert f"#{str(undecided.pk)[:8]}: Caption drift" in messages[1]
    assert len(messages) == 2
    event.refresh_from_db()
    assert not event.retro_finalized


def test_every_kind_of_decision_closes_a_learning(event, lead, operator):
    by_action = log(event, operator, body="SRT latency too low")
    by_runbook = log(event, operator, body="Failover took 40 s")
    by_no_change = log(event, operator, body="Hotel feed was fine")
    meeting.promote_learning_to_action(learning=by_action, actor=lead, owner=operator, due=due())
    runbook_services.create_runbook(
        title="Fail over to B",
        stage="contribution",
        author=lead,
        body="# Failover\n- [ ] switch within 10 s\n",
        entries=[by_runbook],
    )
    meeting.decide_no_change(learning=by_no_change, actor=lead, reason="Worked as designed")

    found = loop.decisions([by_action, by_runbook, by_no_change])
    assert found[by_action.pk].actions and found[by_runbook.pk].revisions[0].runbook == (
        "Fail over to B"
    )
    assert "no change needed (lead1): Worked as designed" in found[by_no_change.pk].summary
    finalize_retro(event=end_show(event), actor=lead)
    event.refresh_from_db()
    assert event.retro_finalized and event.retro_override_reason == ""


def test_a_dropped_action_is_not_a_decision(event, lead, operator):
    learning = log(event, operator)
    action = meeting.promote_learning_to_action(
        learning=learning, actor=lead, owner=operator, due=due()
    )
    services.set_action_status(entry=action, status="dropped", actor=lead)
    assert loop.undecided_learnings(event) == [learning]


def test_a_lead_overrides_undecided_learnings_with_a_reason_kept_in_the_audit(
    event, lead, operator
):
    learning = log(event, operator)
    finalize_retro(event=end_show(event), actor=lead, override_reason="Decided at the vendor call")
    event.refresh_from_db()
    assert event.retro_override_reason == "Decided at the vendor call"
    line = AuditLog.objects.get(action="retro.finalize")
    assert line.changes["undecided_learnings"] == [str(learning.pk)]
    assert "with an override: Decided at the vendor call" in line.summary


def test_the_wins_only_rule_stays(event, lead, operator):
    log(event, operator, kind="win", body="Clean failover")
    with pytest.raises(ValidationError) as err:
        finalize_retro(event=end_show(event), actor=lead)
    assert "only wins is not done" in err.value.message_dict["override_reason"][0]


def test_no_change_needs_a_reason_and_a_lead(event, lead, operator):
    learning = log(event, operator)
    with pytest.raises(ValidationError) as err:
        meeting.decide_no_change(learning=learning, actor=lead, reason="   ")
    assert "why" in err.value.message_dict["reason"][0]
    with pytest.raises(PermissionDenied):
        meeting.decide_no_change(learning=learning, actor=operator, reason="fine")
    assert not NoChangeDecision.objects.exists()
    meeting.decide_no_change(learning=learning, actor=lead, reason="fine")
    decision = NoChangeDecision.objects.get()
    assert decision.decided_by == lead and decision.reason == "fine"
    assert AuditLog.objects.filter(action="learning.no_change", object_id=str(learning.pk)).exists()


# --- Next event from this one -------------------------------------------------------------


def finalize(event, lead, operator):
    learning = log(event, operator)
    meeting.decide_no_change(learning=learning, actor=lead, reason="fine")
    finalize_retro(event=end_show(event), actor=lead)
    event.refresh_from_db()


def test_the_next_event_copies_the_signal_path_to_the_new_start(event, lead, operator, viewer):
    finalize(event, lead, operator)
    start = planning.shift_to(event.start, event, 364)
    lines = []
    nxt = planning.plan_next_event(
        event=event,
        actor=lead,
        slug="summit-next",
        name="Summit next",
        start=start,
        progress=lines.append,
    )
    assert nxt.follows == event and nxt.state == Event.State.PLANNING
    assert nxt.end - nxt.start == event.end - event.start
    old_kn, new_kn = event.sessions.get(), nxt.sessions.get()
    old_local = old_kn.scheduled_start.astimezone(event.tz)
    new_local = new_kn.scheduled_start.astimezone(event.tz)
    assert (new_local.hour, new_local.minute) == (old_local.hour, old_local.minute)
    assert (new_local.date() - old_local.date()).days == 364
    copies = {f.slug: f for f in nxt.feeds.all()}
    assert set(copies) == set(event.feeds.values_list("slug", flat=True))
    assert copies["kn1-contrib-a"].source_ids == ["srt://kn1-contrib-a"]
    assert copies["kn1-contrib-a"].session == new_kn
    assert [f.slug for f in copies["kn1-program"].derived_from.all()] == ["kn1-contrib-a"]
    assert copies["kn1-program"].derived_from.get().event == nxt
    roles = dict(Membership.objects.filter(event=nxt).values_list("user__username", "role"))
    assert roles == {"lead1": "lead", "operator1": "operator", "viewer1": "viewer"}
    assert lines == ["1 sessions copied", "3 feeds copied", "3 members copied"]
    assert AuditLog.objects.filter(action="event.plan_next", event=nxt).exists()


def test_the_planner_leads_the_next_event_whatever_their_role(event, lead, operator, admin_user):
    finalize(event, lead, operator)
    nxt = planning.plan_next_event(
        event=event, actor=admin_user, slug="n", name="N", start=event.end + timedelta(days=300)
    )
    assert Membership.objects.get(event=nxt, user=admin_user).role == "lead"
    assert Membership.objects.get(event=nxt, user=lead).role == "lead"


@pytest.mark.parametrize(
    ("field", "change"),
    [
        ("slug", {"slug": "summit"}),
        ("start", {"start_delta": timedelta(days=1)}),
        ("name", {"name": "  "}),
    ],
)
def test_bad_next_event_input_writes_nothing(event, lead, operator, field, change):
    finalize(event, lead, operator)
    before = Event.objects.count()
    args = {"slug": "next", "name": "Next", "start": event.end + timedelta(days=300)}
    if "start_delta" in change:
        args["start"] = event.start + change.pop("start_delta")
    args.update(change)
    with pytest.raises(ValidationError) as err:
        planning.plan_next_event(event=event, actor=lead, **args)
    assert field in err.value.message_dict
    assert Event.objects.count() == before


def test_viewers_and_operators_cannot_plan_the_next_event(event, lead, operator, viewer):
    finalize(event, lead, operator)
    for user in (operator, viewer):
        with pytest.raises(PermissionDenied):
            planning.plan_next_event(
                event=event, actor=user, slug="n", name="N", start=event.end + timedelta(days=1)
            )
    assert not Event.objects.filter(slug="n").exists()


def test_an_unfinalized_event_is_planned_from_only_with_force_and_it_is_recorded(event, lead):
    start = event.end + timedelta(days=300)
    with pytest.raises(ValidationError) as err:
        planning.plan_next_event(event=event, actor=lead, slug="n", name="N", start=start)
    assert "not finalized" in err.value.message_dict["force"][0]
    nxt = planning.plan_next_event(
        event=event, actor=lead, slug="n", name="N", start=start, force=True
    )
    assert nxt.follows == event
    assert AuditLog.objects.filter(action="event.plan_next_forced", event=event).exists()
    assert AuditLog.objects.get(action="event.plan_next").changes["forced"] == [None, True]


# --- Carry-over follows the chain -------------------------------------------------------


def test_carry_over_comes_from_the_chain_only(event, lead, operator, other_event):
    last = last_year_of(event, lead, operator)
    older = last_year_of(last, lead, operator, slug="summit-2024", days=364)
    # other_event ended long ago and is closed, but this event does not follow it
    Event.objects.filter(pk=other_event.pk).update(
        state=Event.State.CLOSED,
        start=event.start - timedelta(days=30),
        end=event.start - timedelta(days=28),
    )
    services.set_membership(event=other_event, user=lead, role="lead", actor=None)
    log(
        other_event,
        lead,
        kind="action",
        body="Not in the chain",
        owner=lead,
        due=due(),
        occurred_at=other_event.start + timedelta(hours=1),
    )
    log(
        last,
        lead,
        kind="action",
        body="From last year",
        owner=lead,
        due=due(),
        occurred_at=last.start + timedelta(hours=1),
    )
    log(
        older,
        lead,
        kind="action",
        body="From two years ago",
        owner=lead,
        due=due(),
        occurred_at=older.start + timedelta(hours=1),
    )
    carried = {a.body: a.event.slug for a in loop.carried_over_actions(event)}
    assert carried == {"From last year": "summit-2025", "From two years ago": "summit-2024"}


def test_the_board_says_open_since_for_an_action_carried_twice(
    viewer_client, event, lead, operator, viewer
):
    last = last_year_of(event, lead, operator)
    older = last_year_of(last, lead, operator, slug="summit-2024", days=364)
    for ev in (last, older):
        services.set_membership(event=ev, user=viewer, role="viewer", actor=None)
    log(
        older,
        lead,
        kind="action",
        body="Still open from 2024",
        owner=lead,
        due=due(),
        occurred_at=older.start + timedelta(hours=1),
    )
    log(
        last,
        lead,
        kind="action",
        body="Open from 2025",
        owner=lead,
        due=due(),
        occurred_at=last.start + timedelta(hours=1),
    )
    page = viewer_client.get(f"/events/{event.slug}/board/").content.decode()
    assert "Still open from 2024" in page and "open since summit-2024" in page
    assert "open since summit-2025" not in page


def test_the_board_opens_with_what_came_from_the_last_event(
    viewer_client, event, lead, operator, viewer
):
    last = last_year_of(event, lead, operator)
    services.set_membership(event=last, user=viewer, role="viewer", actor=None)
    waiting = log(last, operator, body="Subtitles lagged 12 s", occurred_at=last.start)
    meeting.promote_learning_to_action(learning=waiting, actor=lead, owner=operator, due=due())
    changed = log(last, operator, body="Failover too slow", occurred_at=last.start)
    runbook_services.create_runbook(
        title="Fail over to B",
        stage="contribution",
        author=lead,
        body="# Failover\n- [ ] switch within 10 s\n",
        summary="Faster failover",
        entries=[changed],
    )
    page = viewer_client.get(f"/events/{event.slug}/board/").content.decode()
    assert "Learnings whose action is not done" in page and "Subtitles lagged 12 s" in page
    assert "Changed since last event" in page and "Fail over to B r1" in page
    assert "Follow up: Subtitles lagged" in page  # its open action, carried over


# --- Recurrence -------------------------------------------------------------------


def test_a_place_flagged_at_earlier_events_counts_its_recurrence(event, lead, operator):
    last = last_year_of(event, lead, operator)
    older = last_year_of(last, lead, operator, slug="summit-2024", days=364)
    oldest = last_year_of(older, lead, operator, slug="summit-2023", days=364)
    contrib = event.feeds.get(slug="kn1-contrib-a")
    now = log(event, operator, feeds=[contrib])
    # 2025: a learning on the same feed slug; 2024: an anomaly at the same hop under
    # another slug; 2023: nothing there.
    log(last, operator, feeds=[last.feeds.get(slug="kn1-contrib-a")], occurred_at=last.start)
    renamed = older.feeds.get(slug="kn1-contrib-a")
    renamed.slug = "keynote-contrib-a"
    renamed.save()
    Anomaly.objects.create(
        event=older,
        feed=renamed,
        kind="packet_loss",
        key="loss",
        source="detector",
        start=older.start,
        end=older.start + timedelta(minutes=2),
    )
    log(oldest, operator, feeds=[oldest.feeds.get(slug="kn1-asl")], occurred_at=oldest.start)

    recurrence = loop.recurrence_of_feeds(event, [contrib])
    assert (recurrence.flagged, recurrence.of) == (3, 4)
    assert recurrence.events == ("summit-2025", "summit-2024")
    assert recurrence.label == "flagged at 3 of the last 4 events"
    assert loop.RecurrenceIndex(event).of([contrib]) == recurrence
    assert not loop.recurrence_of_feeds(event, [event.feeds.get(slug="kn1-program")]).recurred
    assert now.kind == "learning"


def test_similar_learnings_of_earlier_events_are_suggested(event, lead, operator, other_event):
    last = last_year_of(event, lead, operator)
    before = log(
        last,
        operator,
        body="SRT packet loss on the ASL return during the keynote",
        occurred_at=last.start,
    )
    log(last, operator, body="Hotel feed audio was fine", occurred_at=last.start)
    found = loop.similar_learnings(
        Event.objects.filter(pk__in=[last.pk]), event, "ASL return packet loss again at keynote"
    )
    assert found == [before]
    # an event the user cannot see suggests nothing
    assert loop.similar_learnings(Event.objects.none(), event, "ASL return packet loss") == []


def test_a_recurrence_link_needs_an_entry_the_user_can_see(event, lead, operator, other_event):
    last = last_year_of(event, lead, operator)
    now = log(event, operator)
    before = log(last, operator, occurred_at=last.start)
    secret = Entry.objects.create(event=other_event, kind="learning", body="secret")
    with pytest.raises(ValidationError) as err:
        planning.link_recurrence(entry=now, earlier=secret, actor=operator)
    assert "No entry you can see" in err.value.message_dict["earlier"][0]
    link = planning.link_recurrence(entry=now, earlier=before, actor=operator)
    again = planning.link_recurrence(entry=now, earlier=before, actor=operator)
    assert link.pk == again.pk and RecurrenceLink.objects.count() == 1
