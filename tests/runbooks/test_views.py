from demo.runbooks import load_runbooks
from runbooks import services
from runbooks.models import Runbook, RunbookRun

from .conftest import BODY


def test_everyone_signed_in_reads_and_anonymous_is_sent_to_login(outsider_client, runbook):
    from django.test import Client

    assert Client().get("/runbooks/").status_code == 302
    page = outsider_client.get(f"/runbooks/{runbook.slug}/")
    assert page.status_code == 200
    assert "Set SRT latency" in page.content.decode()


def test_edit_form_with_a_stale_base_shows_the_newer_text(lead_client, runbook, lead):
    services.save_revision(
        runbook=runbook,
        author=lead,
        body=BODY + "- [ ] theirs\n",
        base_revision=1,
        summary="theirs",
    )
    form = {
        "title": runbook.title,
        "stage": "contribution",
        "review_days": 90,
        "body": BODY + "- [ ] mine\n",
        "summary": "mine",
        "base_revision": 1,
    }
    response = lead_client.post(f"/runbooks/{runbook.slug}/edit/", form)
    assert response.status_code == 409
    html = response.content.decode()
    assert "Someone saved revision 2" in html
    assert "theirs" in html and "mine" in html
    assert runbook.revisions.count() == 2


def test_viewer_cannot_edit_and_lead_edits(viewer_client, runbook):
    assert viewer_client.get(f"/runbooks/{runbook.slug}/edit/").status_code == 403


def test_diff_views_escape_text(lead_client, runbook, lead):
    services.save_revision(
        runbook=runbook, author=lead, body=BODY + "- [ ] <script>x()</script>\n", base_revision=1
    )
    for mode in ("side", "inline"):
        html = lead_client.get(
            f"/runbooks/{runbook.slug}/diff/?from=1&to=2&mode={mode}"
        ).content.decode()
        assert "&lt;script&gt;x()&lt;/script&gt;" in html
        assert "<script>x()" not in html


def test_operator_runs_from_the_page_and_a_finished_run_refuses_changes(
    operator_client, runbook, event
):
    response = operator_client.post(f"/runbooks/{runbook.slug}/start/", {"event": event.slug})
    run = RunbookRun.objects.get()
    assert response.url == f"/runbooks/runs/{run.pk}/"
    operator_client.post(f"/runbooks/runs/{run.pk}/steps/1/", {"action": "done"})
    operator_client.post(
        f"/runbooks/runs/{run.pk}/steps/2/", {"action": "skip", "reason": "B only today"}
    )
    operator_client.post(f"/runbooks/runs/{run.pk}/finish/")
    late = operator_client.post(f"/runbooks/runs/{run.pk}/steps/3/", {"action": "done"})
    assert late.status_code == 409
    assert (
        operator_client.post(f"/runbooks/runs/{run.pk}/steps/77/", {"action": "done"}).status_code
        == 404
    )
    page = operator_client.get(f"/runbooks/runs/{run.pk}/").content.decode()
    assert "took" in page and "B only today" in page


def test_demo_runbooks_load_once_with_an_outdated_run(db, event, lead):
    from django.contrib.auth import get_user_model

    from retro.models import Event

    Event.objects.filter(pk=event.pk).update(slug="demo")
    get_user_model().objects.filter(pk=lead.pk).update(username="lead")
    load_runbooks()
    load_runbooks()
    assert Runbook.objects.count() == 8
    contribution = Runbook.objects.get(slug="contribution-encoder-srt")
    assert contribution.revision_number == 3
    runs = RunbookRun.objects.filter(event__slug="demo")
    assert runs.count() == 3
    assert runs.filter(runbook=contribution, revision__number=1).exists()


def _entry(event, author, kind, body):
    from retro import services as retro_services

    entry, _ = retro_services.log_entry(event=event, author=author, kind=kind, body=body)
    return entry


