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
