"""Report pages, included at the site root."""

from .reports.urls import page_patterns as urlpatterns

__all__ = ["urlpatterns"]
