"""Celery tasks for retro: thin wrappers that take ids and call one service."""

from celery import shared_task

from . import meeting
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
    return meeting.send_due_reminders()


@shared_task(acks_late=True)
def send_weekly_digest() -> int:
    """Mondays (beat): each owner gets one email listing their overdue actions."""
    return meeting.send_weekly_digest()
