"""A real Celery worker process, via Redis, round trip to the database."""

import uuid

import pytest

from retro import tasks
from retro.models import AuditLog
from tests.workers import wait_for


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_task_runs_in_a_real_worker_process(celery_worker, settings):
    assert not settings.CELERY_TASK_ALWAYS_EAGER
    nonce = uuid.uuid4().hex
    tasks.ping_worker.delay(nonce)
    wait_for(lambda: AuditLog.objects.filter(action="worker.ping", object_id=nonce).exists(), 30)
    assert any(" ready." in line for line in celery_worker.output)
    assert AuditLog.objects.filter(object_id=nonce).count() == 1
