"""Report API: request a report (202), follow its progress, download it.

Members of any role read reports of their events (viewers may download them); operators
request internal reports, leads the external (partner) variant.
"""

from django.http import FileResponse, Http404
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from retro import selectors as retro_selectors
from retro.models import Role
from tally.api import Conflict

from . import selectors, services
from .models import Report


class ReportSerializer(serializers.ModelSerializer):
    event = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    requested_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    download_url = serializers.SerializerMethodField()
    status_url = serializers.SerializerMethodField()

    class Meta:
        model = Report
        fields = [
            "id",
            "event",
            "format",
            "variant",
            "options",
            "state",
            "progress",
            "error",
            "size",
            "requested_by",
            "created_at",
            "started_at",
            "finished_at",
            "status_url",
            "download_url",
        ]

    def get_download_url(self, report: Report) -> str | None:
        if report.state != Report.State.DONE:
            return None
        return reverse("api-report-download", kwargs={"pk": report.pk})

    def get_status_url(self, report: Report) -> str:
        return reverse("api-report", kwargs={"pk": report.pk})


class ReportRequestSerializer(serializers.Serializer):
    format = serializers.CharField()
    variant = serializers.CharField(required=False, allow_blank=True)
    sections = serializers.JSONField(required=False)
    kinds = serializers.JSONField(required=False)
    stages = serializers.JSONField(required=False)
    sessions = serializers.JSONField(required=False)
    table = serializers.CharField(required=False, allow_blank=True)


class EventReportListApi(APIView):
    """An event's report versions (any member); POST requests a new one (202)."""

    @extend_schema(responses={200: ReportSerializer(many=True)})
    def get(self, request, slug):
        event = retro_selectors.event_for_user(request.user, slug)
        reports = list(selectors.reports_of(event)[:200])
        services.fail_stalled(reports)
        return Response(ReportSerializer(reports, many=True).data)

    @extend_schema(request=ReportRequestSerializer, responses={202: ReportSerializer})
    def post(self, request, slug):
        event = retro_selectors.event_for_user(request.user, slug, Role.OPERATOR)
        payload = ReportRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        report = services.request_report(
            event=event,
            user=request.user,
            format=data.pop("format"),
            variant=data.pop("variant", ""),
            options=data,
        )
        report.refresh_from_db()
        return Response(ReportSerializer(report).data, status=status.HTTP_202_ACCEPTED)


class ReportDetailApi(APIView):
    """A report's state, progress, error and download link."""

    @extend_schema(responses={200: ReportSerializer})
    def get(self, request, pk):
        report = selectors.report_for_user(request.user, pk)
        services.fail_stalled([report])
        return Response(ReportSerializer(report).data)


class ReportDownloadApi(APIView):
    """The report's file (409 until it is done)."""

    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    def get(self, request, pk):
        report = selectors.report_for_user(request.user, pk)
        return download(report)


def download(report: Report) -> FileResponse:
    """The stored file as an attachment; shared by the API and the page."""
    if report.state != Report.State.DONE or not report.file:
        raise Conflict(
            f"The report is {report.get_state_display().lower()}, not ready to download."
        )
    if not report.file.storage.exists(report.file.name):
        raise Http404("The report's file is gone; make the report again.")
    response = FileResponse(
        report.file.open("rb"),
        as_attachment=True,
        filename=services.file_name(report),
        content_type=services.CONTENT_TYPES[report.format],
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
