"""Figure: search over 10,000 runbook revisions and 100,000 entries: p95 <= 100 ms (PostgreSQL).

Scratch database bench_search; data built once with bulk_create (kept between runs).
The user searching is a member of half of the 20 events. Baseline in the same run: the
SQLite-style icontains fallback on the same PostgreSQL data.
"""

import random
import sys
import time
from datetime import UTC, datetime, timedelta

from common import percentile, report, setup_django

EVENTS = 20
ENTRIES = 100_000
RUNBOOKS = 500
REVISIONS_PER = 20
WORDS = (
    "srt latency rtt passphrase stream encoder contribution path failover mediaconnect flow "
    "medialive channel pipeline simulcast youtube linkedin twitch asl return venue screens "
    "hotel playout schedule ott partner handoff manifest cdn captions subtitles audio "
    "translation packet loss jitter bitrate dropped frames continuity errors alert multiviewer "
    "slate keynote rehearsal operator lead broadcast control monitoring dublin vegas isp fibre "
    "cellular bonded decoder clock ntp drift preset gop aac teardown rotate logs"
).split()
QUERIES = [
    "SRT latency", "passphrase", "MediaLive pipeline", "packet loss", "hotel playout",
    "ASL return", "OTT handoff manifest", "captions drift", "failover", "simulcast twitch",
    "continuity errors", "encoder clock ntp", "\"stream id\"", "bonded cellular", "slate",
]  # fmt: skip


def sentence(rng) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(12, 40))).capitalize() + "."


def build(rng):
    from django.contrib.auth import get_user_model

    from retro.models import Entry, Event, Membership
    from runbooks.models import Runbook, RunbookRevision

    User = get_user_model()
    user, _ = User.objects.get_or_create(username="bench-searcher")
    if Entry.objects.count() >= ENTRIES and RunbookRevision.objects.count() >= RUNBOOKS * REVISIONS_PER:
        return user
    start = datetime(2026, 1, 1, tzinfo=UTC)
    events = [
        Event.objects.get_or_create(
            slug=f"bench-{i}",
            defaults={"name": f"Bench {i}", "start": start, "end": start + timedelta(days=4)},
        )[0]
        for i in range(EVENTS)
    ]
    for ev in events[::2]:
        Membership.objects.get_or_create(event=ev, user=user, defaults={"role": "viewer"})
    kinds, stages = ["win", "learning", "action"], ["contribution", "transmission", "distribution", "handoff"]
    batch = []
    for i in range(ENTRIES - Entry.objects.count()):
        kind = kinds[i % 3]
        batch.append(
            Entry(
                event=events[i % EVENTS], kind=kind, body=sentence(rng), stage=stages[i % 4],
                occurred_at=start + timedelta(minutes=i % 5000),
                status="open" if kind == "action" else "",
            )
        )
        if len(batch) == 5000:
            Entry.objects.bulk_create(batch)
            batch = []
    Entry.objects.bulk_create(batch)
    for r in range(Runbook.objects.count(), RUNBOOKS):
        rb = Runbook.objects.create(title=f"Runbook {r} {rng.choice(WORDS)}", slug=f"bench-rb-{r}", stage=stages[r % 4])
        revs = RunbookRevision.objects.bulk_create(
            RunbookRevision(
                runbook=rb, number=n + 1,
                body="\n".join(f"- [ ] {sentence(rng)}" for _ in range(rng.randint(10, 40))),
            )
            for n in range(REVISIONS_PER)
        )
        rb.current = revs[-1]
        rb.save(update_fields=["current"])
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("ANALYZE retro_entry; ANALYZE runbooks_runbookrevision; ANALYZE runbooks_runbook")
    return user


def timed(fn, rounds):
    times = []
    for _ in range(rounds):
        for q in QUERIES:
            t0 = time.perf_counter()
            fn(q)
            times.append((time.perf_counter() - t0) * 1000)
    return times


def main() -> int:
    setup_django("bench_search")
    from django.db import connection

    from runbooks import search

    if connection.vendor != "postgresql":
        print("PostgreSQL is required for this figure (set DATABASE_URL).")
        return 1
    rng = random.Random(42)
    t0 = time.monotonic()
    user = build(rng)
    print(f"data ready in {time.monotonic() - t0:.0f}s")
    run = lambda q: search.search(user, search.clean_filters(q=q))  # noqa: E731
    timed(run, 1)  # warm caches
    times = timed(run, 6)
    search._use_postgres = lambda: False  # the SQLite fallback, on the same data
    base = timed(run, 1)
    p95 = percentile(times, 95)
    report(
        "search p95 (10k revisions, 100k entries)",
        p95,
        "ms",
        "<= 100 ms",
        p95 <= 100,
        baseline=f"icontains fallback p95 {percentile(base, 95):.0f} ms",
    )
    return 0 if p95 <= 100 else 1


if __name__ == "__main__":
    sys.exit(main())
