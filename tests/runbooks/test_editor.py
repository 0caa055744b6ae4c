"""The runbook editor: a new slug is applied or refused with the reason (never a false
"Saved"), a sanitized preview from the revisions' renderer, the learnings behind a revision,
a search-as-you-type picker of learnings, and steps that name the run's own feeds."""

from datetime import timedelta

from django.test import Client

from demo.runbooks import load_runbooks
from retro import services as retro_services
from runbooks import services
from runbooks.models import Runbook, RunbookRun

from .conftest import BODY


def _form(runbook, **changes):
    data = {
        "title": runbook.title,
        "slug": runbook.slug,
        "stage": runbook.stage,
        "feed_kinds": "program",
        "sites": "venue",
        "owner": runbook.owner.username,
        "review_days": runbook.review_days,
        "body": runbook.current.body,
        "base_revision": runbook.revision_number,
        "summary": "",
    }
    data.update(changes)
    return data


def _client(user) -> Client:
    """A client of its own: the *_client fixtures share one, so one user at a time."""
    client = Client()
    client.force_login(user)
    return client


def _learning(event, author, body):
    entry, _ = retro_services.log_entry(
        event=event,
        author=author,
        kind="learning",
        body=body,
        occurred_at=event.start + timedelta(hours=2),
    )
    return entry


def test_a_new_slug_moves_the_runbook_and_says_so(lead_client, runbook):
    response = lead_client.post(
        f"/runbooks/{runbook.slug}/edit/", _form(runbook, slug="contrib-encoder"), follow=True
    )
    assert response.redirect_chain[-1][0] == "/runbooks/contrib-encoder/"
    assert "Its address is now /runbooks/contrib-encoder/" in response.content.decode()
    runbook.refresh_from_db()
    assert runbook.slug == "contrib-encoder" and runbook.revision_number == 1
    old = lead_client.get("/runbooks/contrib-bringup/")  # bookmarks and links still work
    assert (old.status_code, old["Location"]) == (301, "/runbooks/contrib-encoder/")


def test_a_taken_or_malformed_slug_is_refused_with_the_reason(lead_client, runbook, lead):
    services.create_runbook(title="Other", slug="other", stage="handoff", body=BODY, author=lead)
    taken = lead_client.post(f"/runbooks/{runbook.slug}/edit/", _form(runbook, slug="other"))
    assert taken.status_code == 400
    assert "A runbook with slug &#x27;other&#x27; already exists." in taken.content.decode()
    assert "Saved" not in taken.content.decode()
    upper = lead_client.post(f"/runbooks/{runbook.slug}/edit/", _form(runbook, slug="Contrib_B"))
    assert upper.status_code == 400
    assert "e.g. &#x27;contrib-b&#x27;" in upper.content.decode()
    reserved = lead_client.post(f"/runbooks/{runbook.slug}/edit/", _form(runbook, slug="preview"))
    assert reserved.status_code == 400
    assert Runbook.objects.get(pk=runbook.pk).slug == "contrib-bringup"


def test_saving_nothing_new_does_not_claim_a_save(lead_client, runbook):
    response = lead_client.post(f"/runbooks/{runbook.slug}/edit/", _form(runbook), follow=True)
    html = response.content.decode()
    assert "Nothing changed, so nothing was saved." in html
    assert "Saved as revision" not in html
    assert Runbook.objects.get(pk=runbook.pk).revision_number == 1


