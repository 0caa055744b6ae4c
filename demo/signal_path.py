"""The demo event: a four-day cloud conference, built through the same rundown import as a
real event. Each loader is idempotent: running the demo twice changes nothing."""

import zoneinfo
from datetime import date, datetime, time, timedelta

import yaml
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from retro.models import Event, Membership, Role, Site
from retro.rundown import import_rundown

DEMO_SLUG = "demo"
VENUE_TZ = "America/Los_Angeles"
SUBTITLE_LANGUAGES = [
    "es",
    "fr",
    "de",
    "it",
    "pt",
    "ja",
    "ko",
    "zh",
    "hi",
    "ar",
    "id",
    "nl",
    "pl",
    "tr",
    "vi",
]
TRANSLATION_LANGUAGES = ["es", "fr", "de", "ja", "pt"]
SOCIAL_PLATFORMS = ["youtube", "linkedin", "twitch"]
KEYNOTES = [
    (1, "08:00", 120, "Opening keynote: the cloud at scale"),
    (2, "08:30", 120, "Keynote: infrastructure innovations"),
    (2, "15:00", 90, "Keynote: data and AI"),
    (3, "08:30", 120, "Keynote: builders and developers"),
    (4, "09:00", 90, "Closing keynote: what's next"),
]
TALK_TITLES = [
    "Serverless video pipelines",
    "Low-latency streaming at the edge",
    "SRT in production",
    "Resilient media workflows",
    "Captioning with AI",
    "Observability for live video",
    "Multi-region failover",
    "Cost-aware transcoding",
    "Securing contribution feeds",
    "Real-time subtitles in 15 languages",
    "Hybrid playout",
    "Scaling OTT handoff",
    "Event-driven broadcast control",
    "Sign language on every stream",
    "Analytics for live events",
    "Chaos testing a live show",
    "From rundown to runbook",
]
USERS = [
    ("lead", Role.LEAD, "bcr-nyc", False),
    ("operator", Role.OPERATOR, "venue-encode", False),
    ("viewer", Role.VIEWER, "mon-dublin", False),
    ("admin", None, None, True),
]
SITES = [
    {
        "slug": "venue-encode",
        "name": "Venue encode",
        "role": "encode",
        "city": "Las Vegas",
        "time_zone": VENUE_TZ,
    },
    {
        "slug": "bcr-nyc",
        "name": "Broadcast control",
        "role": "broadcast_control",
        "city": "New York",
        "time_zone": "America/New_York",
    },
    {
        "slug": "mon-venue",
        "name": "Venue monitoring",
        "role": "monitoring",
        "city": "Las Vegas",
        "time_zone": VENUE_TZ,
    },
    {
        "slug": "mon-dublin",
        "name": "Dublin monitoring",
        "role": "monitoring",
        "city": "Dublin",
        "time_zone": "Europe/Dublin",
    },
]


def demo_first_day() -> date:
    """Day one of the demo: kept from the first load, so a later run changes nothing.

    A new demo starts two days ago, so that today is day three of four and the board is live.
    """
    existing = Event.objects.filter(slug=DEMO_SLUG).first()
    tz = zoneinfo.ZoneInfo(VENUE_TZ)
    if existing is not None:
        return existing.start.astimezone(tz).date()
    return timezone.now().astimezone(tz).date() - timedelta(days=2)


def stale_notice() -> str | None:
    """What to say when the demo kept from an earlier load is no longer live today."""
    event = Event.objects.filter(slug=DEMO_SLUG).first()
    if event is None or event.end > timezone.now():
        return None
    return (
        f"The demo event was loaded on an earlier day and ended on {event.end:%Y-%m-%d}: "
        "a second load keeps its days. For a live demo, load it into a fresh database "
        "(embedded default: delete the data/ folder, then `make run`)."
    )


def _at(day: date, hhmm: str) -> datetime:
    hour, minute = (int(x) for x in hhmm.split(":"))
    return datetime.combine(day, time(hour, minute), tzinfo=zoneinfo.ZoneInfo(VENUE_TZ))


