from runbooks import services
from runbooks.models import Runbook

from .conftest import BODY


def test_runbook_json_has_the_documented_fields(viewer_api, runbook):
    response = viewer_api.get(f"/api/v1/runbooks/{runbook.slug}/")
    assert response.status_code == 200
    assert set(response.json()) >= {
        "slug",
        "title",
        "stage",
        "owner",
        "applies_to",
        "review_days",
        "revision",
        "body",
        "body_html",
        "updated_at",
        "stale",
    }
    assert response.json()["revision"] == 1
    assert response.json()["owner"] == "lead1"


def test_lead_creates_a_runbook_and_a_slug_clash_is_400(lead_api, runbook):
    body = {"title": "Failover", "slug": "failover", "stage": "contribution", "body": "- [ ] go"}
    created = lead_api.post("/api/v1/runbooks/", body, format="json")
    assert created.status_code == 201
    clash = lead_api.post("/api/v1/runbooks/", {**body, "slug": runbook.slug}, format="json")
    assert clash.status_code == 400
    assert "slug" in clash.json()
    assert Runbook.objects.count() == 2


def test_viewers_and_operators_cannot_edit(viewer_api, operator_api, runbook):
    body = {"body": "- [ ] x", "base_revision": 1}
    assert (
        viewer_api.put(f"/api/v1/runbooks/{runbook.slug}/", body, format="json").status_code == 403
    )
    assert operator_api.post("/api/v1/runbooks/", {"title": "x"}, format="json").status_code == 403


def test_put_with_a_stale_base_revision_is_409(lead_api, runbook):
    url = f"/api/v1/runbooks/{runbook.slug}/"
    first = lead_api.put(
        url, {"body": "- [ ] a", "base_revision": 1, "summary": "a"}, format="json"
    )
    assert first.status_code == 200
    assert first.json()["revision"] == 2
    stale = lead_api.put(url, {"body": "- [ ] b", "base_revision": 1}, format="json")
    assert stale.status_code == 409
    assert stale.json()["revision"] == 2
    missing = lead_api.put(url, {"body": "- [ ] b"}, format="json")
    assert missing.status_code == 400


def test_revisions_and_diff(lead_api, runbook, lead):
    services.save_revision(
        runbook=runbook, author=lead, body=BODY.replace("600", "480"), base_revision=1
    )
    listing = lead_api.get(f"/api/v1/runbooks/{runbook.slug}/revisions/")
    assert [r["number"] for r in listing.json()] == [2, 1]
    one = lead_api.get(f"/api/v1/runbooks/{runbook.slug}/revisions/1/")
    assert one.json()["body"] == BODY
    assert lead_api.get(f"/api/v1/runbooks/{runbook.slug}/revisions/9/").status_code == 404
    diff = lead_api.get(f"/api/v1/runbooks/{runbook.slug}/diff/?from=1&to=2").json()
    assert diff["stats"] == {"added": 1, "removed": 1}
    assert "+- [ ] Set SRT latency to `480`" in diff["unified"]


def test_operator_runs_and_checks_steps_off(operator_api, viewer_api, runbook, event):
    started = operator_api.post(
        f"/api/v1/runbooks/{runbook.slug}/runs/",
        {"event": event.slug, "feed": "kn1-contrib-a"},
        format="json",
    )
    assert started.status_code == 201
    run = started.json()
    assert run["revision"] == 1 and run["feed"] == "kn1-contrib-a"
    assert len(run["steps"]) == 4
    url = f"/api/v1/runs/{run['id']}/steps/"
    done = operator_api.post(url + "1/", {"state": "done", "note": "locked"}, format="json")
    assert done.status_code == 200
    assert done.json()["recorded_by"] == "operator1"
    skipped = operator_api.post(url + "2/", {"state": "skipped"}, format="json")
    assert skipped.status_code == 400
    assert operator_api.post(url + "99/", {"state": "done"}, format="json").status_code == 404
    assert viewer_api.post(url + "3/", {"state": "done"}, format="json").status_code == 403
    assert (
        viewer_api.post(
            f"/api/v1/runbooks/{runbook.slug}/runs/", {"event": event.slug}, format="json"
        ).status_code
        == 403
    )
    operator_api.post(f"/api/v1/runs/{run['id']}/finish/")
    assert operator_api.post(url + "3/", {"state": "done"}, format="json").status_code == 409
    detail = viewer_api.get(f"/api/v1/runs/{run['id']}/").json()
    assert detail["steps"][0]["state"] == "done"
    assert detail["finished_at"]


def test_outsiders_cannot_see_runs(outsider_api, operator_api, runbook, event):
    run = operator_api.post(
        f"/api/v1/runbooks/{runbook.slug}/runs/", {"event": event.slug}, format="json"
    ).json()
    assert outsider_api.get(f"/api/v1/runs/{run['id']}/").status_code == 404
    assert (
        outsider_api.post(
            f"/api/v1/runbooks/{runbook.slug}/runs/", {"event": event.slug}, format="json"
        ).status_code
        == 404
    )


def test_anonymous_callers_get_401(anon_api, runbook):
    assert anon_api.get("/api/v1/runbooks/").status_code == 401
    assert anon_api.get("/api/v1/search/?q=srt").status_code == 401


def test_a_revision_cannot_close_actions_its_author_may_not_change(runbook, event, lead, viewer):
    """A lead of another event, a viewer here, cites this event's learning: the action that
    would close is refused by name, and nothing is saved."""
    from rest_framework.test import APIClient

    from retro import services as retro_services
    from retro.models import Entry, Event, Role

    elsewhere = Event.objects.create(
        name="Elsewhere", slug="elsewhere", start=event.start, end=event.end
    )
    retro_services.set_membership(event=elsewhere, user=viewer, role=Role.LEAD, actor=None)
    learning, _ = retro_services.log_entry(
        event=event, author=lead, kind="learning", body="SRT latency too low on ASL"
    )
    action, _ = retro_services.log_entry(
        event=event,
        author=lead,
        kind="action",
        body="Raise it",
        source_entry=learning,
        owner=lead,
    )
    services.link_entry(entry=action, runbook=runbook, actor=lead, step_ref="")
    client = APIClient()
    client.force_authenticate(viewer)
    body = {"body": "- [ ] changed", "base_revision": 1, "entries": [str(learning.pk)]}
    response = client.put(f"/api/v1/runbooks/{runbook.slug}/", body, format="json")
    assert response.status_code == 400
    assert str(action.pk)[:8] in response.json()["entries"][0]
    action.refresh_from_db()
    assert action.status == Entry.Status.OPEN
    assert runbook.revisions.count() == 1
    lead_client = APIClient()
    lead_client.force_authenticate(lead)
    ok = lead_client.put(f"/api/v1/runbooks/{runbook.slug}/", body, format="json")
    assert ok.status_code == 200
    action.refresh_from_db()
    assert action.status == Entry.Status.DONE
