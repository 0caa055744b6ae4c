"""Report pages, included at the site root."""

from django.urls import path

from . import views

urlpatterns = [
    path("events/<slug:slug>/reports/", views.event_reports, name="event-reports"),
]
