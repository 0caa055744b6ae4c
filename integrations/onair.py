"""The on-air path: which upstream carried each feed's signal, moment by moment, and what a
fault cost. Computed at read time from the event's anomalies, alerts, samples and entries.

A feed with several upstreams (`derived_from`: paths A and B into transmission, playout and
live into the hotel feed) is carried by one of them at a time. Evidence, latest first wins:
- a MediaLive "Channel Input Change" event on the feed (`active_input_attachment_name`
  naming an upstream by slug, source id or path letter);
- the MediaLive metric `medialive.PrimaryInputActive` on the feed (1: the A path, 0: B);
- an operator's entry about the feed or one of its upstreams saying "switched to B",
  "failed over to path A" or "switch to <feed slug>".
Without evidence the carrier is the first upstream (A before B) that is delivering: reporting
and free of anomalies (a silent SRT or MediaConnect source is an input-loss anomaly).

A fault on a feed reaches the feeds made from it only through the upstream that carried
them: a fault on a path while a healthy sibling carried the signal is "redundancy lost" on
that path, and "viewer impact" on an output counts only while its carrier was faulty (with
no evidence: while no healthy upstream remained).
"""

import itertools
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db.models import Q

from retro.models import Entry, Event, Feed

from . import pipelines, review
from .models import Anomaly, Metric, TelemetryAlert, TelemetrySample

Interval = tuple[datetime, datetime]
OUTPUT_STAGES = ("distribution", "handoff")
INPUT_CHANGE_KINDS = ("medialive_input_change",)
PRIMARY_INPUT_METRIC = "medialive.PrimaryInputActive"
# "switched to B", "failed over to path A", "switch back to kn1-contrib-b", "cut over to B"
SWITCH_WORDS = re.compile(
    r"\b(?:switch(?:ed|ing)?|fail(?:ed|ing)?\s*over|cut\s*over|went|moved?)\s+(?:back\s+)?"
    r"to\s+(?:the\s+)?(?:path\s+)?([a-z0-9][a-z0-9-]*)\b",
    re.IGNORECASE,
)


@dataclass
class Switch:
    """The moment a feed's carrier changed: from one upstream to another, and how we know."""

    at: datetime
    feed: str
    to: str
    previous: str | None
    how: str
    detail: str = ""


@dataclass
class PathReport:
    """Faults, carriers and their cost for one event."""

    graph: review.FeedGraph
    faults: dict[int, list[Interval]] = field(default_factory=dict)
    kinds: dict[int, set[str]] = field(default_factory=dict)
    carriers: dict[int, list[tuple[datetime, datetime, int, str]]] = field(default_factory=dict)
    switches: list[Switch] = field(default_factory=list)
    redundancy_lost: dict[int, list[Interval]] = field(default_factory=dict)
    covered_by: dict[int, set[str]] = field(default_factory=dict)

    def carrier_at(self, feed_id: int, moment: datetime) -> int | None:
        for start, end, upstream, _ in self.carriers.get(feed_id, []):
            if start <= moment < end:
                return upstream
        return None


