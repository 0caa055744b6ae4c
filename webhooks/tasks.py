"""Celery tasks for webhooks (queue `webhooks`): thin wrappers that call one service each."""

from celery import shared_task
from django.db import transaction

from . import services


@shared_task(acks_late=True)
def fan_out(*, name: str, model: str, pk: str, key: str, details: dict) -> int:
    """After an announcement's commit: one delivery per listening webhook, each queued."""
    with transaction.atomic():
        return services.fan_out(name=name, model=model, pk=pk, key=key, details=details)


@shared_task(acks_late=True)
def deliver(*, delivery_id: int, attempts: int) -> None:
    """One attempt of a delivery; a stale or repeated task finds it claimed and does nothing."""
    services.attempt(delivery_id=delivery_id, attempts=attempts)


@shared_task(acks_late=True)
def announce_actions() -> int:
    """Every 5 minutes (beat): actions due today and overdue, once each per due date."""
    return services.announce_actions()


@shared_task(acks_late=True)
def resend_stalled() -> int:
    """Every minute (beat): queue again the attempts that never reported back."""
    return services.resend_stalled()
