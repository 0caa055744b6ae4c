"""Celery tasks for retro: thin wrappers that take ids and call one service."""

from celery import shared_task

from .models import AuditLog


@shared_task
def ping_worker(nonce: str) -> None:
    """Prove a worker can reach the database: leave a line in the audit log."""
    if AuditLog.objects.filter(action="worker.ping", object_id=nonce).exists():
        return
    AuditLog.objects.create(
        action="worker.ping",
        object_type="worker",
        object_id=nonce,
        summary="worker reached the database",
    )


@shared_task(acks_late=True)
def send_due_reminders() -> int:
    """Hourly (beat): remind owners, once, of their actions falling due within 48 hours."""
    from . import meeting

    return meeting.send_due_reminders()


@shared_task(acks_late=True)
def send_weekly_digest() -> int:
    """Mondays (beat): each owner gets one email listing their overdue actions."""
    from . import meeting

    return meeting.send_weekly_digest()


# Reports: one render per slow-worker child (Procfile: --max-tasks-per-child 1), with a soft
# time limit (the render fails with a reason), a hard one (the child is killed; the report is
# failed when the message comes back or the status is read) and an address-space limit.
def _report_limits():
    from .reports.services import SOFT_TIME_LIMIT, TIME_LIMIT

    return {"soft_time_limit": SOFT_TIME_LIMIT, "time_limit": TIME_LIMIT}


@shared_task(acks_late=True, **_report_limits())
def render_report(report_id: int) -> None:
    """Render one queued report (routed to the slow queue)."""
    from .reports import services as reports

    # In-process (embedded mode) no address-space limit: it would bind the web process.
    budget = None if render_report.request.is_eager else reports.MEMORY_LIMIT_MB
    reports.render_report(report_id=report_id, memory_limit_mb=budget)
