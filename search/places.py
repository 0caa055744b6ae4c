"""Feeds and sessions as search hits: found by their slugs, names and titles (short texts,
so every word must appear; the same on PostgreSQL and SQLite)."""

from django.db.models import QuerySet
from django.urls import reverse
from django.utils.http import urlencode

from retro.models import Feed, Session

FEED_FIELDS = ("slug", "name", "language")
SESSION_FIELDS = ("title", "slug", "room")
# Above most text matches: a name that matches is usually what was looked for.
NAME_SCORE = 1.0


def feeds(events: list[int], *, stage: str = "") -> QuerySet[Feed]:
    """Feeds of these events (the ones the user may see)."""
    found = Feed.objects.filter(event__in=events)
    return found.filter(stage=stage) if stage else found


def sessions(events: list[int]) -> QuerySet[Session]:
    """Sessions of these events (the ones the user may see)."""
    return Session.objects.filter(event__in=events)


def ranked(matches: QuerySet, q: str, fields: tuple[str, ...], terms: list[str], n: int):
    """(pk, score), best first: a word that is a whole slug, name or title counts most, then
    words at the start of one, newest event first at equal score."""
    terms = [t.lower() for t in terms]
    rows = matches.order_by("-event__start", "pk").values_list("pk", *fields)
    scored = []
    for pk, *values in rows:
        values = [(v or "").lower() for v in values]
        score = NAME_SCORE
        score += sum(0.5 for t in terms for v in values if v == t or v == q.lower())
        score += sum(0.1 for t in terms for v in values if v.startswith(t))
        scored.append((pk, score))
    scored.sort(key=lambda item: -item[1])
    return scored[:n]


def feed_hits(ranked_feeds: list[tuple]) -> list[tuple]:
    """(pk, text for the snippet, Hit fields) of ranked feeds: each opens its feed page."""
    rows = Feed.objects.select_related("event", "session").in_bulk([pk for pk, _ in ranked_feeds])
    out = []
    for pk, score in ranked_feeds:
        feed = rows[pk]
        text = " · ".join(
            part
            for part in (
                feed.slug,
                feed.get_kind_display(),
                feed.language,
                feed.get_transport_display(),
                f"path {feed.path}" if feed.path != Feed.Path.NONE else "",
                feed.session.title if feed.session_id else "",
            )
            if part
        )
        fields = {
            "type": "feed",
            "title": f"{feed.name} · {feed.event.name}",
            "url": reverse("feed-page", args=[feed.event.slug, feed.slug]),
            "score": float(score),
            "stage": feed.stage,
            "event": feed.event.name,
            "event_slug": feed.event.slug,
            "extra": {"slug": feed.slug},
        }
        out.append((pk, text, fields))
    return out


def session_hits(ranked_sessions: list[tuple]) -> list[tuple]:
    """(pk, text, Hit fields) of ranked sessions: each opens the board for that session."""
    rows = Session.objects.select_related("event").in_bulk([pk for pk, _ in ranked_sessions])
    out = []
    for pk, score in ranked_sessions:
        session = rows[pk]
        board = reverse("event-board", args=[session.event.slug])
        text = " · ".join(p for p in (session.get_kind_display(), session.room, session.slug) if p)
        fields = {
            "type": "session",
            "title": f"{session.title} · {session.event.name}",
            "url": f"{board}?{urlencode({'session': session.slug})}",
            "score": float(score),
            "event": session.event.name,
            "event_slug": session.event.slug,
            "when": session.scheduled_start,
            "extra": {"slug": session.slug},
        }
        out.append((pk, text, fields))
    return out
