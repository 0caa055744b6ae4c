"""Anomaly detection: alert pairs and threshold breaches become `Anomaly` rows as data arrives.

Called from `services.after_batch_stored`, inside the batch transaction, with the feed's
status row locked (so two batches of one feed never detect at the same time). Idempotent by
construction: a breach found again (a re-ingested batch, a redelivery) falls inside the
anomaly it already made and is merged into it, never added twice. Breaches of the same feed,
kind and key (metric or alarm id) closer than `merge_seconds` merge into one anomaly.

A sample speaks for the interval before it (SRT counters are per interval), so a run of
breaching samples t1..tn becomes the anomaly [t1 - spacing, tn], spacing being the feed's
typical sample spacing in the batch; CloudWatch datapoints are stamped with the start of their
period, so theirs is [t1, tn + spacing].
"""

import itertools
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import compress
from operator import attrgetter

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, Subquery
from django.utils import timezone

from retro import audit, hooks
from retro.models import Event, Feed

from . import pipelines
from .formats import captions, srt
from .formats.base import Alert, Sample
from .models import (
    Anomaly,
    FeedTelemetryStatus,
    Metric,
    TelemetryAlert,
    TelemetryRollup,
    TelemetrySample,
)

# Per-event thresholds (Event.thresholds), with their defaults and what they mean.
DEFAULTS: dict[str, float] = {
    "packet_loss_pct": 1.0,
    "unrecovered_packets": 0.0,
    "bitrate_drop_pct": 50.0,
    "gap_seconds": 5.0,
    "dropped_frames": 5.0,
    "cc_errors": 0.0,
    "merge_seconds": 60.0,
    "captions_missing_seconds": 30.0,
    "caption_lag_seconds": 10.0,
}
HELP = {
    "packet_loss_pct": "Packet loss above this share of packets received (%, before recovery).",
    "unrecovered_packets": "Unrecovered (dropped) packets per sample above this count.",
    "bitrate_drop_pct": "Bitrate below this share of the feed's recent median (%).",
    "gap_seconds": (
        "Input loss: no data while the feed's session is on air for longer than this or"
        " than three times the feed's reporting interval, whichever is longer (s). The"
        " default is 5 s; a value set here replaces that floor, the three intervals always"
        " apply."
    ),
    "dropped_frames": "Dropped frames per sample above this count.",
    "cc_errors": "Continuity-counter errors per sample above this count.",
    "merge_seconds": "Breaches closer than this merge into one anomaly (s).",
    "captions_missing_seconds": (
        "Captions missing: a caption or subtitle feed reports none going out, on air, for longer"
        " than this (s)."
    ),
    "caption_lag_seconds": "Caption lag: captions trail the program audio by more than this (s).",
}
# The largest value each threshold takes: past these a threshold would hide everything (or
# overflow the time arithmetic of merging), so they are refused with the bound named.
MAX_VALUES = {
    "packet_loss_pct": 100.0,
    "unrecovered_packets": 1_000_000.0,
    "bitrate_drop_pct": 100.0,
    "gap_seconds": 3600.0,
    "dropped_frames": 1_000_000.0,
    "cc_errors": 1_000_000.0,
    "merge_seconds": 3600.0,
    "captions_missing_seconds": 3600.0,
    "caption_lag_seconds": 3600.0,
}

