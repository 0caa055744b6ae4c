"""Run every benchmark in bench/ (bench_*.py), or the ones named on the command line.

Each benchmark is a script that prints its figure next to the baseline it is compared with,
measured in the same run, and exits non-zero when the figure misses its target.
Benchmarks that need PostgreSQL/Redis get them from DATABASE_URL / CELERY_BROKER_URL,
chosen like the test suite does (tests/run.py).

They run with production settings (DJANGO_DEBUG=0: no query log, cached templates, hashed
static files collected first), since that is what operators wait on; set DJANGO_DEBUG=1 to
measure the development setup instead.
"""

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from tests.run import choose_services, ensure_database  # noqa: E402


def production_like(env: dict) -> None:
    """Production settings for the benchmarks (unless DJANGO_DEBUG is set): a throwaway
    secret, local hosts, no HTTPS redirect (requests are local), static files collected."""
    import secrets

    env.setdefault("DJANGO_DEBUG", "0")
    if env["DJANGO_DEBUG"] != "0":
        return
    env.setdefault("SECRET_KEY", secrets.token_urlsafe(64))
    env.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
    env.setdefault("TALLY_SSL_REDIRECT", "0")
    manifest = Path(env.get("TALLY_DATA_DIR") or ROOT / "data") / "staticfiles/staticfiles.json"
    sources = [p.stat().st_mtime for p in (ROOT / "static").rglob("*") if p.is_file()]
    if manifest.exists() and manifest.stat().st_mtime > max(sources, default=0):
        return  # collected already (compressing every file again takes a minute)
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )


def main(names: list[str]) -> int:
    import os

    env = dict(os.environ)
    for note in choose_services(env):
        print(note)
    env.pop("TALLY_TEST_DB", None)
    ensure_database(env.get("DATABASE_URL", ""))
    production_like(env)
    scripts = sorted(HERE.glob("bench_*.py"))
    if names:
        scripts = [s for s in scripts if any(n in s.stem for n in names)]
    failed = []
    for script in scripts:
        print(f"\n=== {script.stem} ===", flush=True)
        started = time.monotonic()
        code = subprocess.run([sys.executable, str(script)], cwd=ROOT, env=env).returncode
        print(
            f"--- {script.stem}: {'ok' if code == 0 else 'MISSED'} in {time.monotonic() - started:.1f}s"
        )
        if code:
            failed.append(script.stem)
    print(f"\n{len(scripts) - len(failed)} of {len(scripts)} benchmarks met their targets")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