def schedule(first_day: date) -> list[dict]:
    """5 keynotes and 17 innovation talks over four days, in three rooms."""
    sessions = []
    for number, (day, start, minutes, title) in enumerate(KEYNOTES, start=1):
        begin = _at(first_day + timedelta(days=day - 1), start)
        sessions.append(
            {
                "slug": f"kn{number}",
                "title": title,
                "kind": "keynote",
                "room": "Main stage",
                "start": begin,
                "end": begin + timedelta(minutes=minutes),
            }
        )
    slots = ["11:00", "12:30", "14:00", "15:30", "17:00"]
    rooms = ["Room 1", "Room 2"]
    for number, title in enumerate(TALK_TITLES, start=1):
        day = (number - 1) % 4
        slot = slots[((number - 1) // 4) % len(slots)]
        begin = _at(first_day + timedelta(days=day), slot)
        sessions.append(
            {
                "slug": f"it{number:02d}",
                "title": title,
                "kind": "innovation_talk",
                "room": rooms[number % 2],
                "start": begin,
                "end": begin + timedelta(minutes=60),
            }
        )
    return sessions


BCR = {"origin": "bcr-nyc", "destination": "bcr-nyc"}


def session_feeds(session: dict) -> list[dict]:
    """Every feed one session produces, linked upstream through derived_from."""
    s = session["slug"]
    specs = _program_chain(s) + _accessibility(s)
    if session["kind"] == "keynote":
        specs += _keynote_outputs(s)
    ott = {"origin": "bcr-nyc", "transport": "hls_dash", "source_ids": [f"mediapackage:{s}-ott"]}
    specs.append(("ott", "OTT handoff", "program", "handoff", "program", ott))
    return [_feed(session, *spec) for spec in specs]


def _feed(session: dict, slug, name, kind, stage, upstream, extra) -> dict:
    s = session["slug"]
    feed = {
        "slug": f"{s}-{slug}",
        "name": f"{session['title']}: {name}",
        "kind": kind,
        "stage": stage,
        "session": s,
        **extra,
    }
    if upstream:
        ups = upstream if isinstance(upstream, list) else [upstream]
        feed["derived_from"] = [f"{s}-{u}" for u in ups]
    return feed


def _program_chain(s: str) -> list[tuple]:
    """(slug, name, kind, stage, upstream, extra) of contribution A/B, transmission, program."""
    venue_to_bcr = {"origin": "venue-encode", "destination": "bcr-nyc"}
    specs = [
        (
            f"contrib-{path}",
            f"program contribution path {path.upper()}",
            "program",
            "contribution",
            None,
            {
                **venue_to_bcr,
                "transport": "srt",
                "path": path.upper(),
                "source_ids": [f"srt://{s}-contrib-{path}"],
            },
        )
        for path in ("a", "b")
    ]
    flow = f"arn:aws:mediaconnect:us-west-2:111122223333:flow:1-{s}-tx:{s}-tx"
    specs.append(
        (
            "tx",
            "program transmission flow",
            "program",
            "transmission",
            ["contrib-a", "contrib-b"],  # the flow's two sources: A on air, B standby
            {**venue_to_bcr, "transport": "cloud_flow", "source_ids": [flow]},
        )
    )
    program = {**BCR, "transport": "cloud_flow", "source_ids": [f"ch-{s}:0", f"ch-{s}:1"]}
    specs.append(("program", "program output", "program", "distribution", "tx", program))
    return specs


def _accessibility(s: str) -> list[tuple]:
    """Sign language, AI English captions and the AI subtitles made from them."""
    asl = {**BCR, "language": "ase", "transport": "cloud_flow", "source_ids": [f"ch-{s}-asl:0"]}
    specs = [
        ("asl", "ASL interpreter feed", "sign_language", "distribution", "program", asl),
        (
            "captions-en",
            "AI English captions",
            "captions",
            "distribution",
            "program",
            {**BCR, "language": "en", "transport": "other", "source_ids": [f"captions:{s}:en"]},
        ),
    ]
    specs += [
        (
            f"subs-{lang}",
            f"AI subtitles ({lang})",
            "subtitles",
            "distribution",
            "captions-en",
            {
                **BCR,
                "language": lang,
                "transport": "other",
                "source_ids": [f"subtitles:{s}:{lang}"],
            },
        )
        for lang in SUBTITLE_LANGUAGES
    ]
    return specs


def _keynote_outputs(s: str) -> list[tuple]:
    """Keynotes only: audio translations and simulcasts to social platforms."""
    specs = [
        (
            f"audio-{lang}",
            f"audio translation ({lang})",
            "audio_translation",
            "distribution",
            "program",
            {
                **BCR,
                "language": lang,
                "transport": "cloud_flow",
                "source_ids": [f"audio:{s}:{lang}"],
            },
        )
        for lang in TRANSLATION_LANGUAGES
    ]
    specs += [
        (
            f"simulcast-{platform}",
            f"simulcast to {platform}",
            "simulcast",
            "distribution",
            "program",
            {"origin": "bcr-nyc", "transport": "rtmp", "source_ids": [f"ch-{s}-{platform}:0"]},
        )
        for platform in SOCIAL_PLATFORMS
    ]
    return specs


def demo_rundown(first_day: date) -> dict:
    """The whole demo rundown, in the documented YAML shape."""
    sessions = schedule(first_day)
    feeds = [feed for session in sessions for feed in session_feeds(session)]
    feeds += [
        {
            "slug": "asl-venue-return",
            "name": "Sign-language venue return",
            "kind": "venue_return",
            "stage": "distribution",
            "session": "kn1",
            "derived_from": "kn1-asl",
            "origin": "bcr-nyc",
            "destination": "venue-encode",
            "transport": "srt",
            "path": "A",
            "source_ids": ["srt://asl-venue-return"],
        },
        {
            "slug": "hotel-playout",
            "name": "Hotel playout (loops and promos)",
            "kind": "other",
            "stage": "distribution",
            "origin": "bcr-nyc",
            "destination": "bcr-nyc",
            "transport": "cloud_flow",
            "source_ids": ["ch-hotel-playout:0"],
        },
        {
            "slug": "hotel-alternate",
            "name": "Hotel alternate (playout + live)",
            "kind": "hotel_alternate",
            "stage": "distribution",
            "derived_from": ["kn1-program", "hotel-playout"],
            "origin": "bcr-nyc",
            "destination": "venue-encode",
            "transport": "srt",
            "path": "A",
            "source_ids": ["ch-hotel:0"],
        },
    ]
    start = _at(first_day, "07:00")
    return {
        "event": {
            "slug": DEMO_SLUG,
            "name": "Cloud Summit (demo)",
            "venue": "Las Vegas Convention Center",
            "time_zone": VENUE_TZ,
            "start": start.isoformat(),
            "end": (start + timedelta(days=3, hours=12)).isoformat(),
            "state": "live",
        },
        "sites": SITES,
        "sessions": [
            {**s, "start": s["start"].isoformat(), "end": s["end"].isoformat()} for s in sessions
        ],
        "feeds": feeds,
    }


def load_signal_path(out=None) -> Event:
    """Create or refresh the demo event, its sites, sessions and feeds."""
    text = yaml.safe_dump(demo_rundown(demo_first_day()), sort_keys=False)
    result = import_rundown(text=text, fmt="yaml")
    if out:
        out(
            f"signal path: {result.created} created, {result.updated} updated, "
            f"{result.unchanged} unchanged"
        )
    return result.event


def load_users(out=None) -> None:
    """The demo logins: lead, operator and viewer of the demo event, and an admin."""
    User = get_user_model()
    event = Event.objects.get(slug=DEMO_SLUG)
    password = settings.TALLY_DEMO_PASSWORD
    created = 0
    for username, role, site_slug, is_admin in USERS:
        user, made = User.objects.get_or_create(
            username=username,
            defaults={
                "email": f"{username}@demo.tally.local",
                "is_staff": is_admin,
                "is_superuser": is_admin,
            },
        )
        if made:
            user.set_password(password)
            user.save()
            created += 1
        if role is not None:
            site = Site.objects.filter(slug=site_slug).first()
            Membership.objects.get_or_create(
                event=event, user=user, defaults={"role": role, "site": site}
            )
    if out:
        out(f"users: {created} created")
