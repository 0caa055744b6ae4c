"""A real SMTP server and a real Celery worker on the webhooks queue, for the whole run.

The worker may call the local receivers (127.0.0.1 is allowed for it, as an operator would
allow an in-house receiver) and retries fast: 0.5 s, 1 s, 2 s ... giving up after 6 s, so a
day of failures fits in a test.
"""

import pytest
from django.conf import settings

from tests import services as real
from tests.workers import WorkerProcess

from .smtp import smtp_server

WORKER_GIVE_UP_SECONDS = 6


@pytest.fixture(scope="session")
def mail_server():
    """(port, mails) of an aiosmtpd server running for the whole test run."""
    with smtp_server() as server:
        yield server


@pytest.fixture(scope="session")
def webhook_worker(django_db_setup, django_db_blocker, mail_server):
    real.require_postgres()
    real.require_redis()
    port, _ = mail_server
    with django_db_blocker.unblock():
        worker = WorkerProcess(
            queues=[settings.QUEUE_WEBHOOKS],
            name="webhooks",
            extra_env={
                "TALLY_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
                "TALLY_WEBHOOK_RETRY_FIRST_SECONDS": "0.5",
                "TALLY_WEBHOOK_TIMEOUT_SECONDS": "1",
                "TALLY_WEBHOOK_GIVE_UP_SECONDS": str(WORKER_GIVE_UP_SECONDS),
                "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "EMAIL_HOST": "127.0.0.1",
                "EMAIL_PORT": str(port),
            },
        ).start()
    yield worker
    worker.stop()


@pytest.fixture
def allow_local(settings):
    """This process (the web side) may also save webhooks pointing at 127.0.0.1."""
    settings.TALLY_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    worker = item.funcargs.get("webhook_worker") if hasattr(item, "funcargs") else None
    if report.failed and worker is not None:
        report.sections.append(("webhooks worker output", "".join(worker.output[-60:])))