K = Anomaly.Kind
# metric -> (kind, threshold name): the value breaches when it is above the threshold
ABOVE: dict[str, tuple[str, str]] = {
    "mediaconnect.SourcePacketLossPercent": (K.PACKET_LOSS, "packet_loss_pct"),
    "recv.packetsDropped": (K.UNRECOVERED_LOSS, "unrecovered_packets"),
    "mediaconnect.SourceNotRecoveredPackets": (K.UNRECOVERED_LOSS, "unrecovered_packets"),
    "medialive.InputLossSeconds": (K.INPUT_LOSS, "_zero"),
    "medialive.DroppedFrames": (K.DROPPED_FRAMES, "dropped_frames"),
    "mediaconnect.SourceContinuityCounter": (K.CC_ERRORS, "cc_errors"),
    captions.LATENCY: (K.CAPTION_LAG, "caption_lag_seconds"),
}
# total counters whose increase per sample is compared with the threshold
RISING: dict[str, tuple[str, str]] = {"encoder.drop_frames": (K.DROPPED_FRAMES, "dropped_frames")}
BITRATES = ("recv.mbitRate", "encoder.bitrate", "mediaconnect.SourceBitRate", "medialive.NetworkIn")
SRT_LOSS = ("recv.packetsLost", "recv.packets")
WATCHED = frozenset(
    (*ABOVE, *RISING, *BITRATES, *SRT_LOSS, srt.SOCKET, srt.ELAPSED, captions.PRESENT)
)
MIN_SPACING, MAX_SPACING = 1.0, 60.0
_METRIC, _TIME = attrgetter("metric"), attrgetter("time")
CLOUDWATCH = ("mediaconnect.", "medialive.", "mediapackage.")
BITRATE_LOOKBACK = timedelta(minutes=15)
# Metrics sent with every record, whatever else is missing from it (a caption service reports
# no latency while captions are missing): the gap rule prefers them among equally frequent ones.
HEARTBEATS = frozenset((srt.SOCKET, "encoder.frame", captions.PRESENT, captions.AUDIO_PRESENT))
# Stored samples a feed's reporting interval is estimated from when a batch has too few.
INTERVAL_HISTORY = 10
# Collectors post in batches, so "no data yet" is only silence after this long in real time
# (detect_silent_feeds); the gap's exact span comes from the data once it is back.
LATE_DELIVERY = timedelta(seconds=60)


def thresholds_for(event: Event) -> dict[str, float]:
    """The event's thresholds over the defaults."""
    stored = event.thresholds if isinstance(event.thresholds, dict) else {}
    return {name: float(stored.get(name, default)) for name, default in DEFAULTS.items()}


def clean_thresholds(values: dict) -> dict[str, float]:
    """Numbers from 0 to their MAX_VALUES bound; ValidationError naming each bad field."""
    errors, cleaned = {}, {}
    for name, raw in values.items():
        if name not in DEFAULTS:
            errors[name] = "Unknown threshold."
            continue
        try:
            number = float(raw)
        except (TypeError, ValueError):
            errors[name] = "Not a number."
            continue
        if isinstance(raw, bool) or number != number or number in (float("inf"), float("-inf")):
            errors[name] = "Not a number."
        elif number < 0:
            errors[name] = "Must not be negative."
        elif number > MAX_VALUES[name]:
            errors[name] = f"At most {MAX_VALUES[name]:,.0f}."
        else:
            cleaned[name] = number
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def set_thresholds(*, event: Event, actor, values: dict) -> dict[str, float]:
    """Change the event's detection thresholds (leads); audited with old and new values."""
    cleaned = clean_thresholds(values)
    event = Event.objects.select_for_update().get(pk=event.pk)
    before = thresholds_for(event)
    stored = dict(event.thresholds or {})
    stored.update(cleaned)
    after = {name: float(stored.get(name, d)) for name, d in DEFAULTS.items()}
    diff = {k: [before[k], after[k]] for k in DEFAULTS if before[k] != after[k]}
    if diff:
        event.thresholds = stored
        event.save(update_fields=["thresholds"])
        audit.record(
            actor=actor,
            action="thresholds.update",
            obj=event,
            event=event,
            summary="Anomaly thresholds changed",
            changes=diff,
        )
    return after


