"""Celery tasks for reports: thin wrappers that take ids and call one service."""

from celery import shared_task

from . import services as reports
from .services import SOFT_TIME_LIMIT, TIME_LIMIT


# Reports: one render per slow-worker child (Procfile: --max-tasks-per-child 1), with a soft
# time limit (the render fails with a reason), a hard one (the child is killed; the report is
# failed when the message comes back or the status is read) and an address-space limit.
@shared_task(acks_late=True, soft_time_limit=SOFT_TIME_LIMIT, time_limit=TIME_LIMIT)
def render_report(report_id: int) -> None:
    """Render one queued report (routed to the slow queue)."""
    # In-process (embedded mode) no address-space limit: it would bind the web process.
    budget = None if render_report.request.is_eager else reports.MEMORY_LIMIT_MB
    reports.render_report(report_id=report_id, memory_limit_mb=budget)
