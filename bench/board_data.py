"""Shared set-up for the board benchmarks: a fresh event with a realistic signal path,
members, and (optionally) many entries, on a scratch database."""

import uuid
from datetime import UTC, datetime, timedelta

PASSWORD = "bench-password-not-secret-42"
START = (datetime.now(UTC) - timedelta(days=1)).replace(hour=15, minute=0, second=0, microsecond=0)


def fresh_event(slug: str = "bench"):
    """Drop the bench event and users, then build them again: 8 sessions, 160 feeds."""
    from django.contrib.auth import get_user_model

    from retro import services
    from retro.models import Event, Feed, Session, Site

    User = get_user_model()
    Event.objects.filter(slug=slug).delete()
    User.objects.filter(username__startswith="bench-").delete()
    event = Event.objects.create(
        name="Bench Summit",
        slug=slug,
        venue="Hall",
        time_zone="America/Los_Angeles",
        start=START,
        end=START + timedelta(days=4),
        state=Event.State.LIVE,
    )
    site, _ = Site.objects.get_or_create(
        slug="bench-venue", defaults={"name": "Venue", "role": "encode"}
    )
    for s in range(8):
        begin = START + timedelta(hours=2 + s * 10)
        session = Session.objects.create(
            event=event,
            title=f"Session {s}",
            slug=f"s{s}",
            kind="keynote",
            room=f"Room {s % 2}",
            day=begin.date(),
            scheduled_start=begin,
            scheduled_end=begin + timedelta(hours=2),
        )
        for f in range(20):
            Feed.objects.create(
                event=event,
                session=session,
                slug=f"s{s}-feed-{f}",
                name=f"S{s} feed {f}",
                stage=["contribution", "transmission", "distribution", "handoff"][f % 4],
                origin=site,
                destination=site,
            )
    users = {}
    for role in ("lead", "operator"):
        user = User.objects.create_user(username=f"bench-{role}", password=PASSWORD)
        services.set_membership(event=event, user=user, role=role, actor=None)
        users[role] = user
    return event, users


def bulk_entries(event, author, n: int) -> None:
    """n entries spread over the event, each on a feed and a session (fast, no services)."""
    from retro.models import Entry
    from tally.markdown import render_markdown

    feeds = list(event.feeds.all())
    sessions = list(event.sessions.all())
    kinds = ["win", "learning", "action"]
    now = datetime.now(UTC)
    entries = []
    for i in range(n):
        body = f"Entry {i}: packet loss on **{feeds[i % len(feeds)].slug}**, RTT 165 ms"
        entries.append(
            Entry(
                id=uuid.uuid4(),
                event=event,
                author=author,
                kind=kinds[i % 3],
                body=body,
                body_html=render_markdown(body),
                status="open" if i % 3 == 2 else "",
                session=sessions[i % len(sessions)],
                stage="contribution",
                occurred_at=event.start + timedelta(minutes=(i * 3) % (4 * 24 * 60)),
                logged_at=now,
                updated_at=now - timedelta(hours=1),
                tags=["srt"],
            )
        )
    Entry.objects.bulk_create(entries, batch_size=500)
    Entry.feeds.through.objects.bulk_create(
        [
            Entry.feeds.through(entry_id=e.pk, feed_id=feeds[i % len(feeds)].pk)
            for i, e in enumerate(entries)
        ],
        batch_size=1000,
    )
