"""The live checklist's server side: a resent tick changes nothing again, and every open
copy of a run learns the changed steps from the run's change number."""

from uuid import uuid4

from django.test import Client

from runbooks import services
from runbooks.models import RunStep, RunStepChange


def _run(runbook, event, operator):
    return services.start_run(runbook=runbook, event=event, started_by=operator)


def test_a_resent_tick_is_recorded_once_even_after_an_undo(operator_api, runbook, event, operator):
    run = _run(runbook, event, operator)
    url = f"/api/v1/runs/{run.pk}/steps/1/"
    tick = {"id": str(uuid4()), "state": "done"}
    first = operator_api.post(url, tick, format="json")
    undo = operator_api.post(url, {"id": str(uuid4()), "state": "pending"}, format="json")
    again = operator_api.post(url, tick, format="json")  # the offline queue retrying
    assert first.status_code == undo.status_code == again.status_code == 200
    assert again.json()["state"] == "pending"
    assert RunStep.objects.get(run=run, number=1).state == "pending"
    assert RunStepChange.objects.filter(run=run).count() == 2


def test_a_change_id_of_another_step_is_refused(operator_api, runbook, event, operator):
    run = _run(runbook, event, operator)
    change = str(uuid4())
    operator_api.post(f"/api/v1/runs/{run.pk}/steps/1/", {"id": change, "state": "done"})
    reused = operator_api.post(
        f"/api/v1/runs/{run.pk}/steps/2/", {"id": change, "state": "done"}, format="json"
    )
    assert reused.status_code == 400
    assert "id" in reused.json()
    assert RunStep.objects.get(run=run, number=2).state == "pending"


def test_changes_name_the_steps_changed_after_a_copys_cursor(
    viewer_client, runbook, event, operator
):
    operator_client = Client()  # the *_client fixtures share one client
    operator_client.force_login(operator)
    run = _run(runbook, event, operator)
    url = f"/runbooks/runs/{run.pk}/changes/"
    quiet = viewer_client.get(url, {"after": 0}).json()
    assert quiet == {"cursor": 0, "finished": False, "steps": []}
    services.record_step(run=run, number=2, actor=operator, state="done")
    services.record_step(run=run, number=3, actor=operator, note="ISP asked to confirm")
    seen = viewer_client.get(url, {"after": 0}).json()
    assert seen["cursor"] == 2
    assert [(s["number"], s["version"], s["state"]) for s in seen["steps"]] == [
        (2, 1, "done"),
        (3, 2, "pending"),
    ]
    assert 'id="step-2" class="rb-step state-done"' in seen["steps"][0]["html"]
    assert "ISP asked to confirm" in seen["steps"][1]["html"]
    # A viewer's rows have no buttons; an operator's do.
    assert "rb-done" not in seen["steps"][1]["html"]
    assert "rb-done" in operator_client.get(url, {"after": 1}).json()["steps"][0]["html"]
    later = viewer_client.get(url, {"after": 2}).json()
    assert later["steps"] == []
    asked = viewer_client.get(url, {"after": 2, "steps": "1"}).json()
    assert [s["number"] for s in asked["steps"]] == [1]
    services.finish_run(run=run, actor=operator)
    assert viewer_client.get(url, {"after": 2}).json()["finished"] is True
    assert viewer_client.get(url, {"after": "x"}).status_code == 400


def test_changes_are_for_members_of_the_runs_event_only(outsider_client, runbook, event, operator):
    run = _run(runbook, event, operator)
    assert outsider_client.get(f"/runbooks/runs/{run.pk}/changes/").status_code == 404
