"""Hostile input, measured: the YAML bomb's answer and memory, and duplicate entry POSTs racing.

1. The 8-level, 9-way alias rundown (under 600 bytes; 43 million nodes if expanded) uploaded
   on an event page: the response size and the peak memory the request allocated (tracemalloc)
   against a plain rundown upload in the same run. Targets: <= 10 kB and <= 50 MB over it.
2. 300 pairs of entry POSTs, each pair with the same id sent at the same moment, from 8
   client threads against gunicorn (2 workers x 4 threads) and PostgreSQL. Targets: no 5xx,
   exactly 300 entries stored, every reply of a pair naming the same entry.
"""

import json
import sys
import threading
import time
import tracemalloc
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import report, setup_django

PAIRS, THREADS = 300, 8


def yaml_bomb(levels: int = 8, width: int = 9) -> str:
    lines = ['a0: &a0 ["lol"]']
    for level in range(1, levels + 1):
        lines.append(f"a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * width)}]")
    lines.append(f"event: {{slug: bench, name: *a{levels}}}")
    return "\n".join(lines) + "\n"


def upload(client, slug: str, text: str) -> tuple[int, int, float]:
    """(status, response bytes, peak MB allocated) of one rundown upload."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    tracemalloc.start()
    response = client.post(
        f"/events/{slug}/rundown/", {"file": SimpleUploadedFile("r.yaml", text.encode())}
    )
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return response.status_code, len(response.content), peak / 2**20


def yaml_bomb_figures(event, lead) -> bool:
    from django.test import Client

    client = Client(HTTP_HOST="localhost")
    client.force_login(lead)
    plain = (
        f"event: {{slug: {event.slug}, name: {event.name}, time_zone: UTC, "
        f'start: "{event.start.isoformat()}", end: "{event.end.isoformat()}"}}\n'
    )
    upload(client, event.slug, plain)  # warm the templates
    _, _, base_mb = upload(client, event.slug, plain)
    bomb = yaml_bomb()
    started = time.perf_counter()
    status, size, peak_mb = upload(client, event.slug, bomb)
    took = time.perf_counter() - started
    print(f"bomb: {len(bomb)} bytes in, status {status}, {size} bytes out in {took * 1000:.0f} ms")
    size_ok = status == 400 and size <= 10_000
    memory_ok = peak_mb - base_mb <= 50
    report("yaml_bomb_response", size / 1000, "kB", "<= 10 kB, a 400", size_ok)
    report(
        "yaml_bomb_peak_memory",
        peak_mb - base_mb,
        "MB over a plain upload",
        "<= 50 MB",
        memory_ok,
        baseline=f"plain upload peak {base_mb:.2f} MB, bomb {peak_mb:.2f} MB",
    )
    return size_ok and memory_ok


def duplicate_figures(event, operator) -> bool:
    import os

    from rest_framework.authtoken.models import Token

    from retro.models import Entry
    from tests.reliability.servers import Gunicorn, request

    token = Token.objects.get_or_create(user=operator)[0].key
    env = {"DATABASE_URL": os.environ["DATABASE_URL"], "CELERY_BROKER_URL": ""}
    web = Gunicorn(env, workers=2, threads=4).start()
    url = f"{web.url}/api/v1/events/{event.slug}/entries/"
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    occurred = (event.start + (event.end - event.start) / 2).isoformat()
    try:
        Entry.objects.filter(event=event).delete()

        def pair(n: int) -> list[tuple[int, str]]:
            body = json.dumps(
                {
                    "id": str(uuid.uuid4()),
                    "kind": "win",
                    "body": f"race {n}",
                    "occurred_at": occurred,
                }
            ).encode()
            barrier, replies = threading.Barrier(2), []

            def post():
                barrier.wait(10)
                status, raw, _ = request(url, method="POST", body=body, headers=headers)
                replies.append((status, json.loads(raw).get("id", "") if raw else ""))

            threads = [threading.Thread(target=post) for _ in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
            return replies

        started = time.perf_counter()
        with ThreadPoolExecutor(THREADS // 2) as pool:  # each pair runs on two threads
            results = list(pool.map(pair, range(PAIRS)))
        took = time.perf_counter() - started
    finally:
        web.stop()
    statuses = [s for replies in results for s, _ in replies]
    errors = sum(1 for s in statuses if s >= 500)
    same = all(len({i for _, i in replies}) == 1 for replies in results)
    stored = Entry.objects.filter(event=event).count()
    print(
        f"{PAIRS} pairs in {took:.1f} s: {statuses.count(201)} x 201, "
        f"{statuses.count(200)} x 200, {errors} x 5xx, {stored} entries stored"
    )
    ok = errors == 0 and stored == PAIRS and same
    report(
        "duplicate_post_5xx",
        errors,
        "5xx",
        f"0, and {PAIRS} entries",
        ok,
        baseline=f"{stored} entries stored, pairs agree: {same}",
    )
    return ok


def main() -> int:
    setup_django("tally_bench_hardening")
    from board_data import fresh_event

    event, users = fresh_event("hardening")
    ok = yaml_bomb_figures(event, users["lead"])
    ok = duplicate_figures(event, users["operator"]) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
