"""Mail for real: reminders, the weekly digest and webhook-disabled notices go through Django's
SMTP backend to an aiosmtpd server on a free port; each person's mail choices are honoured."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from retro import meeting, notifications, services
from retro.models import MailPreference
from tally.times import in_zone
from webhooks.models import Webhook
from webhooks.notices import tell_leads_webhook_disabled

from ..conftest import make_user
from .smtp import smtp_server, smtp_settings


@pytest.fixture
def smtp():
    """(mails) received by a real SMTP server Django sends to during the test."""
    with smtp_server() as (port, mails), override_settings(**smtp_settings(port)):
        yield mails


def an_action(event, author, owner, body, *, due_in_days):
    today = timezone.localdate(timezone=event.tz)
    action, _ = services.log_entry(
        event=event,
        author=author,
        kind="action",
        body=body,
        owner=owner,
        due=today + timedelta(days=max(due_in_days, 0)),
        occurred_at=event.start + timedelta(hours=3),
    )
    if due_in_days < 0:
        action = services.edit_entry(
            entry=action,
            editor=author,
            version=action.version,
            due=today + timedelta(days=due_in_days),
        )
    return action


def test_a_reminder_reaches_the_owner_through_smtp(smtp, event, lead, operator):
    action = an_action(event, lead, operator, "Add a second SRT path for KN1", due_in_days=1)
    assert meeting.send_due_reminders() == 1
    [mail] = smtp
    assert mail.recipients == ["operator1@example.test"]
    assert (
        mail.subject == f"[Tally] Action due {action.due:%a %d %b}: Add a second SRT path for KN1"
    )
    assert "Add a second SRT path for KN1" in mail.body
    assert f"due {action.due:%a %d %b %Y}" in mail.body
    assert "America/Los_Angeles" in mail.body  # the day is the event's
    assert f"/events/summit/actions/#action-{action.pk}" in mail.body


def test_an_owner_who_turned_reminders_off_gets_none_and_others_still_do(
    smtp, event, lead, operator
):
    other = make_user("operator2")
    services.set_membership(event=event, user=other, role="operator", actor=lead)
    notifications.set_mail_preferences(user=operator, action_reminder=False)
    an_action(event, lead, operator, "Mine, muted", due_in_days=1)
    an_action(event, lead, other, "Theirs", due_in_days=1)
    assert meeting.send_due_reminders() == 1
    assert [m.recipients for m in smtp] == [["operator2@example.test"]]
    assert "Mine, muted" not in smtp[0].body


def test_the_weekly_digest_lists_overdue_actions_and_honours_the_choice(
    smtp, event, lead, operator
):
    an_action(event, lead, operator, "Overdue caption fix", due_in_days=-3)
    an_action(event, lead, lead, "Lead's overdue work", due_in_days=-2)
    notifications.set_mail_preferences(user=lead, weekly_digest=False)
    assert meeting.send_weekly_digest() == 1
    [mail] = smtp
    assert mail.recipients == ["operator1@example.test"]
    assert mail.subject == "[Tally] Weekly digest: 1 overdue action"
    assert "Overdue caption fix" in mail.body and "Lead's overdue work" not in mail.body
    assert "America/Los_Angeles" in mail.body


def test_leads_are_told_of_a_disabled_webhook_with_times_in_both_zones(smtp, event, lead):
    second = make_user("lead2")
    services.set_membership(event=event, user=second, role="lead", actor=lead)
    muted = make_user("lead3")
    services.set_membership(event=event, user=muted, role="lead", actor=lead)
    notifications.set_mail_preferences(user=muted, webhook_disabled=False)
    now = timezone.now()
    webhook = Webhook.objects.create(
        event=event,
        url="https://93.184.216.34/in",
        events=["entry.created"],
        secret="s",
        active=False,
        failing_since=now - timedelta(hours=24),
        disabled_at=now,
        disabled_reason="Failing for 24 h or more; last error: HTTP 503: down",
    )
    assert tell_leads_webhook_disabled(webhook.pk) == 2
    assert sorted(r for m in smtp for r in m.recipients) == [
        "lead1@example.test",
        "lead2@example.test",
    ]
    mail = smtp[0]
    assert mail.subject == "[Tally] Webhook of Test Summit disabled after failing"
    assert "https://93.184.216.34/in" in mail.body and "HTTP 503: down" in mail.body
    assert in_zone(webhook.failing_since, event, "date") in mail.body  # e.g. ... PST
    assert in_zone(webhook.failing_since, "UTC", "date") in mail.body  # ... UTC
    assert "/events/summit/settings/" in mail.body


def test_nobody_without_an_address_is_mailed(smtp, event, lead):
    lead.email = ""
    lead.save()
    webhook = Webhook.objects.create(
        event=event,
        url="https://93.184.216.34/",
        events=[],
        secret="s",
        active=False,
        failing_since=timezone.now(),
        disabled_at=timezone.now(),
    )
    assert tell_leads_webhook_disabled(webhook.pk) == 0
    assert smtp == []


# --- Choosing: the API and the page ----------------------------------------------------------

API = "/api/v1/me/notifications/"


def test_everyone_gets_every_kind_until_they_choose(operator_api):
    assert operator_api.get(API).json() == {
        "action_reminder": True,
        "weekly_digest": True,
        "webhook_disabled": True,
    }


def test_patch_turns_one_kind_off_and_keeps_the_others(operator_api, operator):
    response = operator_api.patch(API, {"weekly_digest": False}, format="json")
    assert response.status_code == 200
    assert response.json() == {
        "action_reminder": True,
        "weekly_digest": False,
        "webhook_disabled": True,
    }
    assert MailPreference.objects.get(user=operator).weekly_digest is False


@pytest.mark.parametrize(
    ("body", "field"), [({"sms": True}, "sms"), ({"weekly_digest": "maybe"}, "weekly_digest")]
)
def test_bad_choices_are_a_400_naming_the_field(operator_api, operator, body, field):
    response = operator_api.patch(API, body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not MailPreference.objects.exists()


def test_choices_need_a_signed_in_person(anon_api):
    assert anon_api.get(API).status_code == 401


def test_the_page_shows_and_saves_the_choices(operator_client, operator):
    assert b'href="/account/notifications/"' in operator_client.get("/").content  # every page
    page = operator_client.get("/account/notifications/")
    assert page.status_code == 200
    assert b'name="weekly_digest" checked' in page.content
    saved = operator_client.post("/account/notifications/", {"action_reminder": "on"})
    assert saved.status_code == 302
    assert notifications.mail_preferences(operator) == {
        "action_reminder": True,
        "weekly_digest": False,
        "webhook_disabled": False,
    }
