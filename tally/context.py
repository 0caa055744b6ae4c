"""Template context shared by every page."""

from django.conf import settings


def site_context(request) -> dict:
    """Expose what the base template needs."""
    return {
        "viewer_tz": getattr(request, "viewer_tz", None),
        "debug": settings.DEBUG,
    }