@transaction.atomic
def dismiss_anomaly(*, anomaly: Anomaly, actor, reason: str) -> Anomaly:
    """A lead marks an anomaly as not worth a retro entry, with a reason (audited)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the anomaly is dismissed."})
    if len(reason) > 2000:
        raise ValidationError({"reason": "2,000 characters at most."})
    anomaly = Anomaly.objects.select_for_update().get(pk=anomaly.pk)
    if anomaly.dismissed_at is None:
        anomaly.dismissed_at = timezone.now()
        anomaly.dismissed_by = actor
        anomaly.dismissed_reason = reason
        anomaly.save(update_fields=["dismissed_at", "dismissed_by", "dismissed_reason"])
        audit.record(
            actor=actor,
            action="anomaly.dismiss",
            obj=anomaly,
            event=anomaly.event,
            summary=f"{anomaly.get_kind_display()} on {anomaly.feed.slug} dismissed",
            changes={"dismissed_reason": ["", reason]},
        )
    return anomaly


# --- Detection -----------------------------------------------------------------------


@dataclass
class Breach:
    kind: str
    key: str
    start: datetime
    end: datetime | None
    peak: float | None
    unit: str
    source: str = Anomaly.Source.DETECTOR
    detail: dict | None = None


DETECT_FEED_FIELDS = (
    "id",
    "event_id",
    "language",
    "session__scheduled_start",
    "session__scheduled_end",
)


def detect(
    batch,
    samples_by_feed: dict[int, list[Sample]],
    alerts_by_feed: dict,
    metric_ids: dict[str, int] | None = None,
) -> int:
    """Find breaches and alert spans in one stored batch; merge them into anomalies.

    `metric_ids` (name -> id of the batch's metrics), when the caller has them, saves a lookup.
    """
    feed_ids = set(samples_by_feed) | set(alerts_by_feed)
    if not feed_ids:
        return 0
    # Only what the rules read (a remote write spans hundreds of feeds): the on-air window,
    # the language; the event (a batch belongs to one) is read once.
    feeds = Feed.objects.select_related("session").only(*DETECT_FEED_FIELDS).in_bulk(feed_ids)
    if not feeds:
        return 0
    event = Event.objects.only("thresholds").get(pk=batch.event_id)
    limits = thresholds_for(event)
    for feed_id in sorted(set(alerts_by_feed) - set(samples_by_feed)):
        # alert-only batches lock the feed's status row too (detection per feed is serial)
        FeedTelemetryStatus.objects.get_or_create(feed_id=feed_id)
        FeedTelemetryStatus.objects.select_for_update().filter(feed_id=feed_id).first()
    changed = 0
    recent = recent_bitrates(samples_by_feed)
    for feed_id in sorted(feed_ids):
        feed = feeds.get(feed_id)
        if feed is None:
            continue
        samples = samples_by_feed.get(feed_id, [])
        found = sample_breaches(feed, samples, limits, batch.format, metric_ids, recent)
        if batch.format == "ffmpeg":
            found += encoder_exits(samples, alerts_by_feed.get(feed_id, []))
        found += alert_spans(feed_id, alerts_by_feed.get(feed_id, []))
        for breach in found:
            changed += merge(event.pk, feed_id, breach, limits)
    return changed


def _spacing(times: list[datetime]) -> float:
    steps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    steps = [s for s in steps if s > 0]
    middle = statistics.median(steps) if steps else MIN_SPACING
    return min(max(middle, MIN_SPACING), MAX_SPACING)


def _runs(points: list[tuple[datetime, float]], merge_s: float, spacing: float) -> list[list]:
    """Group breaching points into runs: neighbours closer than merge_seconds + spacing."""
    runs: list[list] = []
    for moment, value in points:
        if runs and (moment - runs[-1][-1][0]).total_seconds() <= merge_s + spacing:
            runs[-1].append((moment, value))
        else:
            runs.append([(moment, value)])
    return runs


def _to_breaches(points, kind, key, unit, spacing, limits, *, worst=max, detail=None):
    # CloudWatch stamps a datapoint with the start of its period; the gear's own stats (SRT,
    # ffmpeg) with its end.
    forward = key.startswith(CLOUDWATCH)
    step = timedelta(seconds=spacing)
    out = []
    for run in _runs(points, limits["merge_seconds"], spacing):
        out.append(
            Breach(
                kind=kind,
                key=key,
                start=run[0][0] if forward else run[0][0] - step,
                end=run[-1][0] + step if forward else run[-1][0],
                peak=worst(v for _, v in run),
                unit=unit,
                detail=detail or {},
            )
        )
    return out


def sample_breaches(
    feed: Feed,
    samples: list[Sample],
    limits: dict,
    fmt: str,
    metric_ids: dict[str, int] | None = None,
    recent: dict[tuple[int, str], list[float]] | None = None,
) -> list[Breach]:
    """Threshold breaches in one feed's new samples (one metric at a time). `recent`
    (recent_bitrates of the batch) saves a query per bitrate series."""
    if not samples:
        return []
    # Only the metrics the rules watch, and the most reported one (for gaps), are grouped: a
    # batch of SRT statistics holds ~36 metrics, most of them watched by nothing.
    counts = Counter(map(_METRIC, samples))
    # One pipeline's series of a two-pipeline channel is watched like the plain metric.
    wanted = {name for name in counts if pipelines.base(name) in WATCHED}
    if on_air(feed) is not None:  # the gap rule: only for a feed with an on-air window
        wanted.add(max(sorted(counts), key=counts.__getitem__))
    if not wanted:
        return []  # no rule watches any of these metrics
    by_metric: dict[str, list[Sample]] = defaultdict(list)
    for s in compress(samples, map(wanted.__contains__, map(_METRIC, samples))):
        by_metric[s.metric].append(s)
    for series in by_metric.values():
        series.sort(key=_TIME)
    spacing = _spacing(sorted(set(map(_TIME, samples))))
    limits = {**limits, "_zero": 0.0}
    found: list[Breach] = []
    for metric, series in _ruled(by_metric, ABOVE):
        kind, name = ABOVE[pipelines.base(metric)]
        points = [(s.time, s.value) for s in series if s.value > limits[name]]
        found += _to_breaches(points, kind, metric, series[0].unit, spacing, limits)
    for metric, series in _ruled(by_metric, RISING):
        kind, name = RISING[pipelines.base(metric)]
        points = [
            (b.time, b.value - a.value)
            for a, b in itertools.pairwise(series)
            if b.value - a.value > limits[name]  # a reset (new encoder run) is negative
        ]
        found += _to_breaches(points, kind, metric, "frames", spacing, limits)
    found += _srt_loss(by_metric, spacing, limits)
    found += _bitrate_drops(feed, by_metric, spacing, limits, recent)
    found += _gaps(feed, by_metric, limits, fmt, metric_ids or {})
    found += _reconnects(feed, by_metric, metric_ids or {})
    found += _captions_missing(feed, by_metric, limits, metric_ids or {})
    return found


def _ruled(by_metric: dict[str, list[Sample]], rules) -> list[tuple[str, list[Sample]]]:
    """(metric, series) of the batch's metrics a rule names (a pipeline's series included:
    its breaches keep the pipeline in their key), in the rules' order."""
    order = {name: i for i, name in enumerate(rules)}
    found = [(m, s) for m, s in by_metric.items() if s and pipelines.base(m) in order]
    return sorted(found, key=lambda item: (order[pipelines.base(item[0])], item[0]))


