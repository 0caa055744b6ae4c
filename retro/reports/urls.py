"""Routes of the reports page and API (included by retro.report_urls / retro.report_api_urls)."""

from django.urls import path

from . import api, views

page_patterns = [
    path("events/<slug:slug>/reports/", views.event_reports, name="event-reports"),
]

api_patterns = [
    path("events/<slug:slug>/reports/", api.EventReportListApi.as_view(), name="api-event-reports"),
    path("reports/<int:pk>/", api.ReportDetailApi.as_view(), name="api-report"),
    path("reports/<int:pk>/download/", api.ReportDownloadApi.as_view(), name="api-report-download"),
]
