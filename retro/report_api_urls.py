"""Report API, included under /api/v1/."""

from .reports.urls import api_patterns as urlpatterns

__all__ = ["urlpatterns"]
