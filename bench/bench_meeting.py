"""Retro meeting page with 2,000 entries: p95 <= 300 ms server time, and the number of
queries does not grow with entries (also asserted in tests/retro/test_meeting_page.py).

In-process (Django's test client, the whole middleware and template stack), as a lead (the
heaviest page: every entry draws its vote, merge, action and no-change tools). The baseline
is the same meeting with 50 entries, measured in the same run; the next page that loads as
the meeting scrolls is measured too.
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_board import measure
from common import percentile, report, setup_django


def spread_out(event) -> None:
    """Stages, kinds and votes differ between entries, as in a real meeting."""
    from retro.models import Entry, Vote

    stages = ["contribution", "transmission", "distribution", "handoff", ""]
    users = list(event.memberships.values_list("user_id", flat=True))
    rows = list(Entry.objects.filter(event=event).order_by("occurred_at"))
    for i, entry in enumerate(rows):
        entry.stage = stages[i % len(stages)]
    Entry.objects.bulk_update(rows, ["stage"], batch_size=500)
    Vote.objects.filter(entry__event=event).delete()
    Vote.objects.bulk_create(
        [Vote(entry=e, user_id=users[i % len(users)]) for i, e in enumerate(rows[::5])]
    )


def cpu_times(client, url, rounds: int = 40) -> list[float]:
    """CPU time of the web process per request (not PostgreSQL's): what the page costs
    whatever else the machine is doing."""
    times = []
    for _ in range(rounds):
        started = time.process_time()
        assert client.get(url).status_code == 200
        times.append((time.process_time() - started) * 1000)
    return times


def main() -> int:
    setup_django("tally_bench_meeting")
    from board_data import bulk_entries, fresh_event
    from django.test import Client

    event, users = fresh_event("bench-meeting")
    client = Client(HTTP_HOST="localhost")
    client.force_login(users["lead"])
    url = f"/events/{event.slug}/retro/"
    bulk_entries(event, users["operator"], 50)
    spread_out(event)
    small, small_queries = measure(client, url)
    bulk_entries(event, users["operator"], 1950)
    spread_out(event)
    big, big_queries = measure(client, url)
    scroll, scroll_queries = measure(client, url + "?page=20&fragment=1")
    cpu = cpu_times(client, url)
    p95 = percentile(big, 95)
    print(
        f"meeting 2,000 entries: p50 {percentile(big, 50):.1f} ms, p95 {p95:.1f} ms, "
        f"{big_queries} queries"
    )
    print(f"meeting 50 entries: p95 {percentile(small, 95):.1f} ms, {small_queries} queries")
    print(
        f"next page while scrolling (page 20): p95 {percentile(scroll, 95):.1f} ms, "
        f"{scroll_queries} queries"
    )
    print(
        f"meeting 2,000 entries, this process's CPU per request: p50 {percentile(cpu, 50):.1f} ms, "
        f"p95 {percentile(cpu, 95):.1f} ms (wall time above includes waiting for a busy machine)"
    )
    ok = p95 <= 300 and big_queries <= small_queries
    report(
        "retro meeting page p95 with 2,000 entries",
        p95,
        "ms",
        "<= 300 ms, queries flat",
        ok,
        baseline=(
            f"50 entries p95 {percentile(small, 95):.1f} ms; "
            f"queries {small_queries} -> {big_queries}"
        ),
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
