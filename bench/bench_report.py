"""Report figures: the full demo report (~300 entries, >= 40 charts) in <= 20 s and <= 1 GB
peak memory of the rendering process; a 200-page report <= 12x the time of a 20-page one.

Every render runs in a fresh child process (like a slow-worker child with
--max-tasks-per-child 1), which reports its wall time and ru_maxrss. The baseline is a
cover-only PDF rendered the same way in the same run (WeasyPrint's fixed cost).
"""

import json
import os
import random
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import report, setup_django

DB = "tally_bench_report"
TELEMETRY_FEEDS = [
    "kn1-contrib-a",
    "kn1-contrib-b",
    "kn2-contrib-a",
    "kn2-contrib-b",
    "kn1-tx",
    "kn1-program",
    "asl-venue-return",
]
PHRASES = {
    "win": [
        "Failover from contribution A to B was seamless; nobody on the OTT side noticed.",
        "Captions stayed in sync across all **15 subtitle languages** for the whole keynote.",
        "Simulcast to the social platforms started on cue, 2 minutes before doors.",
        "ASL return feed latency stayed under 400 ms; the interpreter never had to wait.",
    ],
    "learning": [
        "Packet-loss burst on path B: `recv.packetsLost` spiked while RTT went from 70 to 165 ms. "
        "The SRT latency of 120 ms was too low for the reroute via Dublin.",
        "Encoder B restarted without warning; MediaLive flagged input loss for ~35 s on pipeline 1.",
        "The hotel alternate feed mixed playout and live with a 3 s offset nobody had measured.",
        "We only noticed the subtitle drift from a viewer message, not from monitoring.\n\n"
        "- check caption delay before doors\n- add an alarm on drift",
    ],
    "action": [
        "Raise SRT latency on transatlantic contribution paths to 4x RTT (>= 500 ms).",
        "Add an encoder watchdog that alerts before MediaLive input loss.",
        "Document the hotel alternate feed offset in the distribution runbook.",
        "Set up a caption-drift alarm on the monitoring dashboard.",
    ],
}


def populate(event, target: int = 300, chart_learnings: int = 22) -> int:
    """Top the event up to `target` live entries and to `chart_learnings` learnings on feeds
    that have telemetry (two charts each), through the entry service (idempotent ids).

    The demo's own entries mostly concern feeds without stored telemetry; until the linking
    issue freezes snapshots, these extra learnings give the report its charts.
    """
    from django.db.models import Max, Min

    from integrations.models import TelemetrySample
    from retro.models import Entry, Membership

    live = Entry.objects.filter(event=event, deleted_at__isnull=True, merged_into__isnull=True)
    feeds = {f.slug: f for f in event.feeds.filter(slug__in=TELEMETRY_FEEDS)}
    windows = {
        slug: TelemetrySample.objects.filter(feed_id=f.pk).aggregate(a=Min("time"), b=Max("time"))
        for slug, f in feeds.items()
    }
    windows = {k: v for k, v in windows.items() if v["a"]}
    have_charts = live.filter(kind="learning", feeds__slug__in=list(windows)).distinct().count()
    plain = max(target - live.count() - max(chart_learnings - have_charts, 0), 0)
    members = list(Membership.objects.filter(event=event).select_related("user", "site"))
    authors = [m for m in members if m.role in ("lead", "operator")] or members
    rng = random.Random(7)
    number = 0
    for _ in range(max(chart_learnings - have_charts, 0)):
        number += 1
        slug = list(windows)[number % len(windows)]
        a, b = windows[slug]["a"], windows[slug]["b"]
        _log(
            event,
            authors,
            number,
            "learning",
            rng,
            feed=feeds[slug],
            occurred_at=a + (b - a) * rng.random(),
            impact=rng.choice(["on_air", "caught", "none"]),
        )
    sessions = list(event.sessions.all())
    for _ in range(plain):
        number += 1
        kind = rng.choice(["win", "learning", "action", "action"])
        session = sessions[number % len(sessions)]
        extra = {}
        if kind == "action":
            extra = {
                "owner": members[number % len(members)].user,
                "status": rng.choice(["open", "open", "in_progress", "done"]),
            }
        _log(
            event,
            authors,
            number,
            kind,
            rng,
            session=session,
            occurred_at=session.scheduled_start + timedelta(minutes=rng.randint(0, 80)),
            stage=rng.choice(["contribution", "transmission", "distribution", "handoff"]),
            **extra,
        )
    return live.count()


def _log(event, authors, number, kind, rng, feed=None, **fields):
    from retro.services import log_entry

    author = authors[number % len(authors)]
    if feed is not None and feed.session_id:
        fields["session"] = feed.session
    log_entry(
        event=event,
        author=author.user,
        kind=kind,
        body=f"{rng.choice(PHRASES[kind])} (#{number})",
        client_id=uuid.uuid5(uuid.NAMESPACE_URL, f"tally-bench:{event.slug}:{kind}:{number}"),
        feeds=[feed] if feed else [],
        site=author.site,
        shareable=number % 3 == 0,
        **fields,
    )


