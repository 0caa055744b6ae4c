"""Figure: the learning loop across events, for one entry: the recurrence lookup and the
cross-event full-text similarity ("seen before at ..."): p95 <= 100 ms (PostgreSQL) with a
chain of 10 events of 2,000 entries and 500 anomalies each; and search over those events.

Scratch database bench_loop, built once and kept between runs (rebuilt when DATA_VERSION
changes). Every event has the same 200 feeds (same slugs, sites and transports, as a
planned next event has), entries are operator sentences from the search benchmark's Zipf
vocabulary, a third of them learnings on one or two feeds, and 500 anomalies per event on
random feeds. The event measured is the newest; it follows the other nine.

Baseline in the same run: the whole-event recurrence index a board builds once (every
flagged place of the nine earlier events), against which the one-entry lookup is compared.
"""

import random
import sys
import time
from datetime import UTC, datetime, timedelta

from bench_search import QUERIES, Text
from common import percentile, report, setup_django

DATA_VERSION = "bench-loop-data-v1"
EVENTS = 10
ENTRIES = 2000
ANOMALIES = 500
FEEDS = 200
LOOKUPS = 60
STAGES = ["contribution", "transmission", "distribution", "handoff"]
TRANSPORTS = ["srt", "rtp_fec", "cloud_flow", "hls_dash"]


def build(rng):
    from django.contrib.auth import get_user_model
    from django.db import connection

    from integrations.models import Anomaly
    from retro.models import Entry, Event, Feed, Membership, Site

    User = get_user_model()
    user, _ = User.objects.get_or_create(username="bench-looper")
    if Event.objects.filter(slug=DATA_VERSION).exists():
        return user, Event.objects.get(slug=f"loop-{EVENTS - 1}")
    with connection.cursor() as cur:
        cur.execute("TRUNCATE retro_entry, retro_event, retro_site CASCADE")
    text = Text(rng)
    sites = [
        Site.objects.create(name=f"Site {i}", slug=f"loop-site-{i}", role="encode")
        for i in range(6)
    ]
    start = (datetime.now(UTC) - timedelta(days=365 * EVENTS)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    previous = None
    events = []
    for e in range(EVENTS):
        begins = start + timedelta(days=365 * e)
        event = Event.objects.create(
            slug=f"loop-{e}", name=f"Loop {e}", start=begins, end=begins + timedelta(days=4),
            follows=previous, state="closed" if e < EVENTS - 1 else "live",
        )  # fmt: skip
        Membership.objects.create(event=event, user=user, role="operator")
        feeds = Feed.objects.bulk_create(
            Feed(
                event=event, slug=f"feed-{f}", name=f"Feed {f}", stage=STAGES[f % 4],
                origin=sites[f % 6], destination=sites[(f + 1) % 6],
                transport=TRANSPORTS[f % 4],
            )
            for f in range(FEEDS)
        )  # fmt: skip
        entries = Entry.objects.bulk_create(
            Entry(
                event=event, kind=("win", "learning", "action")[i % 3], body=text.sentence(),
                occurred_at=begins + timedelta(minutes=i), stage=STAGES[i % 4],
                status="open" if i % 3 == 2 else "",
            )
            for i in range(ENTRIES)
        )  # fmt: skip
        Entry.feeds.through.objects.bulk_create(
            Entry.feeds.through(entry_id=entry.pk, feed_id=rng.choice(feeds).pk)
            for entry in entries
            if entry.kind == "learning"
        )
        Anomaly.objects.bulk_create(
            Anomaly(
                event=event, feed=rng.choice(feeds), kind="packet_loss", key=f"k{a}",
                source="detector", start=begins + timedelta(minutes=a),
                end=begins + timedelta(minutes=a + 1),
            )
            for a in range(ANOMALIES)
        )  # fmt: skip
        previous = event
        events.append(event)
    Event.objects.create(
        slug=DATA_VERSION, name="bench data marker", start=start, end=start + timedelta(days=1)
    )
    with connection.cursor() as cur:
        cur.execute(
            "ANALYZE retro_entry; ANALYZE retro_entry_feeds; ANALYZE retro_feed; "
            "ANALYZE integrations_anomaly; ANALYZE retro_event"
        )
    return user, events[-1]


def timed(fn, items) -> list[float]:
    times = []
    for item in items:
        t0 = time.perf_counter()
        fn(item)
        times.append((time.perf_counter() - t0) * 1000)
    return times


def main() -> int:
    setup_django("bench_loop")
    from django.db import connection

    from retro import loop, selectors
    from retro.models import Entry
    from search import selectors as search

    if connection.vendor != "postgresql":
        print("PostgreSQL is required for this figure (set DATABASE_URL).")
        return 1
    rng = random.Random(16)
    t0 = time.monotonic()
    user, event = build(rng)
    print(f"data ready in {time.monotonic() - t0:.0f}s")
    learnings = list(
        Entry.objects.filter(event=event, kind="learning").prefetch_related("feeds")[:LOOKUPS]
    )
    visible = selectors.events_for_user(user)

    def recurrence(entry):
        return loop.recurrence_of_feeds(entry.event, list(entry.feeds.all()))

    def similar(entry):
        return loop.similar_learnings(visible, event, entry.body)

    def cross_event_search(q):
        return search.search(user, search.clean_filters(q=q))

    for fn in (recurrence, similar):
        timed(fn, learnings[:5])  # warm caches
    timed(cross_event_search, QUERIES)
    found = sum(recurrence(e).recurred for e in learnings)
    suggested = sum(bool(similar(e)) for e in learnings)
    rec, sim = timed(recurrence, learnings * 3), timed(similar, learnings * 3)
    both = [a + b for a, b in zip(rec, sim, strict=True)]
    srch = timed(cross_event_search, QUERIES * 3)
    index = timed(lambda _: loop.RecurrenceIndex(event), range(5))
    print(
        f"{found} of {len(learnings)} learnings recurred at earlier events; "
        f"{suggested} got a 'seen before' suggestion"
    )
    report("recurrence lookup p95 (one entry, chain of 10)", percentile(rec, 95), "ms",
           "<= 100 ms", percentile(rec, 95) <= 100,
           baseline=f"whole-event index {percentile(index, 50):.0f} ms median")  # fmt: skip
    report("similar learnings p95 (one entry, 9 earlier events)", percentile(sim, 95), "ms",
           "<= 100 ms", percentile(sim, 95) <= 100)  # fmt: skip
    p95 = percentile(both, 95)
    report("recurrence + similar for one entry p95 (the entry's 'seen before')", p95, "ms",
           "<= 100 ms", p95 <= 100)  # fmt: skip
    report(f"cross-event search p95 (10 events x 2,000 entries, {len(QUERIES)} queries x 3)",
           percentile(srch, 95), "ms",
           "<= 100 ms", percentile(srch, 95) <= 100)  # fmt: skip
    ok = max(percentile(rec, 95), percentile(sim, 95), p95, percentile(srch, 95)) <= 100
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
