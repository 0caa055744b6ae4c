"""A real slow-queue worker renders reports requested through the API."""

import pytest

from reports.models import Report
from tests.workers import wait_for

from .helpers import normalized, pdf_text, retro_entries

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def finished(api, pk):
    body = api.get(f"/api/v1/reports/{pk}/").json()
    return body if body["state"] in ("done", "failed") else None


def test_worker_renders_a_requested_pdf_and_it_downloads(
    celery_worker, lead_api, lead, operator, event
):
    retro_entries(event, lead, operator)
    response = lead_api.post("/api/v1/events/summit/reports/", {"format": "pdf"}, format="json")
    assert response.status_code == 202
    status = wait_for(lambda: finished(lead_api, response.json()["id"]), timeout=90)
    assert status["state"] == "done", status["error"]
    assert status["progress"] == 100
    download = lead_api.get(status["download_url"])
    assert download.status_code == 200
    text, pages = pdf_text(b"".join(download.streaming_content))
    assert "Failover to path B was seamless" in normalized(text)
    assert f"Page 1 of {pages}" in normalized(text)


def test_two_requests_at_once_for_the_same_event_both_complete(
    celery_worker, lead_api, lead, operator, event
):
    retro_entries(event, lead, operator)
    ids = [
        lead_api.post("/api/v1/events/summit/reports/", body, format="json").json()["id"]
        for body in ({"format": "pdf"}, {"format": "pdf", "variant": "external"})
    ]
    for pk in ids:
        status = wait_for(lambda pk=pk: finished(lead_api, pk), timeout=120)
        assert status["state"] == "done", status["error"]
    files = {r.file.name for r in Report.objects.filter(pk__in=ids)}
    assert len(files) == 2