def growth_event(name: str, entries: int):
    """An event with `entries` plain entries (no telemetry), for the growth figure."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from retro.models import Event, Session
    from retro.services import log_entry

    slug = f"bench-{name}"
    event = Event.objects.filter(slug=slug).first()
    if event is None:
        start = timezone.now() - timedelta(days=1)
        event = Event.objects.create(
            name=f"Growth {name}",
            slug=slug,
            venue="Bench hall",
            start=start,
            end=start + timedelta(days=3),
            state="live",
        )
        for i in range(4):
            Session.objects.create(
                event=event,
                title=f"Session {i}",
                slug=f"s{i}",
                day=start.date(),
                scheduled_start=start + timedelta(hours=i * 2),
                scheduled_end=start + timedelta(hours=i * 2 + 1),
            )
    author, _ = get_user_model().objects.get_or_create(username="bench-author")
    sessions = list(event.sessions.all())
    have = event.entries.count()
    for n in range(have, entries):
        kind = ("win", "learning", "action")[n % 3]
        log_entry(
            event=event,
            author=author,
            kind=kind,
            body=f"{PHRASES[kind][n % 4]} (#{n})",
            client_id=uuid.uuid5(uuid.NAMESPACE_URL, f"tally-bench:{slug}:{n}"),
            occurred_at=event.start + timedelta(minutes=n),
            session=sessions[n % 4],
            stage=("contribution", "distribution")[n % 2],
        )
    return event


def child(slug: str, sections: str) -> None:
    """Render one PDF in this (fresh) process and print its figures as JSON."""
    import io
    import resource

    from pypdf import PdfReader

    from reports import content, services
    from retro.models import Event

    event = Event.objects.get(slug=slug)
    options = content.parse_options(
        event, format="pdf", options={"sections": sections.split(",")} if sections else {}
    )
    started, cpu_started = time.monotonic(), time.process_time()
    data = services.generate(event, options)
    seconds, cpu = time.monotonic() - started, time.process_time() - cpu_started
    built = (
        content.build_report(
            event, content.parse_options(event, format="json", options={"sections": ["stages"]})
        )
        if "stages" in (sections or "stages")
        else {}
    )
    charts = built.get("stages", {}).get("chart_count", 0) if built else 0
    pages = len(PdfReader(io.BytesIO(data)).pages)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu_seconds": cpu,
                "peak_mb": peak_mb,
                "pages": pages,
                "charts": charts,
                "entries": event.entries.count(),
            }
        )
    )


def run_child(slug: str, sections: str = "") -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", slug, sections],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    from django.core.management import call_command

    from retro.models import Event

    with open(os.devnull, "w") as quiet:
        call_command("load_demo", stdout=quiet)
    demo = Event.objects.get(slug="demo")
    total = populate(demo)
    print(f"demo event: {total} entries", flush=True)
    baseline = run_child("demo", "cover")
    full = run_child("demo")
    print(f"full demo report: {full}", flush=True)
    ok_time = full["seconds"] <= 20 and full["charts"] >= 40
    report(
        "report.full_demo.seconds",
        full["seconds"],
        "s",
        "<= 20 s, >= 40 charts",
        ok_time,
        f"cover-only PDF {baseline['seconds']:.2f} s; {full['pages']} pages, {full['charts']} charts, "
        f"{full['entries']} entries; CPU {full['cpu_seconds']:.2f} s; load {os.getloadavg()[0]:.1f}",
    )
    report(
        "report.full_demo.peak_memory",
        full["peak_mb"],
        "MB",
        "<= 1024 MB",
        full["peak_mb"] <= 1024,
        f"cover-only PDF {baseline['peak_mb']:.0f} MB",
    )
    small = growth_event("small", int(os.environ.get("BENCH_REPORT_SMALL", 80)))
    large = growth_event("large", int(os.environ.get("BENCH_REPORT_LARGE", 1250)))
    twenty = run_child(small.slug)
    two_hundred = run_child(large.slug)
    ratio = two_hundred["seconds"] / twenty["seconds"]
    report(
        "report.growth.ratio",
        ratio,
        "x",
        "<= 12x",
        ratio <= 12,
        f"{twenty['pages']} pages in {twenty['seconds']:.2f} s vs {two_hundred['pages']} pages in {two_hundred['seconds']:.2f} s",
    )
    return 0 if ok_time and full["peak_mb"] <= 1024 and ratio <= 12 else 1


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tally.settings")
        import django

        django.setup()
        child(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "")
        sys.exit(0)
    setup_django(DB)
    sys.exit(main())
