"""Reads for anomalies: review state (unreviewed = no entry covers it), downstream impact.

Shared by the anomalies API, the board, the event page, the feed page and the PDF report.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db.models import Max, Q
from django.http import Http404

from retro.models import Entry, Event, Feed, live_entries

from .models import Anomaly


@dataclass
class FeedGraph:
    """An event's feeds and their derived_from links (several upstreams per feed), loaded once
    (two queries)."""

    slugs: dict[int, str]
    parents: dict[int, list[int]]
    children: dict[int, list[int]]
    sessions: dict[int, tuple[datetime, datetime] | None]
    stages: dict[int, str] = field(default_factory=dict)
    paths: dict[int, str] = field(default_factory=dict)
    sources: dict[int, set[str]] = field(default_factory=dict)  # lower-cased source ids

    def _walk(self, feed_id: int, links: dict[int, list[int]]) -> list[int]:
        out, stack, seen = [], list(links.get(feed_id, [])), {feed_id}
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            out.append(current)
            stack.extend(links.get(current, []))
        return sorted(out, key=lambda pk: self.slugs[pk])

    def ancestors(self, feed_id: int) -> list[int]:
        return self._walk(feed_id, self.parents)

    def descendants(self, feed_id: int) -> list[int]:
        return self._walk(feed_id, self.children)

    def upstream_first(self) -> list[int]:
        """Every feed after all of its upstreams (links that would loop are ignored)."""
        ordered, state = [], {}
        for root in sorted(self.slugs, key=self.slugs.get):
            stack = [(root, False)]
            while stack:
                pk, ready = stack.pop()
                if ready:
                    state[pk] = "done"
                    ordered.append(pk)
                elif pk not in state:
                    state[pk] = "open"
                    stack.append((pk, True))
                    stack.extend((up, False) for up in self.parents.get(pk, []) if up not in state)
        return ordered


def feed_graph(event: Event) -> FeedGraph:
    rows = Feed.objects.filter(event=event).values_list(
        "pk",
        "slug",
        "stage",
        "path",
        "source_ids",
        "session__scheduled_start",
        "session__scheduled_end",
    )
    graph = FeedGraph(slugs={}, parents={}, children={}, sessions={})
    for pk, slug, stage, path, sources, start, end in rows:
        graph.slugs[pk] = slug
        graph.stages[pk] = stage
        graph.paths[pk] = path
        graph.sources[pk] = {str(s).lower() for s in sources or []}
        graph.sessions[pk] = (start, end) if start else None
    links = Feed.derived_from.through.objects.filter(from_feed__event=event).order_by("pk")
    for child, parent in links.values_list("from_feed_id", "to_feed_id"):
        graph.parents.setdefault(child, []).append(parent)
        graph.children.setdefault(parent, []).append(child)
    return graph


# More anomaly ranges than this are not worth one OR branch each: one range spans them all.
MAX_RANGES = 50


def _merged_ranges(ranges: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[list[datetime]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    if len(merged) > MAX_RANGES:
        return [(merged[0][0], max(end for _, end in merged))]
    return [(start, end) for start, end in merged]


def _entry_windows(
    event: Event, anomalies: list, graph: FeedGraph, now: datetime
) -> dict[int, list[tuple[datetime, datetime, str]]]:
    """Feed id -> (window start, window end, entry id) of the live entries about that feed
    whose window can overlap one of `anomalies` (entries on the anomalies' feeds and their
    upstream feeds only, occurred_at within the anomalies' ranges widened by the widest
    window). Two queries whatever the number of entries or anomalies; none without anomalies.
    """

    if not anomalies:
        return {}
    feed_ids: set[int] = set()
    for anomaly in anomalies:
        feed_ids.add(anomaly.feed_id)
        feed_ids.update(graph.ancestors(anomaly.feed_id))
    widest = (
        live_entries()
        .filter(event=event)
        .aggregate(before=Max("window_before"), after=Max("window_after"))
    )
    # window [at - before, at + after] overlaps [start, end] <=> start - after <= at <= end + before
    before = timedelta(seconds=widest["before"] or 0)
    after = timedelta(seconds=widest["after"] or 0)
    ranges = _merged_ranges([(a.start - after, (a.end or now) + before) for a in anomalies])
    when = Q()
    for start, end in ranges:
        when |= Q(entry__occurred_at__gte=start, entry__occurred_at__lte=end)
    through = Entry.feeds.through
    rows = (
        through.objects.filter(
            when,
            feed_id__in=sorted(feed_ids),
            entry__event=event,
            entry__deleted_at__isnull=True,
            entry__merged_into__isnull=True,
        )
        .order_by("entry__occurred_at", "entry_id")
        .values_list(
            "feed_id",
            "entry_id",
            "entry__occurred_at",
            "entry__window_before",
            "entry__window_after",
        )
    )
    out: dict[int, list] = {}
    for feed_id, entry_id, at, before_s, after_s in rows:
        out.setdefault(feed_id, []).append(
            (at - timedelta(seconds=before_s), at + timedelta(seconds=after_s), str(entry_id))
        )
    return out


def annotate_anomalies(event: Event, anomalies: list, graph: FeedGraph | None = None) -> list:
    """Set .reviewed, .entry_ids and .affected (slugs downstream) on each anomaly.

    Reviewed: dismissed, or a live entry about the feed or a feed it derives from (any
    depth) has a telemetry window overlapping the anomaly.
    """
    graph = graph or feed_graph(event)
    now = datetime.now(UTC)
    windows = _entry_windows(event, anomalies, graph, now)
    for anomaly in anomalies:
        end = anomaly.end or now
        entry_ids = []
        for feed_id in [anomaly.feed_id, *graph.ancestors(anomaly.feed_id)]:
            for start, stop, entry_id in windows.get(feed_id, []):
                if start <= end and stop >= anomaly.start and entry_id not in entry_ids:
                    entry_ids.append(entry_id)
        anomaly.entry_ids = entry_ids
        anomaly.reviewed = bool(entry_ids) or anomaly.dismissed_at is not None
        anomaly.affected = [graph.slugs[pk] for pk in graph.descendants(anomaly.feed_id)]
        anomaly.feed_slug = graph.slugs.get(anomaly.feed_id, "")
    return anomalies


ANOMALY_FILTERS = ("feed", "reviewed", "kind")


def anomalies_for_event(event: Event, params=None) -> list:
    """The event's anomalies, annotated, filtered by ?feed=&reviewed=&kind= (400 on bad ones)."""
    params = params or {}
    query = Anomaly.objects.filter(event=event).order_by("start", "pk")
    feed_slug = params.get("feed") or ""
    if feed_slug:
        feed = event.feeds.filter(slug=feed_slug).first()
        if feed is None:
            raise Http404(f"No feed {feed_slug!r} in this event.")
        query = query.filter(feed=feed)
    kind = params.get("kind") or ""
    if kind:
        if kind not in Anomaly.Kind.values:
            raise ValidationError({"kind": f"Use one of {', '.join(Anomaly.Kind.values)}."})
        query = query.filter(kind=kind)
    reviewed = (params.get("reviewed") or "").lower()
    if reviewed not in ("", "true", "false", "1", "0", "yes", "no"):
        raise ValidationError({"reviewed": "Use true or false."})
    items = annotate_anomalies(event, list(query[:5000]))
    if reviewed:
        wanted = reviewed in ("true", "1", "yes")
        items = [a for a in items if a.reviewed == wanted]
    return items


def unreviewed_anomalies(event: Event) -> list:
    return anomalies_for_event(event, {"reviewed": "false"})