def test_operator_links_a_learning_to_a_step_from_the_runbook_page(
    operator_client, operator, runbook, event, lead, other_event, admin_user
):
    from runbooks.models import RunbookLink

    learning = _entry(event, lead, "learning", "SRT latency 120 ms too low on the venue ISP")
    hidden = _entry(other_event, admin_user, "learning", "Secret learning of another event")
    page = operator_client.get(f"/runbooks/{runbook.slug}/").content.decode()
    assert "Link a learning or action" in page
    assert "Encoder: Set SRT latency to `600` ms (4x RTT)" in page
    picked = operator_client.get("/runbooks/entry-picker/", {"for": "link"})
    ids = [r["id"] for r in picked.json()["results"]]
    assert str(learning.pk) in ids
    assert str(hidden.pk) not in ids  # the picker offers only events the operator runs
    response = operator_client.post(
        f"/runbooks/{runbook.slug}/link/",
        {"entry": str(learning.pk), "step": "Encoder: Set SRT latency to `600` ms (4x RTT)"},
    )
    assert response.status_code == 302
    assert response.url == f"/runbooks/{runbook.slug}/#learnings-h"
    link = RunbookLink.objects.get()
    assert (link.entry, link.runbook, link.created_by) == (learning, runbook, operator)
    assert link.step_ref == "Encoder: Set SRT latency to `600` ms (4x RTT)"
    after = operator_client.get(f"/runbooks/{runbook.slug}/").content.decode()
    assert "step “Encoder: Set SRT latency to `600` ms (4x RTT)”" in after


def test_only_operators_of_the_entrys_event_link_it(viewer_client, outsider, runbook, event, lead):
    from django.test import Client

    from runbooks.models import RunbookLink

    outsider_client = Client()
    outsider_client.force_login(outsider)  # viewer_client and outsider_client share one client

    learning = _entry(event, lead, "learning", "Passphrase rotated too late")
    assert (
        "Link a learning or action"
        not in viewer_client.get(f"/runbooks/{runbook.slug}/").content.decode()
    )
    url = f"/runbooks/{runbook.slug}/link/"
    assert viewer_client.post(url, {"entry": str(learning.pk)}).status_code == 403
    assert outsider_client.post(url, {"entry": str(learning.pk)}).status_code == 404
    assert outsider_client.post(url, {"entry": "not-a-uuid"}).status_code == 404
    assert not RunbookLink.objects.exists()


def test_an_unknown_step_or_a_win_is_refused_with_a_message(operator_client, runbook, event, lead):
    from runbooks.models import RunbookLink

    learning = _entry(event, lead, "learning", "Latency")
    win = _entry(event, lead, "win", "Clean failover")
    url = f"/runbooks/{runbook.slug}/link/"
    bad_step = operator_client.post(
        url, {"entry": str(learning.pk), "step": "Made up"}, follow=True
    )
    assert "not in the current revision" in bad_step.content.decode()
    a_win = operator_client.post(url, {"entry": str(win.pk)}, follow=True)
    assert "Only learnings and actions point to runbooks" in a_win.content.decode()
    assert not RunbookLink.objects.exists()


def test_viewers_are_not_offered_a_run_of_an_event_others_operate(viewer_client, runbook, operator):
    page = viewer_client.get(f"/runbooks/{runbook.slug}/").content.decode()
    assert "Start run" not in page


def test_checklist_escapes_what_operators_typed_and_keeps_each_steps_form(
    operator_client, runbook, event
):
    operator_client.post(f"/runbooks/{runbook.slug}/start/", {"event": event.slug})
    run = RunbookRun.objects.get()
    base = f"/runbooks/runs/{run.pk}/steps"
    operator_client.post(f"{base}/1/", {"action": "note", "note": "<script>x()</script> n1"})
    operator_client.post(f"{base}/2/", {"action": "skip", "reason": '"><img src=x onerror=y>'})
    operator_client.post(f"{base}/3/", {"action": "skip", "reason": ""})  # needs a reason
    page = operator_client.get(f"/runbooks/runs/{run.pk}/").content.decode()
    assert "<script>x()" not in page and "&lt;script&gt;x()&lt;/script&gt; n1" in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=y&gt;" in page
    assert run.steps.get(number=3).state == "pending"
    # Pending steps: a Done form and one Skip/note form each, posting to their own step.
    assert page.count(f'action="{base}/4/"') == 2 and page.count(f'action="{base}/1/"') == 2
    assert page.count('name="csrfmiddlewaretoken"') >= 2 * 3 + 1
    assert "<h2>Encoder</h2>" in page and "<code>600</code>" in page
