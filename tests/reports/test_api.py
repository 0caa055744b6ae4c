"""Report API: request (202), status, download; access by role; bad input named in a 400."""

import pytest

from reports import services
from reports.models import Report
from retro.models import AuditLog

from .helpers import normalized, pdf_text, retro_entries

pytestmark = pytest.mark.django_db


def post(client, slug="summit", **body):
    return client.post(f"/api/v1/events/{slug}/reports/", body, format="json")


def test_request_answers_202_and_keeps_a_queued_report(lead_api, event):
    response = post(lead_api, format="pdf", sections=["summary", "actions"])
    assert response.status_code == 202
    report = Report.objects.get(pk=response.json()["id"])
    assert report.state == Report.State.QUEUED
    assert report.options["sections"] == ["summary", "actions"]
    assert response.json()["status_url"] == f"/api/v1/reports/{report.pk}/"
    assert AuditLog.objects.filter(action="report.request", object_id=str(report.pk)).exists()


def test_unknown_event_is_404(lead_api, event):
    assert post(lead_api, slug="nope", format="pdf").status_code == 404


def test_outsider_gets_404_for_the_event_and_its_reports(outsider_api, lead, event):
    report = services.request_report(event=event, user=lead, format="md")
    assert post(outsider_api, format="pdf").status_code == 404
    assert outsider_api.get(f"/api/v1/reports/{report.pk}/").status_code == 404
    assert outsider_api.get(f"/api/v1/reports/{report.pk}/download/").status_code == 404


@pytest.mark.parametrize(
    ("body", "field", "named"),
    [
        ({"format": "docx"}, "format", "docx"),
        ({"format": "pdf", "variant": "partner"}, "variant", "partner"),
        ({"format": "pdf", "sections": ["summary", "gossip"]}, "sections", "gossip"),
        ({"format": "pdf", "kinds": ["rant"]}, "kinds", "rant"),
        ({"format": "pdf", "stages": ["first-mile"]}, "stages", "first-mile"),
        ({"format": "pdf", "sessions": ["kn9"]}, "sessions", "kn9"),
        ({"format": "csv", "table": "feeds"}, "table", "feeds"),
    ],
)
def test_unknown_values_are_a_400_naming_them(lead_api, event, body, field, named):
    response = post(lead_api, **body)
    assert response.status_code == 400
    assert named in " ".join(response.json()[field])
    assert not Report.objects.exists()


def test_viewer_cannot_request_and_operator_cannot_make_the_external_variant(
    viewer_api, operator_api, event
):
    assert post(viewer_api, format="pdf").status_code == 403
    assert post(operator_api, format="pdf", variant="external").status_code == 403
    assert post(operator_api, format="pdf").status_code == 202
    assert Report.objects.count() == 1


def test_viewer_downloads_an_internal_report_of_their_event(viewer_api, lead, operator, event):
    retro_entries(event, lead, operator)
    report = services.request_report(event=event, user=lead, format="pdf")
    early = viewer_api.get(f"/api/v1/reports/{report.pk}/download/")
    assert early.status_code == 409
    services.render_report(report_id=report.pk)
    status = viewer_api.get(f"/api/v1/reports/{report.pk}/").json()
    assert status["state"] == "done" and status["progress"] == 100 and status["error"] == ""
    download = viewer_api.get(status["download_url"])
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert "attachment" in download["Content-Disposition"]
    text, _ = pdf_text(b"".join(download.streaming_content))
    assert "Raise SRT latency to 4x RTT" in normalized(text)


def test_regenerating_keeps_every_version_with_its_options(lead_api, lead, event):
    first = post(lead_api, format="md").json()["id"]
    second = post(lead_api, format="md", variant="external", sections=["timeline"]).json()["id"]
    for pk in (first, second):
        services.render_report(report_id=pk)
    listed = lead_api.get("/api/v1/events/summit/reports/").json()
    assert [r["id"] for r in listed] == [second, first]
    assert listed[0]["variant"] == "external" and listed[0]["options"]["sections"] == ["timeline"]
    assert all(r["state"] == "done" and r["download_url"] for r in listed)


def test_a_report_whose_worker_died_is_failed_with_a_reason_not_rendered_again(lead, event):
    report = services.request_report(event=event, user=lead, format="pdf")
    Report.objects.filter(pk=report.pk).update(state=Report.State.RUNNING)
    again = services.render_report(report_id=report.pk)  # the message comes back after a kill
    assert again.state == Report.State.FAILED
    assert "stopped before it finished" in again.error
    assert "time limit" in again.error and "memory limit" in again.error


def test_a_report_running_past_its_hard_limit_reads_as_failed(lead_api, lead, event):
    from datetime import timedelta

    from django.utils import timezone

    report = services.request_report(event=event, user=lead, format="pdf")
    Report.objects.filter(pk=report.pk).update(
        state=Report.State.RUNNING, started_at=timezone.now() - timedelta(hours=2)
    )
    status = lead_api.get(f"/api/v1/reports/{report.pk}/").json()
    assert status["state"] == "failed"
    assert "stopped before it finished" in status["error"]


def test_memory_limit_turns_a_runaway_allocation_into_memory_error():
    with pytest.raises(MemoryError), services.memory_limit(64):
        bytearray(512 * 1024 * 1024)
    bytearray(128 * 1024 * 1024)  # the limit is lifted afterwards


def test_reports_page_lists_versions_and_offers_the_form(lead_client, lead, event):
    services.request_report(event=event, user=lead, format="json")
    page = lead_client.get("/events/summit/reports/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-status-url="/api/v1/reports/' in html
    assert "js/reports.js" in html
    assert 'value="external"' in html  # leads may make the partner variant


def test_reports_page_form_names_a_bad_section(operator_client, event):
    page = operator_client.post("/events/summit/reports/", {"format": "pdf", "sections": "gossip"})
    assert page.status_code == 400
    assert "gossip" in page.content.decode()
    assert not Report.objects.exists()


def test_viewer_sees_the_page_without_the_form(viewer_client, event):
    page = viewer_client.get("/events/summit/reports/")
    assert page.status_code == 200
    assert "Make report" not in page.content.decode()


def test_the_task_renders_in_process_when_celery_runs_eagerly(lead, event):
    from reports import tasks

    report = services.request_report(event=event, user=lead, format="json")
    tasks.render_report.apply(kwargs={"report_id": report.pk})  # as in the embedded mode
    report.refresh_from_db()
    assert report.state == Report.State.DONE and report.size > 0