def merge(intervals: list[Interval]) -> list[Interval]:
    merged: list[list[datetime]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        elif end > start:
            merged.append([start, end])
    return [(a, b) for a, b in merged]


def _covers(intervals: list[Interval], moment: datetime) -> bool:
    return any(a <= moment < b for a, b in intervals)


def _clip(intervals: list[Interval], window: Interval | None) -> list[Interval]:
    if window is None:
        return intervals
    lo, hi = window
    return [(max(a, lo), min(b, hi)) for a, b in intervals if b > lo and a < hi]


def _seconds(intervals: list[Interval]) -> float:
    return sum((b - a).total_seconds() for a, b in merge(intervals))


def _preference(graph: review.FeedGraph, upstreams: list[int]) -> list[int]:
    """A path first, then B, then the rest by slug."""
    order = {"A": 0, "B": 1}
    return sorted(upstreams, key=lambda pk: (order.get(graph.paths.get(pk), 2), graph.slugs[pk]))


def _resolve(graph: review.FeedGraph, upstreams: list[int], name: str) -> int | None:
    """The upstream a name means: its slug, one of its source ids, or its path letter."""
    wanted = name.strip().lower()
    for pk in upstreams:
        if graph.slugs[pk] == wanted or wanted in graph.sources.get(pk, ()):
            return pk
    letter = re.split(r"[-_ ]", wanted)[-1]
    matches = [pk for pk in upstreams if graph.paths.get(pk, "").lower() == letter]
    if len(matches) != 1:  # "playout" names hotel-playout when no other upstream says it
        matches = [pk for pk in upstreams if wanted in graph.slugs[pk].split("-")]
    return matches[0] if len(matches) == 1 else None


def _evidence(event: Event, graph: review.FeedGraph, nodes: list[int]) -> dict[int, list]:
    """Node id -> [(time, upstream id, how, detail)] from alerts, samples and entries."""
    found: dict[int, list] = {pk: [] for pk in nodes}
    if not nodes:
        return found
    alerts = TelemetryAlert.objects.filter(feed_id__in=nodes, kind__in=INPUT_CHANGE_KINDS)
    for feed_id, at, detail, message in alerts.values_list("feed_id", "time", "detail", "message"):
        name = (detail or {}).get("active_input_attachment_name") or ""
        target = _resolve(graph, graph.parents[feed_id], str(name)) if name else None
        if target is not None:
            found[feed_id].append((at, target, "MediaLive input change", message))
    last: dict[int, bool] = {}
    for feed_id, at, value in _primary_input_samples(nodes):
        primary = value >= 0.5
        if last.get(feed_id) == primary:
            continue
        last[feed_id] = primary
        paths = {graph.paths.get(pk): pk for pk in graph.parents[feed_id]}
        target = paths.get("A" if primary else "B")
        if target is not None:
            label = "primary" if primary else "secondary"
            found[feed_id].append((at, target, "MediaLive primary input active", label))
    _entry_evidence(event, graph, nodes, found)
    for items in found.values():
        items.sort(key=lambda item: item[0])
    return found


def _primary_input_samples(nodes: list[int]) -> list[tuple[int, datetime, float]]:
    """(feed, time, value) of `medialive.PrimaryInputActive`, oldest first: of one series per
    feed, the plain name or else its first pipeline's (each pipeline of a standard channel
    reports it; pipelines.py keeps them apart)."""
    names = dict(
        Metric.objects.filter(
            Q(name=PRIMARY_INPUT_METRIC) | Q(name__startswith=PRIMARY_INPUT_METRIC + pipelines.MARK)
        ).values_list("pk", "name")
    )
    if not names:
        return []
    rows = TelemetrySample.objects.filter(feed_id__in=nodes, metric_id__in=list(names))
    rows = list(rows.order_by("time").values_list("feed_id", "metric_id", "time", "value"))
    chosen: dict[int, int] = {}
    for feed_id, metric_id, _, _ in rows:
        if feed_id not in chosen or names[metric_id] < names[chosen[feed_id]]:
            chosen[feed_id] = metric_id
    return [(f, at, v) for f, m, at, v in rows if chosen[f] == m]


def _entry_evidence(event: Event, graph: review.FeedGraph, nodes: list[int], found) -> None:
    """Operators' "switched to B" entries about a node or one of its upstreams."""
    about: dict[int, list[int]] = {}
    for node in nodes:
        for pk in [node, *graph.parents[node]]:
            about.setdefault(pk, []).append(node)
    rows = Entry.feeds.through.objects.filter(
        feed_id__in=list(about),
        entry__event=event,
        entry__deleted_at__isnull=True,
        entry__merged_into__isnull=True,
    ).values_list("feed_id", "entry__occurred_at", "entry__body", "entry_id")
    seen = set()
    for feed_id, at, body, entry_id in rows:
        match = SWITCH_WORDS.search(body or "")
        if match is None or feed_id not in about:
            continue
        for node in about[feed_id]:
            target = _resolve(graph, graph.parents[node], match.group(1))
            if target is not None and (node, entry_id) not in seen:
                seen.add((node, entry_id))
                found[node].append((at, target, "operator entry", (body or "")[:120]))


def path_report(event: Event, graph: review.FeedGraph | None = None) -> PathReport:
    """Faults of every feed (its own and those carried to it), carriers and switches."""
    graph = graph or review.feed_graph(event)
    report = PathReport(graph=graph)
    now = datetime.now(UTC)
    own: dict[int, list[Interval]] = {}
    rows = Anomaly.objects.filter(event=event, dismissed_at__isnull=True).values_list(
        "feed_id", "start", "end", "kind", "key"
    )
    alarm_pipelines = _alert_pipelines(event, graph)
    by_pipeline: dict[int, dict[str, list[Interval]]] = {}
    for feed_id, start, end, kind, key in rows:
        interval = (start, end or max(start, min(now, event.end)))
        report.kinds.setdefault(feed_id, set()).add(kind)
        if kind == Anomaly.Kind.ALERT:
            pipeline = alarm_pipelines.get((feed_id, key))
        elif key.startswith("medialive.") and _channels(graph, feed_id):
            pipeline = _metric_pipeline(graph, feed_id, key)
        else:
            pipeline = None
        if pipeline is None:
            own.setdefault(feed_id, []).append(interval)
        else:
            by_pipeline.setdefault(feed_id, {}).setdefault(pipeline, []).append(interval)
    for feed_id, faulty in by_pipeline.items():
        _pipeline_faults(report, feed_id, faulty, own)
    nodes = [pk for pk, ups in graph.parents.items() if len(ups) > 1]
    evidence = _evidence(event, graph, nodes)
    for pk in graph.upstream_first():
        ups = graph.parents.get(pk, [])
        faults = list(own.get(pk, []))
        if len(ups) == 1:
            faults += report.faults.get(ups[0], [])
        elif len(ups) > 1:
            faults += _carry(report, pk, ups, evidence.get(pk, []), event)
        report.faults[pk] = merge(faults)
    return report


def _alert_pipelines(event: Event, graph: review.FeedGraph) -> dict[tuple[int, str], str]:
    """(feed id, alarm id) -> the MediaLive pipeline source ("channel:pipeline") an alarm is
    about, for feeds that list two pipelines or more of that channel (a standard channel)."""
    alerts = TelemetryAlert.objects.filter(feed__event=event, kind="medialive_alert")
    out = {}
    for feed_id, alarm_id, detail in alerts.values_list("feed_id", "alarm_id", "detail"):
        detail = detail or {}
        arn, pipeline = str(detail.get("channel_arn") or ""), detail.get("pipeline")
        if not arn or pipeline is None:
            continue
        channel = arn.rsplit(":", 1)[-1].lower()
        source = f"{channel}:{pipeline}"
        siblings = [s for s in graph.sources.get(feed_id, ()) if s.rsplit(":", 1)[0] == channel]
        if source in siblings and len(siblings) > 1:
            out[(feed_id, alarm_id)] = source
    return out


def _channels(graph: review.FeedGraph, feed_id: int) -> set[str]:
    """The MediaLive channels the feed lists two pipelines or more of ("ch-1:0", "ch-1:1")."""
    return pipelines.multi_pipeline_channels(graph.sources.get(feed_id, ()))


def _metric_pipeline(graph: review.FeedGraph, feed_id: int, key: str) -> str:
    """The "channel:pipeline" a MediaLive metric anomaly is about: its metric name carries the
    pipeline on a feed listing several (pipelines.py); "channel:?" when it does not (stored
    before pipelines were kept apart), which counts as one pipeline's trouble."""
    channels = sorted(_channels(graph, feed_id))
    pipeline = pipelines.split(key)[1]
    for channel in channels:
        if pipeline is not None and f"{channel}:{pipeline}" in graph.sources[feed_id]:
            return f"{channel}:{pipeline}"
    return f"{channels[0]}:?"


def _intersect(a: list[Interval], b: list[Interval]) -> list[Interval]:
    return merge([(max(x, y), min(u, v)) for x, u in a for y, v in b if max(x, y) < min(u, v)])


def _pipeline_faults(report: PathReport, feed_id: int, faulty: dict, own: dict) -> None:
    """Alarms of one pipeline of a two-pipeline channel: the feed is faulty only while every
    pipeline is; one pipeline down while another runs is redundancy lost on the feed."""
    graph = report.graph
    channels = {source.rsplit(":", 1)[0] for source in faulty}
    for channel in channels:
        names = sorted(s for s in graph.sources[feed_id] if s.rsplit(":", 1)[0] == channel)
        all_down = merge(faulty.get(names[0], []))
        for name in names[1:]:
            all_down = _intersect(all_down, merge(faulty.get(name, [])))
        own.setdefault(feed_id, []).extend(all_down)
        for name in [*names, f"{channel}:?"]:
            lost = _subtract(merge(faulty.get(name, [])), all_down)
            if not lost:
                continue
            report.redundancy_lost.setdefault(feed_id, []).extend(lost)
            others = [f"pipeline {n.rsplit(':', 1)[-1]}" for n in names if n != name]
            covered = report.covered_by.setdefault(feed_id, set())
            covered.update(others if not name.endswith(":?") else ["another pipeline"])


def _subtract(intervals: list[Interval], holes: list[Interval]) -> list[Interval]:
    out = []
    for start, end in intervals:
        for hole_start, hole_end in holes:
            if hole_end <= start or hole_start >= end:
                continue
            if hole_start > start:
                out.append((start, hole_start))
            start = max(start, hole_end)
        if end > start:
            out.append((start, end))
    return out


def _carry(report: PathReport, node: int, ups: list[int], evidence: list, event: Event) -> list:
    """The node's carrier over time; returns the intervals its carrier was faulty."""
    graph = report.graph
    ordered = _preference(graph, ups)
    faults = {pk: report.faults.get(pk, []) for pk in ups}
    times = {event.start, event.end}
    for intervals in faults.values():
        times.update(t for interval in intervals for t in interval)
    times.update(item[0] for item in evidence)
    bounds = sorted(t for t in times if event.start <= t <= event.end)
    carried, segments = [], []
    for start, end in itertools.pairwise(bounds):
        told = [item for item in evidence if item[0] <= start]
        if told:
            carrier, how = told[-1][1], told[-1][2]
        else:
            healthy = [pk for pk in ordered if not _covers(faults[pk], start)]
            carrier = healthy[0] if healthy else ordered[0]
            how = "inferred from telemetry" if healthy else "no healthy upstream"
        if _covers(faults[carrier], start):
            carried.append((start, end))
        else:
            for pk in ups:
                if pk != carrier and _covers(faults[pk], start):
                    report.redundancy_lost.setdefault(pk, []).append((start, end))
                    report.covered_by.setdefault(pk, set()).add(graph.slugs[carrier])
        if segments and segments[-1][2] == carrier:
            segments[-1] = (segments[-1][0], end, carrier, segments[-1][3])
        else:
            segments.append((start, end, carrier, how))
    report.carriers[node] = segments
    for before, after in itertools.pairwise(segments):
        detail = next((i[3] for i in evidence if i[0] == after[0] and i[1] == after[2]), "")
        report.switches.append(
            Switch(
                at=after[0],
                feed=graph.slugs[node],
                to=graph.slugs[after[2]],
                previous=graph.slugs[before[2]],
                how=after[3],
                detail=detail,
            )
        )
    return carried


def _window(graph: review.FeedGraph, pk: int) -> Interval | None:
    return graph.sessions.get(pk)


def viewer_impact(event: Event, report: PathReport | None = None) -> list[dict]:
    """Minutes each output (a distribution or handoff feed) was faulty on air, most first."""
    report = report or path_report(event)
    graph = report.graph
    rows = []
    for pk, faults in report.faults.items():
        if graph.stages.get(pk) not in OUTPUT_STAGES:
            continue
        on_air = _clip(faults, _window(graph, pk))
        seconds = _seconds(on_air)
        if seconds <= 0:
            continue
        kinds = set()
        for source in [pk, *graph.ancestors(pk)]:
            if any(_clip(report.faults.get(source, []), (a, b)) for a, b in on_air):
                kinds |= report.kinds.get(source, set())
        rows.append(
            {"feed": graph.slugs[pk], "minutes": round(seconds / 60, 1), "kinds": sorted(kinds)}
        )
    rows.sort(key=lambda r: (-r["minutes"], r["feed"]))
    return rows


def redundancy_lost(event: Event, report: PathReport | None = None) -> list[dict]:
    """Minutes each path was faulty on air while a healthy sibling carried the signal."""
    report = report or path_report(event)
    graph = report.graph
    rows = []
    for pk, intervals in report.redundancy_lost.items():
        seconds = _seconds(_clip(merge(intervals), _window(graph, pk)))
        if seconds > 0:
            rows.append(
                {
                    "feed": graph.slugs[pk],
                    "minutes": round(seconds / 60, 1),
                    "covered_by": _covering(report.covered_by.get(pk, set())),
                    "kinds": sorted(report.kinds.get(pk, set())),
                }
            )
    rows.sort(key=lambda r: (-r["minutes"], r["feed"]))
    return rows


def _covering(names: set[str]) -> list[str]:
    """Who carried the signal: "another pipeline" only when no pipeline is named."""
    if any(n.startswith("pipeline ") for n in names):
        names = names - {"another pipeline"}
    return sorted(names)


def failovers(
    event: Event, report: PathReport | None = None, feed: Feed | None = None
) -> list[Switch]:
    """Carrier changes while the switching feed was on air; only those about `feed` (as the
    switching feed or one of its upstreams) when given."""
    report = report or path_report(event)
    graph = report.graph
    by_slug = {slug: pk for pk, slug in graph.slugs.items()}
    out = []
    for switch in report.switches:
        window = _window(graph, by_slug[switch.feed])
        if window is not None and not window[0] <= switch.at < window[1]:
            continue
        if feed is not None and feed.slug not in (switch.feed, switch.to, switch.previous):
            continue
        out.append(switch)
    return sorted(out, key=lambda s: (s.at, s.feed))


def siblings(graph: review.FeedGraph, feed_id: int) -> list[int]:
    """The other paths of the same signal: feeds that share a redundant child with this one."""
    out = []
    for child in graph.children.get(feed_id, []):
        ups = graph.parents.get(child, [])
        if len(ups) > 1:
            out += [pk for pk in ups if pk != feed_id and pk not in out]
    return _preference(graph, out)
