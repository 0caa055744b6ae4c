"""The report's "since last event" section and the decision of every learning."""

import json
from datetime import timedelta

import pytest

from reports import content, services
from retro import finalize, meeting
from retro import services as retro_services
from runbooks import services as runbook_services
from tests.retro.test_loop import due, last_year_of, log

pytestmark = pytest.mark.django_db


def generate(event, fmt, **options):
    return services.generate(
        event, content.parse_options(event, format=fmt, variant="internal", options=options)
    )


def test_markdown_report_shows_what_the_last_event_left_and_every_decision(event, lead, operator):
    last = last_year_of(event, lead, operator)
    contrib = event.feeds.get(slug="kn1-contrib-a")
    old_learning = log(
        last,
        operator,
        body="Failover took 40 s",
        occurred_at=last.start,
        feeds=[last.feeds.get(slug="kn1-contrib-a")],
    )
    runbook_services.create_runbook(
        title="Fail over to B",
        stage="contribution",
        author=lead,
        body="# Failover\n- [ ] switch within 10 s\n",
        summary="Faster failover",
        entries=[old_learning],
    )
    done = meeting.promote_learning_to_action(
        learning=old_learning, actor=lead, owner=operator, due=due(), body="Drill the failover"
    )
    retro_services.set_action_status(entry=done, status="done", actor=lead)
    log(
        last,
        lead,
        kind="action",
        body="Buy a spare encoder",
        owner=operator,
        due=due(),
        occurred_at=last.start + timedelta(hours=1),
    )
    again = log(event, operator, body="Failover slow again", feeds=[contrib])
    undecided = log(event, operator, body="Captions lagged")
    meeting.decide_no_change(learning=again, actor=lead, reason="Within the new target")
    finalize.finalize_retro(event=event, actor=lead, override_reason="Captions decided offline")
    event.refresh_from_db()

    md = generate(event, "md").decode()
    since = md.split("## Since last event", 1)[1].split("\n## ", 1)[0]
    assert "Fail over to B r1: Faster failover" in since.replace("\\", "")
    assert "Its actions: 1 done, 1 open" in since
    assert f"#{str(done.pk)[:8]} done: Drill the failover" in since
    assert "flagged at 2 of the last 2 events" in since and "Failover slow again" in since
    # decisions are user text, Markdown-escaped like every name in the export
    assert r"decision: no change needed \(lead1\): Within the new target" in md
    assert f"`#{str(undecided.pk)[:8]}`" in md and "decision: no decision yet" in md
    assert "Reason given: Captions decided offline" in md

    data = json.loads(generate(event, "json"))
    assert data["since"]["last"]["slug"] == "summit-2025"
    assert data["summary"]["retro_override_reason"] == "Captions decided offline"


def test_an_event_that_follows_nothing_says_so(event, lead, operator):
    log(event, operator)
    md = generate(event, "md").decode()
    assert "This event does not follow an earlier one." in md
