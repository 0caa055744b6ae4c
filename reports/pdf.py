"""The PDF: the report template rendered by WeasyPrint, which may load nothing but our own
static files (the print stylesheet, fonts).

Every other URL (file://, http(s)://, data:, paths outside static/, anything a redirect
would lead to) is refused by AllowlistFetcher and logged; WeasyPrint then leaves the
resource out and the PDF is still produced.
"""

import logging
import mimetypes
import re
from collections.abc import Callable
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

log = logging.getLogger("reports.fetch")
# WeasyPrint logs every laid-out page at INFO: hundreds of lines per report in the worker log.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)

# WeasyPrint resolves relative URLs against this base; nothing answers at it: the fetcher
# reads the files from disk through the staticfiles finders.
STATIC_BASE = "https://tally.internal/static/"
ALLOWED_SUFFIXES = {".css", ".woff", ".woff2", ".ttf", ".otf", ".svg", ".png"}


class BlockedResource(ValueError):
    """A URL outside the allowlist."""


class AllowlistFetcher(URLFetcher):
    """Serve our static files; refuse and log everything else (no network, no file://)."""

    def __init__(self):
        super().__init__(allowed_protocols=("https",), allow_redirects=False, timeout=1)
        self.blocked: list[str] = []
        self.served: list[str] = []

    def fetch(self, url, headers=None):
        path = self._static_path(url)
        if path is None:
            self.blocked.append(url)
            log.warning("report renderer refused to fetch %s", url[:300])
            raise BlockedResource(f"not an allowed resource: {url[:300]}")
        with open(path, "rb") as handle:
            body = handle.read()
        mime = mimetypes.guess_type(path)[0] or "application/octet-stream"
        self.served.append(url)
        return URLFetcherResponse(url, body, {"Content-Type": mime})

    @staticmethod
    def _static_path(url: str) -> str | None:
        """The file on disk for an allowed static URL, or None."""
        if not url.startswith(STATIC_BASE):
            return None
        parts = urlsplit(url)
        if parts.query or parts.fragment:
            return None
        relative = unquote(parts.path[len(urlsplit(STATIC_BASE).path) :])
        pure = PurePosixPath(relative)
        if pure.is_absolute() or ".." in pure.parts or "\\" in relative or "\x00" in relative:
            return None
        if pure.suffix.lower() not in ALLOWED_SUFFIXES:
            return None
        found = finders.find(str(pure))
        return found if isinstance(found, str) else None


# Markdown and HTML constructs that would load something if they reached a renderer.
_LOADS = re.compile(
    r"!\[[^\]]*\]\(\s*<?([^)\s>]+)|<\s*(?:img|link|iframe|object|embed|image|use|source)\b[^>]*?"
    r"(?:src|href|data)\s*=\s*[\"']?([^\"'\s>]+)|url\(\s*[\"']?([^\"')\s]+)|@import\s+[\"']([^\"']+)",
    re.IGNORECASE,
)


def resource_references(text: str) -> list[str]:
    """URLs that user text tries to load (images, url(), @import, embedded tags)."""
    return [next(g for g in m.groups() if g) for m in _LOADS.finditer(text or "")]


def log_user_references(content: dict) -> int:
    """Log every load attempt in the entries' raw Markdown (sanitizing already removed it)."""
    count = 0
    for row in content.get("timeline", {}).get("rows", []) or _all_rows(content):
        for url in resource_references(row["body"]):
            count += 1
            log.warning(
                "report: entry %s tries to load %s; sanitized, nothing fetched",
                row["ref"],
                url[:300],
            )
    return count


def _all_rows(content: dict) -> list[dict]:
    rows = []
    for stage in content.get("stages", {}).get("stages", []):
        for session in stage["sessions"]:
            rows += session["win"] + session["learning"] + session["action"]
    return rows


def css_string(text: str) -> str:
    """A CSS string literal for any text: everything but letters, digits and spaces escaped."""
    safe = "".join(
        c if (c.isalnum() and c.isascii()) or c == " " else f"\\{ord(c):06x}" for c in text
    )
    return f'"{safe}"'


def render_html(content: dict) -> str:
    """The report as HTML for print."""
    context = {**content, "css_event_name": css_string(content["event"]["name"])}
    return render_to_string("reports/report.html", {"r": context, "static_base": STATIC_BASE})


def html_to_pdf(html: str, progress: Callable[[int], None] | None = None) -> bytes:
    """Lay out and write the PDF through the allowlist fetcher."""
    progress = progress or (lambda pct: None)
    fetcher = AllowlistFetcher()
    document = HTML(string=html, base_url=STATIC_BASE, url_fetcher=fetcher).render()
    progress(70)
    data = document.write_pdf()
    progress(100)
    return data


def render_pdf(content: dict, progress: Callable[[int], None] | None = None) -> bytes:
    """The report content as a PDF."""
    log_user_references(content)
    return html_to_pdf(render_html(content), progress)
