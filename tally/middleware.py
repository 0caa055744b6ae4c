"""Cross-cutting middleware: database outages, moved pages, security headers, the viewer's
time zone."""

import logging
import zoneinfo
from urllib.parse import unquote

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve
from django.utils import timezone

from .errors import Moved

log = logging.getLogger(__name__)

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def unavailable_response(request) -> HttpResponse:
    """A 503 the caller can act on: JSON for the API (Firehose retries 503), a page otherwise."""
    if request.path.startswith("/api/"):
        response = JsonResponse(
            {"detail": "The database is unreachable; nothing was stored. Retry shortly."},
            status=503,
        )
    else:
        response = HttpResponse(render_to_string("503.html"), status=503)
    response["Retry-After"] = "5"
    return response


class ServiceUnavailableMiddleware:
    """Turn a lost database connection into a clear 503 instead of a 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            return self.get_response(request)
        except (OperationalError, InterfaceError):
            log.exception("database unavailable")
            return unavailable_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, OperationalError | InterfaceError):
            log.exception("database unavailable")
            return unavailable_response(request)
        return None


class MovedMiddleware:
    """A page that moved (tally.errors.Moved, e.g. a renamed runbook) redirects to its new
    address: 301 for GET and HEAD, 308 (same method and body) otherwise."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, Moved):
            return None
        response = HttpResponseRedirect(exception.location(request))
        response.status_code = exception.status(request)
        return response


class ContentSecurityPolicyMiddleware:
    """Send a CSP without inline scripts on every response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", CSP)
        return response


class ViewerTimezoneMiddleware:
    """Activate the viewer's time zone, as the browser reported it in the tally_tz cookie."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        name = unquote(request.COOKIES.get("tally_tz", ""))  # the browser URL-encodes "/"
        try:
            timezone.activate(zoneinfo.ZoneInfo(name)) if name else timezone.deactivate()
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.deactivate()
        request.viewer_tz = timezone.get_current_timezone()
        return self.get_response(request)


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def nul_field(request) -> str | None:
    """The first query parameter or form field whose name or value holds a NUL character."""
    sources = [request.GET]
    if request.method == "POST" and request.content_type in FORM_TYPES:
        request.body  # noqa: B018 - keep the body readable for views that read it raw
        sources.append(request.POST)
    for params in sources:
        for name, values in params.lists():
            if "\x00" in name or any("\x00" in value for value in values):
                return name.replace("\x00", "\\0")
    return None


class RefuseNulMiddleware:
    """A NUL character has no meaning in any parameter or form field of Tally (and PostgreSQL
    cannot store one in text): refuse it with a 400 naming the field, before any view runs.
    JSON bodies are checked by tally.api.JSONParser; ingest bodies record by record."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        name = nul_field(request)
        if name is None:
            return self.get_response(request)
        message = f"{name} contains a NUL character."
        if request.path.startswith("/api/"):
            return JsonResponse({name: [message]}, status=400)
        return _refuse(request, 400, message)


class BodyLimitMiddleware:
    """Each endpoint reads at most the body it needs (settings.TALLY_BODY_LIMITS by URL name,
    TALLY_REQUEST_MAX_BYTES for the rest): a larger Content-Length is a 413 before anything
    is read or parsed. A body without a length (chunked) is a 411: ask for Content-Length."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        length = request.META.get("CONTENT_LENGTH") or ""
        chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
        if chunked and not length:
            return _refuse(request, 411, "Send the body with a Content-Length (no chunked upload).")
        limit = body_limit(request)
        if length.isdigit() and int(length) > limit:
            return _refuse(request, 413, f"The body is over this endpoint's {limit}-byte limit.")
        return self.get_response(request)


def body_limit(request) -> int:
    """The largest body the endpoint at this path takes."""
    try:
        name = resolve(request.path_info).view_name
    except Resolver404:
        name = ""
    limits = settings.TALLY_BODY_LIMITS
    return limits.get(name, settings.TALLY_REQUEST_MAX_BYTES)


def _refuse(request, status: int, message: str) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=status)
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
