"""Tally's own metrics for Prometheus: ``GET /metrics`` in the text exposition format.

Counted in-process (prometheus-client): request latency by URL name (RequestMetricsMiddleware)
and whatever the apps count (integrations.metrics: samples, batches and lag per format).
Computed at scrape time, never stored: gauges that come from the database or the broker (the
apps register them with ``on_scrape``; Celery queue depth is here).

Several processes (gunicorn workers, Celery workers and their children) count at once, so with
a broker configured prometheus-client runs in multiprocess mode: each process writes its values
to files in ``PROMETHEUS_MULTIPROC_DIR`` (default ``$TALLY_DATA_DIR/prometheus/<queue prefix or
"default">``, set by tally.settings before prometheus-client is imported) and ``/metrics`` adds
them up. The first process to start after every process of the last run is gone empties the
folder (counters start again from zero, which Prometheus reads as a restart).

Access: ``Authorization: Bearer $TALLY_METRICS_TOKEN`` (compared in constant time) or a staff
session; anything else is a 401 (no or a wrong credential) or a 403 (signed in, not staff).
"""

from __future__ import annotations

import hmac
import logging
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from django.conf import settings
from django.http import HttpResponse
from django.urls import Resolver404, resolve

log = logging.getLogger(__name__)
_FILE_PID = re.compile(r"_(\d+)\.db$")


def configure() -> str | None:
    """Prepare the multiprocess folder when there is one (tally.settings sets
    PROMETHEUS_MULTIPROC_DIR when a broker is configured). Returns it, or None."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path:
        Path(path).mkdir(parents=True, exist_ok=True)
        clean_after_last_run(Path(path))
        if Path(path).parent == Path(settings.DATA_DIR) / "prometheus":
            sweep_finished_runs(Path(path).parent, keep=Path(path))
    return path or None


STALE_FOLDER = 24 * 3600


def fs_now(folder: Path) -> float:
    """The file system's clock (a new file's mtime): what folder mtimes compare with, also
    when faketime moves the process's clock but not the kernel's timestamps."""
    with tempfile.TemporaryFile(dir=folder) as probe:
        return os.fstat(probe.fileno()).st_mtime


def sweep_finished_runs(parent: Path, keep: Path) -> None:
    """Other queue prefixes' folders under the default parent (test runs, benchmarks): their
    files once every writer is gone, the empty folder a day later (a run just starting has
    made its folder but written nothing yet)."""
    now = fs_now(parent)
    for folder in parent.iterdir():
        if folder == keep or not folder.is_dir():
            continue
        try:
            stale = now - folder.stat().st_mtime > STALE_FOLDER
            clean_after_last_run(folder)
            if stale:
                folder.rmdir()  # only when empty
        except OSError:
            pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_after_last_run(folder: Path) -> int:
    """Remove the value files when none of the processes that wrote them runs any more (a new
    run of Tally); with one of them alive, keep all (its counters go on). Returns files removed."""
    files = [
        (path, int(m.group(1)))
        for path in folder.glob("*.db")
        if (m := _FILE_PID.search(path.name))
    ]
    if any(pid != os.getpid() and _alive(pid) for _, pid in files):
        return 0
    removed = 0
    for path, pid in files:
        if pid != os.getpid():
            path.unlink(missing_ok=True)
            removed += 1
    return removed


MULTIPROC_DIR = configure()

from prometheus_client import (  # noqa: E402 - after configure(): it picks the value class
    REGISTRY,
    CollectorRegistry,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client import exposition as _exposition  # noqa: E402
from prometheus_client.core import GaugeMetricFamily  # noqa: E402

# The classic text format (0.0.4), which every Prometheus 2.x reads.
CONTENT_TYPE = getattr(
    _exposition, "CONTENT_TYPE_PLAIN_0_0_4", "text/plain; version=0.0.4; charset=utf-8"
)

REQUEST_LATENCY = Histogram(
    "tally_http_request_duration_seconds",
    "Time to answer an HTTP request, by URL name, method and status class.",
    ["view", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def record(count: Callable[[], None]) -> None:
    """Count something without ever failing the work counted: when the multiprocess folder is
    gone (removed by hand while Tally runs), make it again and retry once, else log and drop."""
    try:
        count()
    except OSError:
        try:
            if MULTIPROC_DIR:
                Path(MULTIPROC_DIR).mkdir(parents=True, exist_ok=True)
            count()
        except OSError:
            log.warning("metrics not recorded: %s unusable", MULTIPROC_DIR, exc_info=True)


# --- Scrape-time gauges ----------------------------------------------------------

_scrapers: list[Callable[[], Iterable]] = []


def on_scrape(fn: Callable[[], Iterable]) -> Callable[[], Iterable]:
    """Register a function yielding metric families computed at scrape time (apps' ready())."""
    if fn not in _scrapers:
        _scrapers.append(fn)
    return fn


class _ScrapeCollector:
    """Runs the registered scrapers; one failing is logged and skipped, the rest still answer."""

    def collect(self):
        for fn in list(_scrapers):
            try:
                yield from fn()
            except Exception:
                log.exception("metrics scraper %s failed", getattr(fn, "__name__", fn))

    def describe(self):
        return []  # computed at scrape time: nothing to check at registration


def queue_names() -> list[str]:
    """Every Celery queue Tally routes tasks to (names carry TALLY_QUEUE_PREFIX)."""
    names = {settings.CELERY_TASK_DEFAULT_QUEUE}
    names.update(route["queue"] for route in settings.CELERY_TASK_ROUTES.values())
    return sorted(names)


def queue_depth():
    """Messages waiting in each queue: the Redis list lengths (kombu keeps priority levels in
    lists named queue + "\\x06\\x16" + level)."""
    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://", "unix://")):
        return
    import redis

    family = GaugeMetricFamily(
        "tally_queue_depth",
        "Celery messages waiting in a queue (queue named without prefix).",
        labels=["queue"],
    )
    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    try:
        with client.pipeline(transaction=False) as pipe:
            names = queue_names()
            for name in names:
                for suffix in ("", "\x06\x161", "\x06\x162", "\x06\x163", "\x06\x166", "\x06\x169"):
                    pipe.llen(name + suffix)
            lengths = pipe.execute()
    finally:
        client.close()
    per_queue = len(lengths) // len(names)
    for i, name in enumerate(names):
        depth = sum(lengths[i * per_queue : (i + 1) * per_queue])
        family.add_metric([name.removeprefix(settings.QUEUE_PREFIX)], depth)
    yield family


on_scrape(queue_depth)
_scrape_collector = _ScrapeCollector()
if MULTIPROC_DIR is None:
    REGISTRY.register(_scrape_collector)


def exposition() -> bytes:
    """The text exposition of every metric, all processes added up in multiprocess mode."""
    if MULTIPROC_DIR is None:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=MULTIPROC_DIR)
    registry.register(_scrape_collector)
    return generate_latest(registry)


