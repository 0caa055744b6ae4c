"""Report API, included under /api/v1/."""

from django.urls import path

from . import api

urlpatterns = [
    path("events/<slug:slug>/reports/", api.EventReportListApi.as_view(), name="api-event-reports"),
    path("reports/<int:pk>/", api.ReportDetailApi.as_view(), name="api-report"),
    path("reports/<int:pk>/download/", api.ReportDownloadApi.as_view(), name="api-report-download"),
]
