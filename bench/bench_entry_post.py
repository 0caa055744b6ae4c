"""Entry POST p95 <= 3x the p95 of a trivial authenticated API view, same run, PostgreSQL.

In-process (Django's test client through the whole middleware stack), so it measures
server time. The baseline is GET /api/v1/events/<slug>/ (one event, one membership check).
Requests alternate, so both see the same machine load.
"""

import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import percentile, report, setup_django

ROUNDS = 300
WARMUP = 20


def main() -> int:
    setup_django("tally_bench_entry_post")
    from board_data import bulk_entries, fresh_event
    from django.db import reset_queries
    from django.test import Client

    event, users = fresh_event()
    bulk_entries(event, users["operator"], 500)
    client = Client(HTTP_HOST="localhost")
    client.force_login(users["operator"])
    url = f"/api/v1/events/{event.slug}/entries/"
    trivial = f"/api/v1/events/{event.slug}/"
    posts, gets = [], []
    for i in range(WARMUP + ROUNDS):
        body = {
            "id": str(uuid.uuid4()),
            "kind": ["win", "learning", "action"][i % 3],
            "body": f"Bench entry {i}: SRT latency **too low** on the ASL return",
            "feeds": [f"s{i % 8}-feed-{i % 20}", f"s{i % 8}-feed-{(i + 1) % 20}"],
            "session": f"s{i % 8}",
            "tags": ["srt", "asl"],
            "occurred_at": (event.start + timedelta(hours=27)).isoformat(),
        }
        started = time.perf_counter()
        response = client.post(url, body, content_type="application/json")
        elapsed = time.perf_counter() - started
        assert response.status_code == 201, response.content[:300]
        started = time.perf_counter()
        assert client.get(trivial).status_code == 200
        trivial_elapsed = time.perf_counter() - started
        if i >= WARMUP:
            posts.append(elapsed * 1000)
            gets.append(trivial_elapsed * 1000)
        reset_queries()
    p95_post, p95_get = percentile(posts, 95), percentile(gets, 95)
    ratio = p95_post / p95_get
    print(
        f"entry POST p95 {p95_post:.1f} ms (p50 {percentile(posts, 50):.1f}); "
        f"trivial GET p95 {p95_get:.1f} ms (p50 {percentile(gets, 50):.1f}); {ROUNDS} each"
    )
    ok = ratio <= 3
    report(
        "entry POST p95 / trivial API p95",
        ratio,
        "x",
        "<= 3x",
        ok,
        baseline=f"trivial authenticated GET p95 {p95_get:.1f} ms, POST p95 {p95_post:.1f} ms",
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
