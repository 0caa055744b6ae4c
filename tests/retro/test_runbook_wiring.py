"""Runbooks on the retro pages: an entry shows the runbooks it points to and the revisions
it caused; runbook runs and step check-offs appear on the event timeline."""

from datetime import timedelta

from retro import services
from runbooks import services as runbook_services


def test_entry_page_shows_linked_runbook_and_the_revision_it_caused(
    viewer_client, event, operator, lead
):
    learning, _ = services.log_entry(
        event=event,
        author=operator,
        kind="learning",
        body="SRT latency too low on the transatlantic path",
        occurred_at=event.start + timedelta(hours=3),
    )
    runbook = runbook_services.create_runbook(
        title="Contribution encoder",
        stage="contribution",
        author=lead,
        body="# SRT\n- [ ] latency 120 ms\n",
    )
    runbook_services.link_entry(
        entry=learning, runbook=runbook, actor=operator, step_ref="SRT: latency"
    )
    runbook_services.save_revision(
        runbook=runbook,
        author=lead,
        body="# SRT\n- [ ] latency 400 ms\n",
        summary="Raise latency",
        base_revision=runbook.current.number,
        entries=[learning],
    )
    page = viewer_client.get(f"/entries/{learning.pk}/").content.decode()
    assert "Runbooks this entry points to" in page and "Contribution encoder" in page
    assert "Revisions it caused" in page and "r2" in page


def test_runbook_run_and_step_are_on_the_event_timeline(viewer_client, event, operator, lead):
    runbook = runbook_services.create_runbook(
        title="Handoff checklist",
        stage="handoff",
        author=lead,
        body="# Pre-show\n- [ ] call the OTT partner\n",
    )
    started = event.start + timedelta(hours=2, minutes=10)
    run = runbook_services.start_run(
        runbook=runbook, event=event, started_by=operator, started_at=started
    )
    runbook_services.record_step(
        run=run, number=1, state="done", actor=operator, at=started + timedelta(minutes=5)
    )
    day = started.astimezone(event.tz).date().isoformat()
    response = viewer_client.get(f"/events/{event.slug}/board/?view=timeline&day={day}")
    labels = [m["label"] for m in response.context["runbook_marks"]]
    assert any("Runbook run started: Handoff checklist" in label for label in labels)
    assert any("call the OTT partner" in label for label in labels)
    assert f"/runbooks/runs/{run.pk}/" in response.content.decode()