# --- Access and the view ------------------------------------------------------------


def bearer_matches(request) -> bool:
    """True when the request carries ``Bearer <TALLY_METRICS_TOKEN>`` (constant-time compare)."""
    token = getattr(settings, "TALLY_METRICS_TOKEN", "")
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, given = header.partition(" ")
    if not token or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


def metrics_view(request):
    """GET /metrics: Prometheus text format, for the metrics token or a staff member."""
    if request.method not in ("GET", "HEAD"):
        return HttpResponse("Use GET.", status=405, headers={"Allow": "GET, HEAD"})
    if not bearer_matches(request):
        user = request.user
        if not user.is_authenticated:
            response = HttpResponse("Send Authorization: Bearer <TALLY_METRICS_TOKEN>.", status=401)
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
        if not user.is_staff:
            return HttpResponse("Metrics are for staff and the metrics token.", status=403)
    return HttpResponse(exposition(), content_type=CONTENT_TYPE)


# --- Request latency ------------------------------------------------------------------


def _view_name(request) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:  # answered by a middleware before URL resolution (413, 411, 503)
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return "unmatched"
    return match.view_name or "unnamed"


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RequestMetricsMiddleware:
    """Observe each request's duration, labelled by resolved URL name (never the raw path, whose
    slugs and ids would make a series per object)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        method = request.method if request.method in _METHODS else "other"
        labels = (_view_name(request), method, f"{response.status_code // 100}xx")
        elapsed = time.perf_counter() - started
        record(lambda: REQUEST_LATENCY.labels(*labels).observe(elapsed))
        return response
