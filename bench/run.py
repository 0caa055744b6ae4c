"""Run every benchmark in bench/ (bench_*.py), or the ones named on the command line.

Each benchmark is a script that prints its figure next to the baseline it is compared with,
measured in the same run, and exits non-zero when the figure misses its target.
Benchmarks that need PostgreSQL/Redis get them from DATABASE_URL / CELERY_BROKER_URL,
chosen like the test suite does (tests/run.py).
"""

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from tests.run import choose_services, ensure_database  # noqa: E402


def main(names: list[str]) -> int:
    import os

    env = dict(os.environ)
    for note in choose_services(env):
        print(note)
    env.pop("TALLY_TEST_DB", None)
    ensure_database(env.get("DATABASE_URL", ""))
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