def test_the_api_renames_a_runbook_too(lead_api, runbook):
    response = lead_api.put(
        f"/api/v1/runbooks/{runbook.slug}/",
        {"base_revision": 1, "slug": "bring-up"},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["slug"] == "bring-up"
    taken = lead_api.put(
        "/api/v1/runbooks/bring-up/", {"base_revision": 1, "slug": "new"}, format="json"
    )
    assert taken.status_code == 400 and "reserved" in taken.json()["slug"][0]


def test_preview_is_the_sanitized_render_of_the_revision_renderer(lead, operator, runbook):
    lead_client, operator_client = _client(lead), _client(operator)
    body = "## Path\n- [ ] Check <script>alert(1)</script> **RTT**\n[x](javascript:alert(1))"
    response = lead_client.post("/runbooks/preview/", {"body": body})
    assert response.status_code == 200
    data = response.json()
    assert data["html"] == services.render_body(body)
    assert "<script" not in data["html"] and "javascript:" not in data["html"]
    assert "<strong>RTT</strong>" in data["html"] and data["steps"] == 1
    assert lead_client.post("/runbooks/preview/", {"body": " "}).status_code == 400
    assert operator_client.post("/runbooks/preview/", {"body": body}).status_code == 403


def test_the_editor_records_the_learnings_behind_a_revision(lead_client, runbook, event, lead):
    learning = _learning(event, lead, "SRT latency 120 ms lost packets")
    data = _form(runbook, body=BODY + "- [ ] Latency from RTT\n", summary="From the learning")
    data["entries"] = [str(learning.pk)]
    response = lead_client.post(f"/runbooks/{runbook.slug}/edit/", data, follow=True)
    assert "Saved as revision 2, citing 1 entry." in response.content.decode()
    revision = Runbook.objects.get(pk=runbook.pk).current
    assert list(revision.entries.all()) == [learning]
    unknown = _form(runbook, base_revision=2, body=BODY + "- [ ] more\n")
    unknown["entries"] = ["not-an-id"]
    refused = lead_client.post(f"/runbooks/{runbook.slug}/edit/", unknown)
    assert refused.status_code == 400 and "Unknown entries: not-an-id" in refused.content.decode()
    assert Runbook.objects.get(pk=runbook.pk).revision_number == 2


def test_the_learning_picker_searches_as_you_type(event, lead, operator, viewer, outsider):
    operator_client, viewer_client = _client(operator), _client(viewer)
    outsider_client = _client(outsider)
    for i in range(300):
        _learning(event, lead, f"Routine learning {i}")
    wanted = _learning(event, lead, "Captions lagged on the Spanish subtitles")
    found = operator_client.get("/runbooks/entry-picker/", {"q": "spanish lagged", "for": "link"})
    assert [r["id"] for r in found.json()["results"]] == [str(wanted.pk)]
    by_ref = operator_client.get("/runbooks/entry-picker/", {"q": str(wanted.pk)[:8]})
    assert [r["id"] for r in by_ref.json()["results"]] == [str(wanted.pk)]
    assert len(operator_client.get("/runbooks/entry-picker/").json()["results"]) == 20
    # Viewers see entries (a revision's learnings) but may not link them.
    assert viewer_client.get("/runbooks/entry-picker/", {"q": "spanish"}).json()["results"]
    linkable = viewer_client.get("/runbooks/entry-picker/", {"q": "spanish", "for": "link"})
    assert linkable.json()["results"] == []
    assert outsider_client.get("/runbooks/entry-picker/", {"q": "spanish"}).json() == {
        "results": []
    }


def test_the_runbook_page_offers_a_picker_not_a_list_of_every_entry(
    operator_client, runbook, event, lead
):
    for i in range(30):
        _learning(event, lead, f"Learning number {i}")
    html = operator_client.get(f"/runbooks/{runbook.slug}/").content.decode()
    assert 'id="link-entry-q"' in html and 'name="entry"' in html
    assert "Learning number 3" not in html


def test_a_run_names_the_feeds_of_its_own_session(db, event, lead, operator):
    load_runbooks()
    second = event.sessions.create(
        title="Second keynote",
        slug="kn2",
        kind="keynote",
        day=event.start.date(),
        scheduled_start=event.start + timedelta(days=1),
        scheduled_end=event.start + timedelta(days=1, hours=1),
    )
    feed = event.feeds.create(
        slug="kn2-contrib-a", name="KN2 A", stage="contribution", session=second, path="A"
    )
    failover = Runbook.objects.get(slug="contribution-failover-b")
    run = services.start_run(runbook=failover, event=event, started_by=operator, feed=feed)
    texts = " ".join(run.steps.values_list("text", flat=True))
    assert "`kn2-contrib-b`" in texts and "Failing kn2 contribution to B" in texts
    assert "kn1" not in texts and "{session}" not in texts
    assert RunbookRun.objects.get(pk=run.pk).session == second
    bare = services.start_run(runbook=failover, event=event, started_by=operator)
    assert "`{session}-contrib-b`" in " ".join(bare.steps.values_list("text", flat=True))