def _srt_loss(by_metric, spacing, limits) -> list[Breach]:
    lost = {s.time: s.value for s in by_metric.get(SRT_LOSS[0], [])}
    if not lost:
        return []
    received = {s.time: s.value for s in by_metric.get(SRT_LOSS[1], [])}
    points = []
    for moment in sorted(lost):
        total = received.get(moment, 0.0) + lost[moment]
        pct = 100.0 * lost[moment] / total if total > 0 else 0.0
        if lost[moment] > 0 and pct > limits["packet_loss_pct"]:
            points.append((moment, round(pct, 3)))
    return _to_breaches(points, K.PACKET_LOSS, SRT_LOSS[0], "%", spacing, limits)


def _bitrate_drops(feed, by_metric, spacing, limits, recent=None) -> list[Breach]:
    """Two or more samples in a row below bitrate_drop_pct of the recent median."""
    found = []
    if limits["bitrate_drop_pct"] <= 0:
        return found
    for metric, series in _ruled(by_metric, BITRATES):
        before = recent.get((feed.pk, metric)) if recent is not None else None
        if before is None:
            before = _recent(feed, metric, series)
        reference = statistics.median([s.value for s in series] + before)
        if reference <= 0:
            continue
        floor = reference * limits["bitrate_drop_pct"] / 100
        points, streak = [], []
        for s in [*series, None]:
            if s is not None and s.value < floor:
                streak.append((s.time, s.value))
                continue
            if len(streak) >= 2:
                points += streak
            streak = []
        found += _to_breaches(
            points,
            K.BITRATE_DROP,
            metric,
            series[0].unit,
            spacing,
            limits,
            worst=min,
            detail={"reference": round(reference, 3)},
        )
    return found


