from django.urls import path

from . import audit_views

urlpatterns = [
    path("events/<slug:slug>/audit/", audit_views.event_audit, name="event-audit"),
    path("audit/", audit_views.all_audit, name="audit-all"),
]
