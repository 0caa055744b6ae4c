"""Action reminders before the due date, and the weekly digest of overdue actions."""

import time
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from retro import meeting, services, tasks
from retro.models import AuditLog, Entry, Event

from ..conftest import EVENT_START, make_user


def action(event, lead, owner, *, due_in_days, body="Raise SRT latency on the transatlantic path"):
    learning, _ = services.log_entry(
        event=event,
        author=lead,
        kind="learning",
        body=f"Because: {body}",
        occurred_at=event.start + timedelta(hours=2),
    )
    created = meeting.promote_learning_to_action(
        learning=learning,
        actor=lead,
        owner=owner,
        due=timezone.localdate() + timedelta(days=max(due_in_days, 0)),
        body=body,
    )
    if due_in_days < 0:
        created = services.edit_entry(
            entry=created,
            editor=lead,
            version=created.version,
            due=timezone.localdate() + timedelta(days=due_in_days),
        )
    return created


def test_owner_is_reminded_once_of_actions_falling_due(event, lead, operator, mailoutbox):
    soon = action(event, lead, operator, due_in_days=1, body="Fix caption drift monitor")
    also_soon = action(event, lead, operator, due_in_days=2, body="Add Polish subtitles")
    action(event, lead, operator, due_in_days=9, body="Later work")
    action(event, lead, operator, due_in_days=-2, body="Overdue work")

    assert tasks.send_due_reminders() == 1
    assert tasks.send_due_reminders() == 0

    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["operator1@example.test"]
    assert "2 actions due soon" in mail.subject
    assert "Fix caption drift monitor" in mail.body and "Add Polish subtitles" in mail.body
    assert "Later work" not in mail.body and "Overdue work" not in mail.body
    assert f"/events/summit/actions/#action-{soon.pk}" in mail.body
    assert (
        Entry.objects.filter(pk__in=[soon.pk, also_soon.pk], reminded_at__isnull=False).count() == 2
    )


def test_done_or_dropped_actions_are_not_reminded(event, lead, operator, mailoutbox):
    done = action(event, lead, operator, due_in_days=1)
    services.set_action_status(entry=done, status="done", actor=lead)
    dropped = action(event, lead, operator, due_in_days=1, body="Dropped work")
    services.set_action_status(entry=dropped, status="dropped", actor=lead)
    assert tasks.send_due_reminders() == 0
    assert mailoutbox == []


def test_each_owner_gets_their_own_reminder(event, lead, operator, mailoutbox):
    action(event, lead, operator, due_in_days=1, body="Operator's")
    action(event, lead, lead, due_in_days=0, body="Lead's")
    assert tasks.send_due_reminders() == 2
    by_to = {m.to[0]: m for m in mailoutbox}
    assert "Operator's" in by_to["operator1@example.test"].body
    assert "Lead's" in by_to["lead1@example.test"].body
    assert "Action due" in by_to["lead1@example.test"].subject


def test_weekly_digest_lists_each_owners_overdue_actions_once_a_week(
    event, lead, operator, mailoutbox
):
    action(event, lead, operator, due_in_days=-3, body="Hotel feed playout switched late")
    action(event, lead, operator, due_in_days=-10, body="Stream key rejected by the simulcast")
    action(event, lead, operator, due_in_days=4, body="Not overdue yet")
    action(event, lead, lead, due_in_days=-1, body="Lead overdue")

    assert tasks.send_weekly_digest() == 2
    assert tasks.send_weekly_digest() == 0  # a redelivered task sends nothing twice

    mail = next(m for m in mailoutbox if m.to == ["operator1@example.test"])
    assert "2 overdue actions" in mail.subject
    assert "Hotel feed playout switched late" in mail.body
    assert "Stream key rejected by the simulcast" in mail.body
    assert "Not overdue yet" not in mail.body and "Lead overdue" not in mail.body
    assert AuditLog.objects.filter(action="actions.digest").count() == 2
    next_week = timezone.now() + timedelta(days=7)
    assert meeting.send_weekly_digest(now=next_week) == 2


def test_overdue_actions_of_every_event_are_in_one_digest(event, lead, operator, mailoutbox):
    action(event, lead, operator, due_in_days=-3, body="From the summit")
    other = Event.objects.create(
        name="Winter Expo",
        slug="winter",
        start=EVENT_START,
        end=EVENT_START + timedelta(days=2),
    )
    services.set_membership(event=other, user=lead, role="lead", actor=None)
    services.set_membership(event=other, user=operator, role="operator", actor=None)
    action(other, lead, operator, due_in_days=-1, body="From the expo")
    assert tasks.send_weekly_digest() == 1
    operator_mails = [m for m in mailoutbox if m.to == ["operator1@example.test"]]
    assert len(operator_mails) == 1
    assert "From the summit" in operator_mails[0].body and "From the expo" in operator_mails[0].body


@pytest.mark.django_db(transaction=True)
def test_reminder_task_runs_on_a_real_worker(celery_worker):
    from retro.models import Event as Ev

    ev = Ev.objects.create(
        name="Worker Summit",
        slug=f"w-{uuid.uuid4().hex[:8]}",
        start=EVENT_START,
        end=EVENT_START + timedelta(days=2),
    )
    lead = make_user(f"lead-{ev.slug}")
    services.set_membership(event=ev, user=lead, role="lead", actor=None)
    due = action(ev, lead, lead, due_in_days=1, body="Proves the beat task runs")
    tasks.send_due_reminders.delay()
    deadline = timezone.now() + timedelta(seconds=30)
    while timezone.now() < deadline:
        due.refresh_from_db()
        if due.reminded_at is not None:
            break
        time.sleep(0.2)
    assert due.reminded_at is not None
    # the worker's email backend (console in development) printed the mail
    time.sleep(0.5)
    assert "Proves the beat task runs" in "".join(celery_worker.output)
