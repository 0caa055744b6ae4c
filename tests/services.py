"""Access to the real services the suite needs, and the rule for when one is missing:
in CI the test fails; elsewhere it is skipped and listed loudly at the end of the run."""

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.conf import settings

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _tcp(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=2
        ):
            return True
    except OSError:
        return False


def missing(what: str) -> None:
    """Fail in CI, skip (and be listed) elsewhere."""
    if IN_CI:
        pytest.fail(f"{what} is required in CI and is not available.", pytrace=False)
    # Outside CI only (the line above fails first in CI); conftest lists every such skip.
    raise pytest.skip.Exception(f"{what} not available", _use_item_location=True)


def require_postgres() -> None:
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        missing("PostgreSQL (set DATABASE_URL)")


def require_redis() -> None:
    url = settings.CELERY_BROKER_URL
    if not url or not _tcp(url, 6379):
        missing("Redis (set CELERY_BROKER_URL)")


def require_binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        missing(f"the {name} program")
    return path


def require_chromium() -> str:
    if not os.path.exists(CHROMIUM):
        missing("Debian's chromium")
    return CHROMIUM


ROOT = Path(__file__).resolve().parent.parent


def manage(env: dict, *args: str, timeout: int = 300) -> str:
    """Run manage.py in a child process with `env`; its last line of output (fails loudly)."""
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    return lines[-1] if lines else ""


def real_clock_env() -> dict:
    """The environment for a third-party server a test starts (a throwaway redis-server): on
    the machine's real clock, like the shared services, even in the time-travel pass, where
    only our own processes (tests, workers, gunicorn, Chromium) run under faketime."""
    return {
        k: v for k, v in os.environ.items() if k != "LD_PRELOAD" and not k.startswith("FAKETIME")
    }