def recent_bitrates(samples_by_feed: dict[int, list[Sample]]) -> dict[tuple[int, str], list]:
    """_recent for every bitrate series of a batch, in one query: {(feed id, metric): values}.
    A batch spanning many feeds (a Prometheus remote write) would otherwise query per feed."""
    firsts: dict[tuple[int, str], datetime] = {}
    for feed_id, samples in samples_by_feed.items():
        names = [m for m in set(map(_METRIC, samples)) if pipelines.base(m) in BITRATES]
        if names:
            metrics, times = list(map(_METRIC, samples)), list(map(_TIME, samples))
            for name in names:
                firsts[(feed_id, name)] = min(compress(times, map(name.__eq__, metrics)))
    if len(firsts) < 2:
        return {}  # one series: _recent asks for exactly its window
    rows = TelemetryRollup.objects.filter(
        step=60,
        feed_id__in={feed_id for feed_id, _ in firsts},
        metric__name__in={name for _, name in firsts},
        bucket__gte=min(firsts.values()) - BITRATE_LOOKBACK,
        bucket__lt=max(firsts.values()) - timedelta(minutes=1),
    ).values_list("feed_id", "metric__name", "bucket", "sum", "count")
    found: dict[tuple[int, str], list] = {key: [] for key in firsts}
    for feed_id, name, bucket, total, count in rows:
        first = firsts.get((feed_id, name))
        if first and count and first - BITRATE_LOOKBACK <= bucket < first - timedelta(minutes=1):
            found[(feed_id, name)].append(total / count)
    return found


def _recent(feed, metric: str, series: list[Sample]) -> list[float]:
    """Values of the metric in the minutes before the batch (1 min rollups), for the median."""
    first = series[0].time
    rows = TelemetryRollup.objects.filter(
        feed_id=feed.pk,
        step=60,
        metric__name=metric,
        bucket__gte=first - BITRATE_LOOKBACK,
        bucket__lt=first - timedelta(minutes=1),
    ).values_list("sum", "count")
    return [total / count for total, count in rows if count]


def on_air(feed: Feed) -> tuple[datetime, datetime] | None:
    session = feed.session
    if session is None:
        return None
    return session.scheduled_start, session.scheduled_end


def silence_limit(limits: dict, interval: float) -> float:
    """Seconds of silence on air that make input loss: max(gap_seconds, 3 x the interval).

    `gap_seconds` is the floor (5 s unless the event sets it); three reporting intervals
    always apply, so a feed reporting once a minute is not "lost" between two reports.
    """
    return max(limits["gap_seconds"], 3 * interval)


def _reporting_interval(stored, times: list[datetime]) -> float:
    """The feed's typical spacing of one metric: from the batch, or with the stored samples
    before it when the batch is too short to tell (a collector posting every record)."""
    if len(times) < 3:
        earlier = stored.filter(time__lt=times[0]).order_by("-time")[:INTERVAL_HISTORY]
        times = sorted({*earlier.values_list("time", flat=True), *times})
    return _spacing(times)


