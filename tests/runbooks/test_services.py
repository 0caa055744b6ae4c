from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils import timezone

from retro import services as retro_services
from retro.models import Entry
from runbooks import selectors, services
from runbooks.models import RunbookRevision, RunStep

from .conftest import BODY


def test_steps_are_task_items_grouped_under_their_headings():
    steps = services.parse_steps(BODY + "\n```\n- [ ] not a step in code\n```\n")
    assert [s.number for s in steps] == [1, 2, 3, 4]
    assert steps[1].heading == "Encoder"
    assert steps[2].heading == "Path"
    assert steps[1].text == "Set SRT latency to `600` ms (4x RTT)"


def test_every_save_is_a_new_revision_and_same_body_makes_none(runbook, lead):
    rev = services.save_revision(
        runbook=runbook, author=lead, body=BODY + "- [ ] Extra\n", base_revision=1, summary="x"
    )
    assert rev.number == 2
    again = services.save_revision(
        runbook=runbook, author=lead, body=BODY + "- [ ] Extra\n", base_revision=2
    )
    assert again.number == 2
    assert runbook.revisions.count() == 2


def test_saving_against_a_stale_base_is_a_conflict_not_an_overwrite(runbook, lead):
    services.save_revision(runbook=runbook, author=lead, body="- [ ] a", base_revision=1)
    with pytest.raises(services.StaleRevision) as err:
        services.save_revision(runbook=runbook, author=lead, body="- [ ] b", base_revision=1)
    assert err.value.current.number == 2
    runbook.refresh_from_db()
    assert runbook.current.body == "- [ ] a"


def test_restoring_an_old_revision_makes_a_new_one(runbook, lead):
    services.save_revision(runbook=runbook, author=lead, body="- [ ] a", base_revision=1)
    rev = services.restore_revision(runbook=runbook, number=1, author=lead)
    assert rev.number == 3
    assert rev.body == BODY
    assert "Restored revision 1" in rev.summary


def test_slug_clash_is_a_validation_error(runbook, lead):
    with pytest.raises(ValidationError) as err:
        services.create_runbook(
            title="Other", slug="contrib-bringup", stage="contribution", body="x", author=lead
        )
    assert "slug" in err.value.message_dict


def test_a_runbook_not_reviewed_within_its_interval_is_stale(runbook):
    assert not runbook.stale
    runbook.reviewed_at = timezone.now() - timedelta(days=91)
    assert runbook.stale


def test_run_records_revision_and_steps_and_finished_run_is_read_only(runbook, event, operator):
    run = services.start_run(runbook=runbook, event=event, started_by=operator)
    assert run.revision.number == 1
    assert run.steps.count() == 4
    step = services.record_step(run=run, number=1, actor=operator, state="done")
    assert step.recorded_by == operator and step.recorded_at is not None
    services.record_step(run=run, number=2, actor=operator, state="skipped", reason="no RTT yet")
    with pytest.raises(Http404):
        services.record_step(run=run, number=99, actor=operator, state="done")
    with pytest.raises(ValidationError):
        services.record_step(run=run, number=3, actor=operator, state="skipped")
    services.finish_run(run=run, actor=operator)
    with pytest.raises(services.RunFinished):
        services.record_step(run=run, number=3, actor=operator, state="done")
    groups = selectors.step_groups(run)
    assert [h for h, _ in groups] == ["Encoder", "Path"]
    assert groups[0][1][0].seconds is not None


def test_a_run_on_a_newer_revision_says_the_runbook_changed(runbook, event, operator, lead):
    first = services.start_run(runbook=runbook, event=event, started_by=operator)
    assert selectors.changed_since_last_run(first) is None
    services.save_revision(runbook=runbook, author=lead, body=BODY + "- [ ] New", base_revision=1)
    runbook.refresh_from_db()
    second = services.start_run(runbook=runbook, event=event, started_by=operator)
    assert selectors.changed_since_last_run(second).number == 1
    assert second.steps.count() == 5


def _learning_and_action(event, lead):
    learning, _ = retro_services.log_entry(
        event=event,
        author=lead,
        kind="learning",
        body="SRT latency 120 ms too low for the ASL return",
    )
    action, _ = retro_services.log_entry(
        event=event,
        author=lead,
        kind="action",
        body="Update the contribution runbook: latency 4x RTT",
        source_entry=learning,
    )
    return learning, action


def test_an_action_pointing_to_a_runbook_is_done_when_a_revision_references_it(
    runbook, event, lead
):
    learning, action = _learning_and_action(event, lead)
    services.link_entry(entry=action, runbook=runbook, actor=lead, step_ref="Set SRT latency")
    rev = services.save_revision(
        runbook=runbook,
        author=lead,
        body=BODY.replace("`600`", "`480`"),
        base_revision=1,
        summary="Latency from RTT",
        entries=[learning],
    )
    action.refresh_from_db()
    assert action.status == Entry.Status.DONE
    assert list(rev.entries.all()) == [learning]
    touching = selectors.entries_touching(runbook, lead)
    assert {t["entry"].pk for t in touching} == {learning.pk, action.pk}
    info = selectors.links_for_entry(learning)
    assert info.revisions == [rev]


def test_entries_of_events_the_viewer_cannot_see_are_not_listed(
    runbook, event, lead, other_event, outsider
):
    learning, _ = _learning_and_action(event, lead)
    services.save_revision(
        runbook=runbook, author=lead, body="- [ ] x", base_revision=1, entries=[learning]
    )
    assert selectors.entries_touching(runbook, outsider) == []
    revs = selectors.revisions_with_entries(runbook, outsider)
    assert all(r.visible_entries == [] for r in revs)


def test_timeline_lists_runs_and_check_offs(runbook, event, operator):
    run = services.start_run(runbook=runbook, event=event, started_by=operator)
    services.record_step(run=run, number=1, actor=operator, state="done")
    items = selectors.timeline_items(event)
    labels = [label for _, label, _ in items]
    assert labels[0].startswith("Runbook run started")
    assert "step 1 done" in labels[1]
    assert items[1][2].endswith("#step-1")


def test_revision_numbers_are_unique_per_runbook(runbook):
    assert RunbookRevision.objects.filter(runbook=runbook).count() == 1
    assert RunStep.State.DONE == "done"


def test_a_run_stores_each_step_rendered_and_sanitized_once(runbook, event, operator, lead):
    body = BODY + "- [ ] Open [the panel](javascript:alert(1)) <script>x()</script> **now**\n"
    services.save_revision(runbook=runbook, author=lead, body=body, base_revision=1)
    runbook.refresh_from_db()
    run = services.start_run(runbook=runbook, event=event, started_by=operator)
    steps = list(run.steps.order_by("number"))
    assert len(steps) == 5
    assert "<code>600</code>" in steps[1].html
    assert "<strong>now</strong>" in steps[-1].html
    assert "<script" not in steps[-1].html and "javascript:" not in steps[-1].html
