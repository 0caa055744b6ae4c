"""What the feed page shows: key metrics over a range, with entries, anomalies and on-air shading.

The step follows the range so a chart never reads more points than it can draw (`pick_step`):
raw samples when zoomed in to 15 min or less, 10 s rollups up to 2 h, 1 min rollups beyond (a
12 h day is 720 points per metric); every series is cut to at most MAX_POINTS points.
"""

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone

from retro import showclock
from retro.models import Entry, Feed
from tally import charts

from . import onair, pipelines, review, selectors, snapshots
from .models import Anomaly, TelemetryAlert

MAX_POINTS = 720


LIVE_WINDOW = timedelta(hours=1)
ON_AIR_MARGIN = timedelta(minutes=10)
CHART_WIDTH, CHART_HEIGHT = 1340, 200


def default_range(event, feed, now: datetime | None = None) -> tuple[datetime, datetime] | None:
    """What the page opens on: the last hour while the feed's session is on air (or its data
    is still arriving); else its on-air window (actual times when marked, else scheduled)
    with 10 min either side, when data came in it; else the last hour of data; None when the
    feed never reported (the whole event then)."""
    now = now or timezone.now()
    status = getattr(feed, "telemetry_status", None)
    last = status.last_sample_at if status is not None else None
    session = feed.session
    live = last is not None and now - last < timedelta(minutes=5)
    if (session is not None and showclock.is_on_air(session, now)) or live:
        return now - LIVE_WINDOW, now
    if session is not None:
        begin = session.actual_start or session.scheduled_start
        finish = session.actual_end or session.scheduled_end
        window = (begin - ON_AIR_MARGIN, min(finish, last or finish) + ON_AIR_MARGIN)
        if last is not None and last >= window[0]:
            return window  # ends with the data when it stopped before the session did
    if last is not None:
        return last - LIVE_WINDOW, last
    return None


def _range(event, feed, params) -> tuple[datetime, datetime]:
    """The range asked for; with no bounds, default_range; a bound left out defaults to the
    event's, within the 31 days the page can show (the last 31 days of a longer event)."""
    longest = selectors.MAX_RAW_RANGE
    start = selectors.parse_time("start", params.get("start"), None)
    end = selectors.parse_time("end", params.get("end"), None)
    if start is None and end is None and (chosen := default_range(event, feed)):
        return chosen
    if end is None:
        end = event.end if start is None or start >= event.end else min(event.end, start + longest)
        end = end if start is None or end > start else start + timedelta(hours=1)
    if start is None:
        start = max(event.start, end - longest)
    if end <= start:
        raise ValidationError({"end": "end must be after start."})
    if end - start > selectors.MAX_RAW_RANGE:
        raise ValidationError({"end": "The feed page shows at most 31 days."})
    return start, end


def pick_step(raw: str | None, start: datetime, end: datetime) -> str:
    """The finest step that still fits the chart's width (~MAX_POINTS points): raw up to 15 min
    of 1 Hz stats, 10 s rollups up to 2 h, 1 min beyond; ?step= overrides."""
    if raw:
        return selectors.parse_step(raw, start, end)
    seconds = (end - start).total_seconds()
    return "raw" if seconds <= 900 else "10s" if seconds <= 10 * MAX_POINTS else "1m"


def presets(event, feed) -> list[dict]:
    out = [{"label": "Whole event", "start": event.start, "end": event.end}]
    if chosen := default_range(event, feed):
        out.insert(0, {"label": "On air with data", "start": chosen[0], "end": chosen[1]})
    session = feed.session
    if session is not None:
        day = timezone.localtime(session.scheduled_start, event.tz).replace(
            hour=8, minute=0, second=0, microsecond=0
        )
        out += [
            {"label": "Session day (12 h)", "start": day, "end": day + timedelta(hours=12)},
            {
                "label": "On air ± 30 min",
                "start": session.scheduled_start - timedelta(minutes=30),
                "end": session.scheduled_end + timedelta(minutes=30),
            },
        ]
    status = getattr(feed, "telemetry_status", None)
    if status is not None and status.last_sample_at:
        last = status.last_sample_at
        out.append({"label": "Last hour of data", "start": last - timedelta(hours=1), "end": last})
    for p in out:
        p["query"] = f"start={snapshots.iso(p['start'])}&end={snapshots.iso(p['end'])}"
    return out


def _points(raw) -> list:
    return [(datetime.fromisoformat(t) if isinstance(t, str) else t, v) for t, v in raw]


def _sibling_series(graph, feed, metrics, start, end, step) -> list[tuple]:
    """(sibling feed, {metric name: points}) for the other paths of this feed's signal (path B
    on path A's page), drawn in the same charts; only the metrics this feed reports."""
    ids = onair.siblings(graph, feed.pk)
    if not ids:
        return []
    names = {m.name for m in metrics}
    siblings = Feed.objects.filter(pk__in=ids).in_bulk()
    per_feed = snapshots.feed_metrics(list(siblings.values()))
    out = []
    for pk in ids:
        shared = [m for m in per_feed.get(pk, []) if m.name in names]
        query = selectors.SeriesQuery(
            feed=siblings[pk], metrics=shared, start=start, end=end, step=step
        )
        points = {one["metric"]: one["points"] for one in selectors.series(query)}
        out.append((siblings[pk], points))
    return out