def _gaps(feed, by_metric, limits, fmt, metric_ids: dict[str, int]) -> list[Breach]:
    """No data while on air: holes in the feed's most reported metric, this batch and around it."""
    window = on_air(feed)
    if window is None:
        return []
    # the most reported metric; among equals one the gear sends with every record
    metric = max(sorted(by_metric), key=lambda m: (len(by_metric[m]), m in HEARTBEATS))
    times = [s.time for s in by_metric[metric]]
    metric_id = metric_ids.get(metric) or (
        Metric.objects.filter(name=metric).values_list("pk", flat=True).first()
    )
    stored = TelemetrySample.objects.filter(feed_id=feed.pk, metric_id=metric_id)
    limit = silence_limit(limits, _reporting_interval(stored, times))
    # The stored samples just before and just after the batch, in one round trip.
    around = (
        Metric.objects.filter(pk=metric_id)
        .annotate(
            before=Subquery(stored.filter(time__lt=times[0]).order_by("-time").values("time")[:1]),
            after=Subquery(stored.filter(time__gt=times[-1]).order_by("time").values("time")[:1]),
        )
        .values_list("before", "after")
        .first()
    ) or (None, None)
    edges = [*filter(None, around[:1]), *times, *filter(None, around[1:])]
    if around[0] is not None and (times[0] - around[0]).total_seconds() <= limit:
        _drop_late_silence(feed, max(around[0], window[0]) - timedelta(seconds=limit), times[0])
    found = []
    for a, b in itertools.pairwise(edges):
        if (b - a).total_seconds() <= limit:
            continue
        start, end = max(a, window[0]), min(b, window[1])
        if (end - start).total_seconds() <= 0:
            continue
        detail = {"metric": metric, "silent_seconds": round((b - a).total_seconds(), 1)}
        if metric.startswith("encoder."):
            detail["reason"] = "encoder stopped without progress=end"
        found.append(
            Breach(
                K.INPUT_LOSS,
                "gap",
                start,
                end,
                round((end - start).total_seconds(), 1),
                "s",
                detail=detail,
            )
        )
    return found


def _drop_late_silence(feed, since: datetime, until: datetime) -> None:
    """An open input loss that detect_silent_feeds opened (only it leaves them open) between
    `since` and `until` was data arriving late, not silence: the batch that filled the hole
    shows no gap there, so the anomaly goes."""
    Anomaly.objects.filter(
        feed_id=feed.pk,
        kind=K.INPUT_LOSS,
        key="gap",
        source=Anomaly.Source.DETECTOR,
        start__gte=since,
        start__lt=until,
        end__isnull=True,
        dismissed_at__isnull=True,
    ).delete()


def _captions_missing(feed, by_metric, limits, metric_ids) -> list[Breach]:
    """On air, `captions.present` below 0.5 for longer than captions_missing_seconds in a row,
    counting the stored samples just before and after the batch (a collector posting every few
    seconds splits an outage over many batches, which may arrive in any order)."""
    series = by_metric.get(captions.PRESENT)
    window = on_air(feed)
    if not series or window is None:
        return []
    longest = limits["captions_missing_seconds"]
    metric_id = metric_ids.get(captions.PRESENT) or (
        Metric.objects.filter(name=captions.PRESENT).values_list("pk", flat=True).first()
    )
    reach = timedelta(seconds=longest + 2 * MAX_SPACING)
    around = TelemetrySample.objects.filter(
        Q(time__gte=series[0].time - reach, time__lt=series[0].time)
        | Q(time__gt=series[-1].time, time__lte=series[-1].time + reach),
        feed_id=feed.pk,
        metric_id=metric_id,
    ).values_list("time", "value")
    points = sorted({*around, *((s.time, s.value) for s in series)})
    step = timedelta(seconds=_spacing([moment for moment, _ in points]))
    found, streak = [], []
    for moment, value in [*points, (None, None)]:
        if moment is not None and value < 0.5 and window[0] < moment <= window[1] + step:
            streak.append(moment)
            continue
        # a sample speaks for the interval before it: a streak t1..tn is [t1 - spacing, tn]
        if streak and (streak[-1] - streak[0] + step).total_seconds() > longest:
            start = max(streak[0] - step, window[0])
            detail = {"language": feed.language, "metric": captions.PRESENT}
            found.append(
                Breach(
                    K.CAPTIONS_MISSING, captions.PRESENT, start, streak[-1], None, "", detail=detail
                )
            )
        streak = []
    return found


