"""A renamed runbook's old addresses (bookmarks, links in entries, reports and chat) redirect
to where it lives now, pages and API alike; a runbook given that slug later takes it back."""

import pytest

from runbooks import services
from runbooks.models import Runbook, RunbookAlias

from .conftest import BODY

pytestmark = pytest.mark.django_db


def rename(runbook: Runbook, slug: str, author) -> Runbook:
    runbook.refresh_from_db()
    services.save_revision(
        runbook=runbook,
        body=runbook.current.body,
        author=author,
        base_revision=runbook.revision_number,
        slug=slug,
    )
    runbook.refresh_from_db()
    return runbook


def test_every_old_page_of_a_renamed_runbook_redirects_keeping_the_rest_of_the_address(
    operator_client, runbook, lead
):
    rename(runbook, "encoder-bringup", lead)
    cases = {
        "/runbooks/contrib-bringup/": "/runbooks/encoder-bringup/",
        "/runbooks/contrib-bringup/revisions/1/": "/runbooks/encoder-bringup/revisions/1/",
        "/runbooks/contrib-bringup/?revisions=all": "/runbooks/encoder-bringup/?revisions=all",
    }
    for old, new in cases.items():
        response = operator_client.get(old)
        assert (response.status_code, response["Location"]) == (301, new), old
        assert operator_client.get(new).status_code == 200


def test_the_api_answers_an_old_address_with_a_redirect_that_keeps_the_method(
    operator_api, lead_api, runbook, lead, event
):
    rename(runbook, "encoder-bringup", lead)
    got = operator_api.get("/api/v1/runbooks/contrib-bringup/")
    assert (got.status_code, got["Location"]) == (301, "/api/v1/runbooks/encoder-bringup/")
    posted = lead_api.post(
        "/api/v1/runbooks/contrib-bringup/runs/", {"event": event.slug}, format="json"
    )
    assert (posted.status_code, posted["Location"]) == (
        308,
        "/api/v1/runbooks/encoder-bringup/runs/",
    )
    assert not runbook.runs.exists()  # nothing done at the old address: the client re-sends
    followed = lead_api.post(posted["Location"], {"event": event.slug}, format="json")
    assert followed.status_code == 201


def test_renamed_twice_and_back_each_old_slug_leads_to_the_runbook_once(
    operator_client, runbook, lead
):
    rename(runbook, "encoder-bringup", lead)
    rename(runbook, "encoder-start", lead)
    for old in ("contrib-bringup", "encoder-bringup"):
        response = operator_client.get(f"/runbooks/{old}/")
        assert response["Location"] == "/runbooks/encoder-start/"  # no chain of redirects
    rename(runbook, "contrib-bringup", lead)
    assert operator_client.get("/runbooks/contrib-bringup/").status_code == 200
    assert set(RunbookAlias.objects.values_list("slug", flat=True)) == {
        "encoder-bringup",
        "encoder-start",
    }


def test_a_new_runbook_given_an_old_slug_takes_the_address(operator_client, runbook, lead):
    rename(runbook, "encoder-bringup", lead)
    other = services.create_runbook(
        title="Another", slug="contrib-bringup", stage="handoff", body=BODY, author=lead
    )
    response = operator_client.get("/runbooks/contrib-bringup/")
    assert response.status_code == 200 and response.context["runbook"] == other
    assert not RunbookAlias.objects.filter(slug="contrib-bringup").exists()


def test_an_old_address_tells_nothing_to_someone_signed_out(client, anon_api, runbook, lead):
    rename(runbook, "encoder-bringup", lead)
    page = client.get("/runbooks/contrib-bringup/")
    assert page.status_code == 302 and page["Location"].startswith("/accounts/login/")
    assert "encoder" not in page["Location"]
    assert anon_api.get("/api/v1/runbooks/contrib-bringup/").status_code in (401, 403)
