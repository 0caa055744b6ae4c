"""Caption coverage per session and language: minutes on air with captions going out.

Read from the 1 min rollups of `captions.present` (kept after raw samples are pruned): a minute
counts as covered when the metric's average over it is at least 0.5. On-air minutes run from the
session's scheduled start to its end, or to now while it is on air.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, DateTimeField, ExpressionWrapper, F, Q, Value
from django.db.models.functions import Least
from django.utils import timezone

from retro.models import Event, Feed, Session

from .formats import captions
from .models import Metric, TelemetryRollup

CAPTION_KINDS = (Feed.Kind.CAPTIONS, Feed.Kind.SUBTITLES)
MINUTE = timedelta(minutes=1)
# What the grid reads of a feed and its session (templates/integrations/_tag_caption_coverage).
_FEED_FIELDS = (
    "slug",
    "language",
    "session__slug",
    "session__title",
    "session__scheduled_start",
    "session__scheduled_end",
)


@dataclass
class Cell:
    """One session's coverage in one language; `present` is None without telemetry."""

    feed: str
    on_air: int
    present: int | None

    @property
    def missing(self) -> int:
        return self.on_air - (self.present or 0)

    @property
    def state(self) -> str:
        if self.present is None:
            return "nodata"
        if self.missing <= 0:
            return "full"
        return "none" if self.present == 0 else "partial"


def caption_coverage(event: Event, *, now: datetime | None = None) -> dict:
    """{"languages": [...], "rows": [{"session", "cells": [Cell | None per language]}],
    "without_data": sessions with caption feeds but no telemetry yet}."""
    now = now or timezone.now()
    feeds = list(
        Feed.objects.filter(event=event, kind__in=CAPTION_KINDS, session__isnull=False)
        .exclude(language="")
        .select_related("session")
        .only(*_FEED_FIELDS)  # a few hundred feeds: no JSON columns to decode
    )
    metric = Metric.objects.filter(name=captions.PRESENT).first()
    if not feeds or metric is None:
        return {"languages": [], "rows": [], "without_data": 0}
    covered = _covered_minutes(feeds, metric, now)
    languages = sorted(
        {f.language for f in feeds}, key=lambda lang: (lang != "en", lang)
    )  # English captions first, then the subtitles
    by_session: dict[Session, dict[str, Cell]] = {}
    for feed in feeds:
        session = feed.session
        on_air = _on_air_minutes(session, now)
        present = covered.get(feed.pk)
        cell = Cell(feed.slug, on_air, None if present is None else min(present, on_air))
        by_session.setdefault(session, {})[feed.language] = cell
    rows, without = [], 0
    for session in sorted(by_session, key=lambda s: (s.scheduled_start, s.slug)):
        cells = by_session[session]
        if all(c.present is None for c in cells.values()):
            without += 1
            continue
        rows.append({"session": session, "cells": [cells.get(lang) for lang in languages]})
    return {"languages": languages, "rows": rows, "without_data": without}


def _on_air_minutes(session: Session, now: datetime) -> int:
    end = min(session.scheduled_end, max(now, session.scheduled_start))
    return round((end - session.scheduled_start) / MINUTE)


def _covered_minutes(feeds: list[Feed], metric: Metric, now: datetime) -> dict[int, int]:
    """Feed id -> minutes of its session's on-air time with captions present (feeds with any
    rollup in that time only), counted by the database in one aggregated query: the grid
    reads one number per feed, not every minute's row (thousands of rows and timestamps for
    an event's subtitles)."""
    session = "feed__session__"
    rows = (
        TelemetryRollup.objects.filter(
            feed_id__in=[f.pk for f in feeds],
            step=60,
            metric=metric,
            bucket__gt=ExpressionWrapper(
                F(f"{session}scheduled_start") - MINUTE, output_field=DateTimeField()
            ),
            bucket__lt=Least(F(f"{session}scheduled_end"), Value(now)),
        )
        .values("feed_id")
        .annotate(present=Count("bucket", filter=Q(count__gt=0, sum__gte=F("count") * 0.5)))
        .values_list("feed_id", "present")
    )
    return dict(rows)