def _reconnects(feed, by_metric, metric_ids: dict[str, int]) -> list[Breach]:
    """SRT records of consecutive connections (a new socket id, or `time` reset on the same
    socket; a counter wrap is neither), this batch and the stored records around it."""
    sockets = by_metric.get(srt.SOCKET)
    if not sockets:
        return []
    elapsed = {s.time: s.value for s in by_metric.get(srt.ELAPSED, [])}
    records = {s.time: (int(s.value), elapsed.get(s.time)) for s in sockets}
    records.update(_stored_records_around(feed, sockets[0].time, sockets[-1].time, metric_ids))
    found = []
    for (t0, before), (t1, after) in itertools.pairwise(sorted(records.items())):
        if not srt.is_reconnect(before, after):
            continue
        reason = "new socket id" if before[0] != after[0] else "SRT time reset"
        detail = {"reason": reason, "socket_before": before[0], "socket_after": after[0]}
        found.append(Breach(K.RECONNECT, srt.SOCKET, t0, t1, None, "", detail=detail))
    return found


def _stored_records_around(feed, first, last, metric_ids) -> dict:
    """time -> (socket id, `time`) of the stored SRT records just before and just after."""
    if srt.SOCKET not in metric_ids:
        metric_ids = dict(
            Metric.objects.filter(name__in=[srt.SOCKET, srt.ELAPSED]).values_list("name", "pk")
        )
    socket_id = metric_ids.get(srt.SOCKET)
    ids = [socket_id, metric_ids.get(srt.ELAPSED)]
    stored = TelemetrySample.objects.filter(feed_id=feed.pk, metric_id=socket_id)
    before = stored.filter(time__lt=first).order_by("-time").values("time")[:1]
    after = stored.filter(time__gt=last).order_by("time").values("time")[:1]
    rows = TelemetrySample.objects.filter(feed_id=feed.pk, metric_id__in=ids).filter(
        Q(time=Subquery(before)) | Q(time=Subquery(after))
    )
    found: dict = {}
    for moment, metric_id, value in rows.values_list("time", "metric_id", "value"):
        sid, age = found.get(moment, (None, None))
        if metric_id == socket_id:
            sid = int(value)
        else:
            age = value
        found[moment] = (sid, age)
    return {moment: record for moment, record in found.items() if record[0] is not None}


def encoder_exits(samples: list[Sample], alerts: list[Alert]) -> list[Breach]:
    """An ffmpeg progress file whose last block is not `progress=end`: the encoder was killed or
    crashed. The anomaly sits at that last block (the encoder's last sign of life)."""
    if not samples:
        return []
    last = max(map(_TIME, samples))
    if any(a.kind == "encoder_end" and a.time >= last for a in alerts):
        return []
    frames = [s.value for s in samples if s.metric == "encoder.frame" and s.time == last]
    detail = {"reason": "progress file ended without progress=end"}
    if frames:
        detail["last_frame"] = int(frames[0])
    return [Breach(K.ENCODER_EXIT, "progress", last, last, None, "", detail=detail)]


def alert_spans(feed_id: int, alerts: list[Alert]) -> list[Breach]:
    """SET → CLEARED spans of the alarms this batch touched, rebuilt from every stored report."""
    alarm_ids = sorted({a.alarm_id[:300] for a in alerts if a.state in ("set", "cleared")})
    found = []
    for alarm_id in alarm_ids:
        reports = TelemetryAlert.objects.filter(feed_id=feed_id, alarm_id=alarm_id).order_by(
            "time", "state"
        )
        opened = None
        for report in reports:
            if report.state == TelemetryAlert.State.SET and opened is None:
                opened = report
            elif report.state == TelemetryAlert.State.CLEARED and opened is not None:
                found.append(_alert_breach(opened, report.time))
                opened = None
        if opened is not None:
            found.append(_alert_breach(opened, None))
    return found


def _alert_breach(report: TelemetryAlert, end: datetime | None) -> Breach:
    return Breach(
        kind=K.ALERT,
        key=report.alarm_id,
        start=report.time,
        end=end,
        peak=None,
        unit="",
        source=Anomaly.Source.ALERT,
        detail={"alert": report.kind, "message": report.message[:500]},
    )


