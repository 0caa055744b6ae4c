"""Run the whole suite against the best services available, and say which.

In CI (CI=true) PostgreSQL and Redis are required: a missing one fails the run. Elsewhere
the suite uses them when they answer on their usual ports, and otherwise falls back to
SQLite with eager tasks; the tests that need a missing service are skipped and listed.
"""

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_URL = "postgres://postgres@127.0.0.1:5432/tally"
REDIS_URL = "redis://127.0.0.1:6379/0"


def answers(host: str, port: int) -> bool:
    """True when something accepts TCP connections there."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def choose_services(env: dict) -> list[str]:
    """Fill DATABASE_URL and CELERY_BROKER_URL; return what was chosen, for the banner."""
    ci = env.get("CI", "").lower() in {"1", "true", "yes"}
    notes = []
    if env.get("TALLY_TEST_EMBEDDED") == "1" and not ci:
        # Pretend to be a laptop without services: SQLite, eager tasks, skips listed.
        env["DATABASE_URL"] = env["CELERY_BROKER_URL"] = ""
        env["TALLY_TEST_EMBEDDED_FORCED"] = "1"
    forced = env.get("TALLY_TEST_EMBEDDED_FORCED") == "1"
    if not forced and not env.get("DATABASE_URL") and (ci or answers("127.0.0.1", 5432)):
        env["DATABASE_URL"] = PG_URL
    if not forced and not env.get("CELERY_BROKER_URL") and (ci or answers("127.0.0.1", 6379)):
        env["CELERY_BROKER_URL"] = REDIS_URL
    notes.append(f"database: {env.get('DATABASE_URL') or 'SQLite (embedded)'}")
    notes.append(f"broker:   {env.get('CELERY_BROKER_URL') or 'none: tasks run eagerly'}")
    if env.get("TALLY_TIME_TRAVEL"):
        notes.append(f"clock:    moved {env['TALLY_TIME_TRAVEL']} (faketime)")
    env.setdefault("TALLY_QUEUE_PREFIX", f"test{os.getpid()}-")
    env["TALLY_DATA_DIR"] = env.get("TALLY_DATA_DIR", str(ROOT / "data" / "test"))
    if env.get("DATABASE_URL"):
        env.setdefault("TALLY_TEST_DB", f"test_tally_{os.getpid()}")
    else:  # SQLite: a file in the data folder, so live-server tests share it
        Path(env["TALLY_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
        env.setdefault(
            "TALLY_TEST_DB", str(Path(env["TALLY_DATA_DIR"]) / f"test_{os.getpid()}.sqlite3")
        )
    return notes


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database the URL names, if it is missing."""
    if not url.startswith(("postgres://", "postgresql://")):
        return
    import psycopg

    name = url.rsplit("/", 1)[1].split("?")[0]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def main(argv: list[str]) -> int:
    env = dict(os.environ)
    notes = choose_services(env)
    bar = "=" * 72
    print(f"{bar}\nTally test run\n  " + "\n  ".join(notes) + f"\n{bar}", flush=True)
    ensure_database(env.get("DATABASE_URL", ""))
    python = sys.executable
    for check in (
        [python, "manage.py", "check", "--fail-level", "WARNING"],
        [python, "manage.py", "makemigrations", "--check", "--dry-run"],
    ):
        print("$", " ".join(check[1:]), flush=True)
        if subprocess.run(check, cwd=ROOT, env=env).returncode != 0:
            return 1
    return subprocess.run(
        [*time_travel(env), python, "-m", "pytest", *argv], cwd=ROOT, env=env
    ).returncode


def time_travel(env: dict) -> list[str]:
    """The faketime prefix when TALLY_TIME_TRAVEL (e.g. +400d) moves the clock, else nothing.

    Every process the tests start (workers, gunicorn, Chromium) inherits the moved clock.
    """
    offset = env.get("TALLY_TIME_TRAVEL", "")
    if not offset:
        return []
    faketime = shutil.which("faketime")
    if faketime is None:
        sys.exit("TALLY_TIME_TRAVEL is set but faketime is missing: `make system-deps`.")
    return [faketime, "-f", offset]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