def _label(feed, metric: str, others: list) -> str:
    """A line's legend: the metric alone, or the feed and its path when paths are overlaid;
    with the pipeline when the channel's pipelines share the chart."""
    pipeline = pipelines.split(metric)[1]
    if not others:
        return metric if pipeline is None else f"pipeline {pipeline}"
    path = f" (path {feed.path})" if feed.path in ("A", "B") else ""
    return f"{feed.slug}{path}" + (f" pipeline {pipeline}" if pipeline is not None else "")


def _by_base(series: list[dict]) -> list[list[dict]]:
    """The series grouped by metric name without its pipeline: one chart draws every pipeline
    of a channel (medialive.NetworkIn/pipeline-0 and -1), in the selector's order."""
    groups: dict[str, list[dict]] = {}
    for one in series:
        groups.setdefault(pipelines.base(one["metric"]), []).append(one)
    return list(groups.values())


def context(event, feed, params, user) -> dict:
    """Everything templates/integrations/feed.html reads (one query per metric family)."""
    start, end = _range(event, feed, params)
    step = pick_step(params.get("step"), start, end)
    metrics = snapshots.feed_metrics([feed]).get(feed.pk, [])
    entries = _entries(feed, start, end)
    anomalies = list(
        Anomaly.objects.filter(feed=feed, start__lte=end)
        .filter(Q(end__isnull=True) | Q(end__gte=start))
        .order_by("start")[:500]
    )
    graph = review.feed_graph(event)
    review.annotate_anomalies(event, anomalies, graph)
    report = onair.path_report(event, graph)
    failovers = [s for s in onair.failovers(event, report, feed) if start <= s.at <= end]
    alerts = list(
        TelemetryAlert.objects.filter(feed=feed, time__gte=start, time__lte=end)
        .order_by("time")
        .only("kind", "state", "time", "message", "alarm_id")[:500]
    )
    spans = _spans(feed, anomalies, entries, failovers)
    others = _sibling_series(graph, feed, metrics, start, end, step)
    query = selectors.SeriesQuery(feed=feed, metrics=metrics, start=start, end=end, step=step)
    series = selectors.series(query)
    chart_list = [_chart(feed, group, others, spans, start, end) for group in _by_base(series)]
    return {
        "event": event,
        "feed": feed,
        "start": start,
        "end": end,
        "start_iso": snapshots.iso(start),
        "end_iso": snapshots.iso(end),
        "step": step,
        "charts": chart_list,
        "entries": entries,
        "anomalies": anomalies,
        "alerts": alerts,
        "presets": presets(event, feed),
        "failovers": failovers,
        "siblings": [sibling for sibling, _ in others],
        "chart_left": 58,
        "chart_plot_width": CHART_WIDTH - 58 - 12,
        "chart_width": CHART_WIDTH,
    }


def _entries(feed, start, end) -> list:
    """The feed's live entries in the range, oldest first (at most 500)."""
    return list(
        Entry.objects.filter(
            feeds=feed,
            deleted_at__isnull=True,
            merged_into__isnull=True,
            occurred_at__gte=start,
            occurred_at__lte=end,
        )
        .order_by("occurred_at")
        .only("pk", "kind", "body", "occurred_at")[:500]
    )


def _spans(feed, anomalies, entries, failovers) -> list:
    """The marks every chart of the page carries: on air, anomalies, entries, failovers."""
    spans = [
        charts.Span(a.start, a.end, f"{a.get_kind_display()} {a.key}", kind="alert")
        for a in anomalies
    ]
    session = feed.session
    if session is not None:
        spans.insert(
            0, charts.Span(session.scheduled_start, session.scheduled_end, "on air", kind="onair")
        )
    spans += [
        charts.Span(e.occurred_at, e.occurred_at, e.get_kind_display(), kind="entry")
        for e in entries
    ]
    spans += [
        charts.Span(s.at, s.at, f"failover {s.feed}: {s.previous} -> {s.to}", kind="failover")
        for s in failovers
    ]
    return spans


def _chart(feed, group, others, spans, start, end):
    """One metric's chart: the feed's line (one per pipeline), its sibling paths' overlaid."""
    unit = group[0]["unit"]
    peaks = unit in snapshots.PEAK_UNITS
    lines = []
    for one in group:
        for who, raw in [(feed, one["points"])] + [
            (sibling, by_metric.get(one["metric"], [])) for sibling, by_metric in others
        ]:
            sampled = snapshots.downsample(_points(raw), start, end, peaks, MAX_POINTS)
            lines.append(charts.Series(_label(who, one["metric"], others), unit, sampled))
    return charts.line_chart(
        title=group[0]["metric"] if len(group) == 1 else pipelines.base(group[0]["metric"]),
        series=lines,
        start=start,
        end=end,
        tz=timezone.get_current_timezone(),  # the viewer's zone (tally_tz cookie)
        spans=spans,
        width=CHART_WIDTH,
        height=CHART_HEIGHT,
        hover=True,
    )
