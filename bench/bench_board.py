"""Board page with 2,000 entries: p95 <= 200 ms server time on PostgreSQL, and the number
of queries does not grow with entries (also asserted in tests/retro/test_board.py).

In-process (Django's test client, the whole middleware and template stack). The baseline
is the same board with 20 entries, measured in the same run.
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import percentile, report, setup_django

ROUNDS = 120
WARMUP = 10


def measure(client, url):
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    times = []
    for i in range(WARMUP + ROUNDS):
        reset_queries()
        started = time.perf_counter()
        response = client.get(url)
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200
        if i >= WARMUP:
            times.append(elapsed)
    with CaptureQueriesContext(connection) as ctx:
        client.get(url)
    return times, len(ctx.captured_queries)


def main() -> int:
    setup_django("tally_bench_board")
    from board_data import bulk_entries, fresh_event
    from django.test import Client

    event, users = fresh_event()
    client = Client(HTTP_HOST="localhost")
    client.force_login(users["operator"])
    url = f"/events/{event.slug}/board/"
    bulk_entries(event, users["operator"], 20)
    small, small_queries = measure(client, url)
    bulk_entries(event, users["operator"], 1980)
    big, big_queries = measure(client, url)
    timeline, _ = measure(client, url + "?view=timeline&day=2026-11-24")
    p95 = percentile(big, 95)
    print(
        f"board 2,000 entries: p50 {percentile(big, 50):.1f} ms, p95 {p95:.1f} ms, {big_queries} queries"
    )
    print(f"board 20 entries: p95 {percentile(small, 95):.1f} ms, {small_queries} queries")
    print(f"timeline of one day (~480 entries): p95 {percentile(timeline, 95):.1f} ms")
    ok = p95 <= 200 and big_queries <= small_queries
    report(
        "board page p95 with 2,000 entries",
        p95,
        "ms",
        "<= 200 ms, queries flat",
        ok,
        baseline=f"20 entries p95 {percentile(small, 95):.1f} ms; queries {small_queries} -> {big_queries}",
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
