"""Settings behaviour: embedded defaults, and production refusing unsafe configuration."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STRONG = "q7Vt3-mZp9xK2aL8fR0wN5cY1bH6jD4sE_uG0iT9oP3vQ8rW2yX7zA5nM1kJ6hB4"


def manage(*args, env_extra=None, drop=()):
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


BASE_DROP = (
    "DJANGO_DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "TALLY_ENV",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
)


def test_embedded_default_is_sqlite_with_wal_and_eager_tasks(tmp_path):
    code = (
        "from django.conf import settings as s; d = s.DATABASES['default'];"
        "print(d['ENGINE'], d['OPTIONS']['transaction_mode'], 'WAL' in d['OPTIONS']['init_command'],"
        " s.CELERY_TASK_ALWAYS_EAGER, s.DEBUG)"
    )
    result = manage(
        "shell", "-c", code, env_extra={"TALLY_DATA_DIR": str(tmp_path)}, drop=BASE_DROP
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].split() == [
        "django.db.backends.sqlite3",
        "IMMEDIATE",
        "True",
        "True",
        "True",
    ]


def test_debug_off_without_secret_refuses_to_start():
    result = manage(
        "check", env_extra={"DJANGO_DEBUG": "0", "ALLOWED_HOSTS": "tally.example"}, drop=BASE_DROP
    )
    assert result.returncode != 0
    assert "needs SECRET_KEY" in result.stderr


def test_weak_secret_refuses_to_start():
    result = manage(
        "check",
        env_extra={"DJANGO_DEBUG": "0", "SECRET_KEY": "short", "ALLOWED_HOSTS": "tally.example"},
        drop=BASE_DROP,
    )
    assert result.returncode != 0
    assert "SECRET_KEY is weak" in result.stderr


def test_missing_allowed_hosts_refuses_to_start():
    result = manage("check", env_extra={"DJANGO_DEBUG": "0", "SECRET_KEY": STRONG}, drop=BASE_DROP)
    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr


def test_production_with_debug_on_refuses_to_start():
    result = manage(
        "check",
        env_extra={
            "TALLY_ENV": "production",
            "DJANGO_DEBUG": "1",
            "SECRET_KEY": STRONG,
            "ALLOWED_HOSTS": "x",
        },
        drop=BASE_DROP,
    )
    assert result.returncode != 0
    assert "DJANGO_DEBUG on" in result.stderr


def test_production_settings_pass_the_deploy_check(tmp_path):
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env_extra={
            "TALLY_ENV": "production",
            "SECRET_KEY": STRONG,
            "ALLOWED_HOSTS": "tally.example",
            "TALLY_DATA_DIR": str(tmp_path),
        },
        drop=BASE_DROP,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
