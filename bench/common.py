"""Shared helpers for benchmarks: Django setup on a scratch database, percentiles."""

import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup_django(db_name: str | None = None) -> None:
    """Configure Django; with PostgreSQL, use (and create) a scratch database `db_name`."""
    url = os.environ.get("DATABASE_URL", "")
    if db_name and url.startswith(("postgres://", "postgresql://")):
        from tests.run import ensure_database

        url = url.rsplit("/", 1)[0] + "/" + db_name
        ensure_database(url)
        os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tally.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def percentile(values: list[float], pct: float) -> float:
    """The pct-th percentile (0-100) by linear interpolation."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(pct) - 1]


def report(name: str, figure: float, unit: str, target: str, ok: bool, baseline: str = "") -> None:
    """Print one figure line in the shape every benchmark uses."""
    line = f"FIGURE {name}: {figure:.2f} {unit} (target {target})"
    if baseline:
        line += f"; baseline {baseline}"
    print(line + ("  OK" if ok else "  MISSED"), flush=True)
