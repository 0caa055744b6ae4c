"""Writes for reports: request one (queued for the slow worker), render it, fail it clearly."""

import contextlib
import errno
import logging
import os
import resource
import time
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.utils import timezone

from retro import audit, hooks, selectors
from retro.models import Event, Role

from . import content as report_content
from . import exports
from .models import Report

log = logging.getLogger(__name__)


# Limits of one render (settings may override): the Celery task's soft/hard time limits and
# how much address space a render may add to the worker child.
# Environment variables win over settings, so one worker can run with other limits.
def _limit(name: str, default: float) -> float:
    return float(os.environ.get(name) or getattr(settings, name, default))


TIME_LIMIT = _limit("TALLY_REPORT_TIME_LIMIT", 300)
SOFT_TIME_LIMIT = _limit("TALLY_REPORT_SOFT_TIME_LIMIT", max(TIME_LIMIT - 30, 1))
MEMORY_LIMIT_MB = int(_limit("TALLY_REPORT_MEMORY_LIMIT_MB", 1024))

CONTENT_TYPES = {
    Report.Format.PDF: "application/pdf",
    Report.Format.MARKDOWN: "text/markdown; charset=utf-8",
    Report.Format.CSV: "text/csv; charset=utf-8",
    Report.Format.JSON: "application/json",
}


TIME_LIMIT_REASON = "The report exceeded its time limit ({:g} s)."


class ReportLimitExceeded(Exception):
    """A render went past its time or memory limit."""


def check_may_request(user, event: Event, variant: str) -> None:
    """Operators and leads make internal reports; only leads make the partner (external) one."""
    needed = Role.LEAD if variant == Report.Variant.EXTERNAL else Role.OPERATOR
    if not selectors.has_role(user, event, needed):
        what = "an external (partner) report" if needed == Role.LEAD else "a report"
        raise PermissionDenied(f"Making {what} needs the {needed} role on {event.name}.")


@transaction.atomic
def request_report(*, event: Event, user, format: str, variant: str = "", options=None) -> Report:
    """Validate the options, keep a queued Report (earlier versions stay) and enqueue its render."""
    opts = report_content.parse_options(event, format=format, variant=variant, options=options)
    check_may_request(user, event, opts.variant)
    report = Report.objects.create(
        event=event,
        format=opts.format,
        variant=opts.variant,
        options=opts.as_json(),
        requested_by=user if user is not None and user.is_authenticated else None,
    )
    audit.record(
        actor=user,
        action="report.request",
        obj=report,
        event=event,
        summary=f"{report.get_format_display()} report ({report.get_variant_display()}) requested",
    )
    from . import tasks  # breaks the services <-> tasks cycle (tasks imports services)

    transaction.on_commit(lambda: tasks.render_report.delay(report_id=report.pk))
    return report


def _progress_writer(report_id: int) -> Callable[[int], None]:
    last = [0]

    def write(pct: int) -> None:
        pct = max(0, min(99, int(pct)))
        if pct > last[0]:
            last[0] = pct
            Report.objects.filter(pk=report_id, state=Report.State.RUNNING).update(progress=pct)

    return write


def _scaled(progress: Callable[[int], None], low: int, high: int) -> Callable[[int], None]:
    return lambda pct: progress(low + (high - low) * pct / 100)


def generate(
    event: Event, opts: report_content.ReportOptions, progress: Callable[[int], None] | None = None
) -> bytes:
    """The report file's bytes for the options; shared by the task and the command line."""
    progress = progress or (lambda pct: None)
    if opts.format == Report.Format.CSV:
        opts.sections = ["timeline"] if opts.table == "entries" else ["actions"]
    data = report_content.build_report(event, opts, _scaled(progress, 2, 40))
    if opts.format == Report.Format.PDF:
        from . import pdf  # WeasyPrint loads only where a PDF is made

        return pdf.render_pdf(data, _scaled(progress, 45, 97))
    if opts.format == Report.Format.MARKDOWN:
        return exports.to_markdown(data)
    if opts.format == Report.Format.JSON:
        return exports.to_json(data)
    return exports.entries_csv(data) if opts.table == "entries" else exports.actions_csv(data)


def options_of(report: Report) -> report_content.ReportOptions:
    """The stored options of a report, validated again (a session may have been removed)."""
    return report_content.parse_options(
        report.event, format=report.format, variant=report.variant, options=report.options
    )


def file_name(report: Report) -> str:
    extension = {"md": "md", "pdf": "pdf", "csv": "csv", "json": "json"}[report.format]
    table = f"-{report.options.get('table', 'entries')}" if report.format == "csv" else ""
    return f"{report.event.slug}-report-{report.pk}-{report.variant}{table}.{extension}"