def merge(event_id: int, feed_id: int, breach: Breach, limits: dict) -> int:
    """Fold a breach into the anomalies of its feed, kind and key; 1 when something changed."""
    slack = timedelta(seconds=limits["merge_seconds"])
    if breach.source == Anomaly.Source.ALERT:
        slack = timedelta(0)  # an alarm's spans are exact; a new SET is a new anomaly
    end = breach.end or breach.start
    overlapping = list(
        Anomaly.objects.filter(
            feed_id=feed_id, kind=breach.kind, key=breach.key, start__lte=end + slack
        )
        .filter(Q(end__isnull=True) | Q(end__gte=breach.start - slack))
        .order_by("start", "pk")
    )
    if not overlapping:
        anomaly = Anomaly.objects.create(
            event_id=event_id,
            feed_id=feed_id,
            kind=breach.kind,
            key=breach.key,
            source=breach.source,
            start=breach.start,
            end=breach.end,
            peak=breach.peak,
            unit=breach.unit,
            detail=breach.detail or {},
        )
        hooks.announce("anomaly.opened", anomaly)
        if anomaly.end is not None:
            hooks.announce("anomaly.closed", anomaly)
        return 1
    keep, *others = overlapping
    before = (keep.start, keep.end, keep.peak)
    was_open = keep.end is None
    worst = min if breach.kind == K.BITRATE_DROP else max
    for other in [*others, breach]:
        keep.start = min(keep.start, other.start)
        keep.end = _later_end(keep, other, breach)
        peaks = [p for p in (keep.peak, other.peak) if p is not None]
        keep.peak = worst(peaks) if peaks else None
    if (keep.start, keep.end, keep.peak) == before and not others:
        return 0
    if others:
        Anomaly.objects.filter(pk__in=[o.pk for o in others]).delete()
    keep.updated_at = timezone.now()
    keep.save(update_fields=["start", "end", "peak", "updated_at"])
    if was_open and keep.end is not None:
        hooks.announce("anomaly.closed", keep)
    return 1


def _later_end(keep, other, breach) -> datetime | None:
    """The merged end: an ongoing anomaly stays open unless data (or a CLEARED) closes it."""
    if keep.end is None or other.end is None:
        if breach.source == Anomaly.Source.ALERT:
            return keep.end if other.end is None else other.end
        closed = [e for e in (keep.end, other.end) if e is not None]
        return max(closed) if closed and breach.key == "gap" else None
    return max(keep.end, other.end)


def _status_interval(status: FeedTelemetryStatus) -> float:
    """The feed's reporting interval from its last stored samples of one metric it reports."""
    if not status.metric_ids:
        return MIN_SPACING
    times = (
        TelemetrySample.objects.filter(
            feed_id=status.feed_id,
            metric_id=status.metric_ids[0],
            time__lte=status.last_sample_at,
        )
        .order_by("-time")
        .values_list("time", flat=True)[:INTERVAL_HISTORY]
    )
    return _spacing(sorted(times))


def detect_silent_feeds(*, now: datetime | None = None) -> int:
    """Open an input-loss anomaly for on-air feeds that stopped reporting (no data after it)."""
    now = now or timezone.now()
    opened = 0
    statuses = FeedTelemetryStatus.objects.filter(
        last_sample_at__isnull=False,
        feed__session__scheduled_start__lte=now,
        feed__session__scheduled_end__gte=now - timedelta(hours=1),
    ).select_related("feed__session", "feed__event")
    for status in statuses:
        limits = thresholds_for(status.feed.event)
        window = on_air(status.feed)
        start = max(status.last_sample_at, window[0])
        end = min(now, window[1])
        if now - status.last_sample_at <= LATE_DELIVERY or end <= start:
            continue
        if (now - status.last_sample_at).total_seconds() <= silence_limit(
            limits, _status_interval(status)
        ):
            continue
        with transaction.atomic():
            FeedTelemetryStatus.objects.select_for_update().filter(pk=status.pk).first()
            breach = Breach(
                K.INPUT_LOSS,
                "gap",
                start,
                None if now < window[1] else end,
                None,
                "s",
                detail={"reason": "no data since the last sample while on air"},
            )
            opened += merge(status.feed.event_id, status.feed_id, breach, limits)
    return opened