def _out_of_memory(exc: BaseException | None) -> bool:
    """A MemoryError, or a library's error caused by one (e.g. the database driver's)."""
    seen = 0
    while exc is not None and seen < 10:
        message = str(exc).lower()
        if (
            isinstance(exc, MemoryError)
            or (isinstance(exc, OSError) and exc.errno == errno.ENOMEM)
            or "out of memory" in message
            or "cannot allocate memory" in message
            or "failed to map segment" in message
        ):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def fail_report(report_id: int, reason: str) -> None:
    """Mark a report failed with a reason a person can act on."""
    Report.objects.filter(pk=report_id).exclude(state=Report.State.DONE).update(
        state=Report.State.FAILED, error=reason[:2000], finished_at=timezone.now()
    )


def render_report(*, report_id: int, memory_limit_mb: int | None = None) -> Report | None:
    """Render a queued report once: claim it, build the file, store it; fail with a reason.

    With `memory_limit_mb` (worker children) the render runs under that address-space budget.

    A report found already running was claimed by a worker child that died (killed at its
    hard time limit or memory limit): it is failed, not rendered again and again.
    """
    claimed = Report.objects.filter(pk=report_id, state=Report.State.QUEUED).update(
        state=Report.State.RUNNING, started_at=timezone.now(), progress=1
    )
    if not claimed:
        report = Report.objects.filter(pk=report_id).first()
        if report is not None and report.state == Report.State.RUNNING:
            fail_report(report_id, DIED)
            report.refresh_from_db()
        return report
    report = Report.objects.select_related("event").get(pk=report_id)
    started = time.monotonic()
    try:
        budget = memory_limit(memory_limit_mb) if memory_limit_mb else contextlib.nullcontext()
        with budget:
            data = generate(report.event, options_of(report), _progress_writer(report_id))
        if time.monotonic() - started > SOFT_TIME_LIMIT:
            # Celery's soft limit fired inside the renderer, which caught it and went on.
            raise ReportLimitExceeded(TIME_LIMIT_REASON.format(SOFT_TIME_LIMIT))
        report.file.save(file_name(report), ContentFile(data), save=False)
        Report.objects.filter(pk=report_id).update(
            file=report.file.name,
            size=len(data),
            state=Report.State.DONE,
            progress=100,
            finished_at=timezone.now(),
        )
    except ReportLimitExceeded as exc:
        fail_report(report_id, str(exc))
    except Exception as exc:
        _drop_interrupted_connection()
        if _out_of_memory(exc):
            fail_report(report_id, f"The report exceeded its memory limit ({MEMORY_LIMIT_MB} MB).")
        elif (
            type(exc).__name__ == "SoftTimeLimitExceeded"
            or time.monotonic() - started > SOFT_TIME_LIMIT
        ):
            # The limit's exception may land inside a query; what surfaces is then the
            # driver's error about the half-sent command, not SoftTimeLimitExceeded.
            fail_report(report_id, TIME_LIMIT_REASON.format(SOFT_TIME_LIMIT))
        else:
            log.exception("report %s failed", report_id)
            fail_report(report_id, f"Rendering failed: {type(exc).__name__}: {exc}")
    report.refresh_from_db()
    if report.state == Report.State.DONE:
        hooks.announce("report.ready", report)
    return report


def _drop_interrupted_connection() -> None:
    """A limit raises asynchronously: if it interrupted a query, the connection is left
    mid-command and unusable. Outside a transaction, drop it; the next query reconnects."""
    if not connection.in_atomic_block:
        connection.close()


DIED = (
    "The worker rendering this report stopped before it finished (killed at the time limit "
    f"of {TIME_LIMIT:g} s or the memory limit of {MEMORY_LIMIT_MB} MB, or crashed)."
)


def fail_stalled(reports) -> None:
    """Reports running longer than the hard time limit lost their worker: say so."""
    cutoff = timezone.now() - timedelta(seconds=TIME_LIMIT + 60)
    for report in reports:
        if (
            report.state == Report.State.RUNNING
            and report.started_at
            and report.started_at < cutoff
        ):
            fail_report(report.pk, DIED)
            report.refresh_from_db()


def _address_space() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[0]) * resource.getpagesize()


@contextlib.contextmanager
def memory_limit(megabytes: int = MEMORY_LIMIT_MB):
    """Let the code inside grow this process's address space by at most `megabytes`
    (RLIMIT_AS): past it allocations fail with MemoryError instead of swapping the host.
    The renderer's libraries are loaded first, so the budget is the render's alone."""
    from . import pdf  # noqa: F401  (WeasyPrint, Pango, fonts)

    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = _address_space() + megabytes * 1024 * 1024
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (OSError, ValueError):  # no /proc (not Linux): render without the limit
        yield
        return
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
