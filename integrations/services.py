"""Writes for telemetry ingestion: ingest keys, accepting batches, processing them, quarantine.

Durable first: `ingest_batch` stores the raw request body and enqueues only the batch id after
commit. `process_batch` parses, stores samples, rollups and alerts and marks the batch done in
one transaction, so a killed worker leaves it pending and a rerun stores it exactly once.
"""

import gc
import hashlib
import hmac
import json
import secrets
from collections import defaultdict
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from operator import attrgetter

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models.functions import Length
from django.utils import timezone

from retro import audit
from retro import services as retro_services
from retro.models import Event, Feed

from . import anomalies, pipelines, storage
from .formats import FormatError, ParseResult, check, parse
from .formats.base import Alert, Rejected, Sample
from .formats.cloudwatch import load_body as load_firehose_body
from .formats.prometheus import FEED_SOURCE_PREFIX
from .models import (
    FeedTelemetryStatus,
    IngestBatch,
    IngestKey,
    TelemetryAlert,
    UnmappedSource,
)

FORMATS = (
    "srt-json",
    "srt-csv",
    "ffmpeg",
    "firehose",
    "eventbridge",
    "generic-json",
    "generic-csv",
    "prometheus",
)
KEY_PREFIX = "tik_"
MAX_REJECTED_KEPT = 500
NO_SOURCE = "(no source id)"
_TIME = attrgetter("time")
_METRIC = attrgetter("metric")
_VALUE = attrgetter("value")
_STATS = attrgetter("stats")
_UNIT = attrgetter("unit")
_SOURCE = attrgetter("source")


def max_attempts() -> int:
    return getattr(settings, "TALLY_INGEST_MAX_ATTEMPTS", 5)


# --- Ingest keys -------------------------------------------------------------


def _hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def create_ingest_key(*, event: Event, name: str, actor) -> tuple[IngestKey, str]:
    """Create an ingest key; return it with the full secret, which is never shown again."""
    name = (name or "").strip() or "ingest key"
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = IngestKey.objects.create(
        event=event,
        name=name[:120],
        prefix=secret[:12],
        key_hash=_hash_key(secret),
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )
    audit.record(actor=actor, action="ingest_key.create", obj=key, event=event, summary=name)
    return key, secret


@transaction.atomic
def revoke_ingest_key(*, key: IngestKey, actor) -> IngestKey:
    """Revoke an ingest key: senders using it get 401 from now on."""
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        audit.record(
            actor=actor, action="ingest_key.revoke", obj=key, event=key.event, summary=key.name
        )
    return key


def check_ingest_key(secret: str | None) -> IngestKey | None:
    """The active key matching `secret` (compared in constant time), or None."""
    if not secret or not secret.startswith(KEY_PREFIX) or len(secret) > 200:
        return None
    wanted = _hash_key(secret)
    match = None
    for key in IngestKey.objects.filter(prefix=secret[:12], revoked_at__isnull=True).select_related(
        "event"
    ):
        if hmac.compare_digest(key.key_hash, wanted):
            match = key
    if match is not None:
        stale = match.last_used_at is None or timezone.now() - match.last_used_at > timedelta(
            minutes=1
        )
        if stale:  # a write per minute at most, not per request
            IngestKey.objects.filter(pk=match.pk).update(last_used_at=timezone.now())
    return match


# --- Accepting a batch ---------------------------------------------------------


def _parse_options(fmt: str, options: dict, received_at: datetime) -> dict:
    """Turn a batch's stored options into parser keyword arguments."""
    kwargs = {"now": received_at}
    if fmt == "ffmpeg":
        kwargs["received_at"] = (
            datetime.fromisoformat(options.get("received_at"))
            if options.get("received_at")
            else received_at
        )
        if options.get("started_at"):
            kwargs["started_at"] = datetime.fromisoformat(options["started_at"])
    if fmt in ("srt-json", "srt-csv") and options.get("counters"):
        kwargs["counters"] = options["counters"]
    return kwargs


def validate_payload(*, fmt: str, body: bytes, options: dict, received_at: datetime) -> None:
    """Raise FormatError when the whole payload cannot be parsed (checked before storing).

    Firehose bodies (up to 64 MiB) are only checked for their envelope here, and SRT JSON lines
    only decoded (formats.check); the samples are built once, by the worker, so the request
    path stays fast for big batches.
    """
    if fmt == "firehose":
        body_obj = load_firehose_body(body)
        if not isinstance(body_obj.get("records"), list):
            raise FormatError("missing 'records' list", line=1, field="records")
        return
    check(fmt, body, **_parse_options(fmt, options, received_at))


def ingest_batch(
    *,
    event: Event,
    fmt: str,
    body: bytes,
    feed: Feed | None = None,
    content_type: str = "",
    options: dict | None = None,
    request_id: str | None = None,
    submitted_by=None,
    validate: bool = True,
) -> tuple[IngestBatch, bool]:
    """Store an ingest request durably and enqueue it; (batch, created). Idempotent by request id.

    Raises FormatError (nothing stored) when the payload as a whole cannot be parsed.
    """
    from . import tasks  # breaks the services <-> tasks cycle (tasks imports services)

    if fmt not in FORMATS:
        raise ValidationError({"format": f"Unknown format {fmt!r}."})
    if feed is not None and feed.event_id != event.pk:
        raise ValidationError({"feed": "The feed belongs to another event."})
    if request_id and (found := IngestBatch.objects.filter(event=event, request_id=request_id)):
        return found.first(), False
    received_at = timezone.now()
    options = {k: v for k, v in (options or {}).items() if v is not None}
    if fmt == "ffmpeg":
        options.setdefault("received_at", received_at.isoformat())
    if validate:
        validate_payload(fmt=fmt, body=body, options=options, received_at=received_at)
    try:
        with transaction.atomic():
            batch = IngestBatch(
                event=event,
                feed=feed,
                format=fmt,
                body=body,
                content_type=content_type[:100],
                options=options,
                request_id=request_id or None,
                received_at=received_at,
                submitted_by=submitted_by
                if submitted_by is not None and submitted_by.is_authenticated
                else None,
            )
            storage.insert_batch(batch)
            transaction.on_commit(lambda: tasks.process_batch.delay(batch.id))
    except IntegrityError:
        existing = IngestBatch.objects.filter(event=event, request_id=request_id).first()
        if existing is None:
            raise
        return existing, False
    return batch, True


# --- Processing a batch ----------------------------------------------------------


class _FeedMap:
    """Source id -> feed id for one event, from Feed.source_ids; and which source ids are one
    pipeline of several on their feed (their samples' metric names carry the pipeline)."""

    def __init__(self, event_id: int):
        self.by_source: dict[str, int] = {}
        self.pipelines: dict[str, str] = {}
        for pk, source_ids in Feed.objects.filter(event_id=event_id).values_list(
            "pk", "source_ids"
        ):
            for source in source_ids or []:
                self.by_source.setdefault(source, pk)
            for source, pipeline in pipelines.pipeline_sources(source_ids or []).items():
                if self.by_source[source] == pk:
                    self.pipelines[source] = pipeline

    def feed_for(self, source: str | None) -> int | None:
        return self.by_source.get(source) if source is not None else None


# Formats whose samples never name a source (the URL names the feed): no pipelines to keep.
_NO_SOURCES = frozenset({"srt-json", "srt-csv", "ffmpeg"})


def _with_pipeline(sample: Sample, pipeline: str | None) -> Sample:
    """The sample, its metric name carrying its pipeline when it has one (pipelines.py)."""
    if pipeline is None:
        return sample
    return sample._replace(metric=pipelines.qualify(sample.metric, pipeline))


def _named_feed_samples(feed_id: int, samples: list[Sample]) -> list[Sample]:
    """All samples of a batch whose URL named the feed, pipelines kept apart as in _route."""
    sources = set(map(_SOURCE, samples)) - {None}
    if not sources:
        return samples
    source_ids = Feed.objects.filter(pk=feed_id).values_list("source_ids", flat=True).first()
    by_source = pipelines.pipeline_sources(source_ids or [])
    if not by_source.keys() & sources:
        return samples
    return [_with_pipeline(s, by_source.get(s.source)) for s in samples]


def _feed_map(batch: IngestBatch) -> _FeedMap:
    """The event's feed map; remote write also names feeds by slug (a `feed` label)."""
    fmap = _FeedMap(batch.event_id)
    if batch.format == "prometheus":
        for pk, slug in Feed.objects.filter(event_id=batch.event_id).values_list("pk", "slug"):
            fmap.by_source[FEED_SOURCE_PREFIX + slug] = pk
    return fmap


def _route(
    batch: IngestBatch,
    result: ParseResult,
    only_sources: set[str] | None = None,
    fmap: _FeedMap | None = None,
):
    """Split samples and alerts into per-feed lists and unmapped per-source lists (`fmap`:
    the event's feed map, when the caller has it already)."""
    if batch.feed_id and only_sources is None:  # the URL named the feed: all of it goes there
        samples = result.samples
        if batch.format not in _NO_SOURCES:
            samples = _named_feed_samples(batch.feed_id, samples)
        samples = {batch.feed_id: samples} if samples else {}
        return samples, {batch.feed_id: result.alerts} if result.alerts else {}, {}
    mapped_samples: dict[int, list[Sample]] = defaultdict(list)
    mapped_alerts: dict[int, list[Alert]] = defaultdict(list)
    unmapped: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    if fmap is None and not batch.feed_id:
        fmap = _feed_map(batch)
    for kind, items in ((0, result.samples), (1, result.alerts)):
        targets: dict[str | None, tuple] = {}  # source -> where its items go, decided once
        for item in items:
            target = targets.get(item.source)
            if target is None:
                target = targets[item.source] = _target(batch, fmap, item.source, only_sources)
            found, pipeline = target
            if found is None:  # left out (only_sources)
                continue
            if found.__class__ is str:
                unmapped[found][kind] += 1
            elif kind == 1:
                mapped_alerts[found].append(item)
            elif pipeline is None:
                mapped_samples[found].append(item)
            else:
                mapped_samples[found].append(_with_pipeline(item, pipeline))
    return mapped_samples, mapped_alerts, dict(unmapped)


def _target(batch, fmap, source: str | None, only_sources) -> tuple:
    """(feed id, pipeline or None) for a source's items; (its source key, None) when no feed
    lists it; (None, None) when only_sources leaves it out."""
    source_key = source if source is not None else NO_SOURCE
    if only_sources is not None and source_key not in only_sources:
        return None, None
    feed_id = batch.feed_id or fmap.feed_for(source)
    if feed_id is None:
        return source_key, None
    return feed_id, fmap.pipelines.get(source) if fmap else None


def _columns(samples_by_feed: dict[int, list[Sample]], ids: dict[str, int]) -> storage.Columns:
    """COPY columns (feed ids, metric ids, times, values, stats); C-level passes per batch."""
    feeds, metrics, times, values, stats = [], [], [], [], []
    for feed_id, samples in samples_by_feed.items():
        feeds += [feed_id] * len(samples)
        metrics += map(ids.__getitem__, map(_METRIC, samples))
        times += map(_TIME, samples)
        values += map(_VALUE, samples)
        stats += map(_STATS, samples)
    return feeds, metrics, times, values, (stats if any(stats) else None)


def _metric_ids(samples_by_feed: dict[int, list[Sample]]) -> dict[str, int]:
    """Ids of every metric in the batch, created as needed (the first unit reported wins)."""
    units = {}
    for samples in reversed(list(samples_by_feed.values())):  # the first unit reported wins
        units.update(
            zip(map(_METRIC, reversed(samples)), map(_UNIT, reversed(samples)), strict=True)
        )
    return storage.metric_ids(units)


def _days(samples: list[Sample]) -> set:
    """The UTC days the samples fall on (for their partitions)."""
    return {moment.astimezone(UTC).date() for moment in set(map(_TIME, samples))}


def _store_alerts(batch: IngestBatch, alerts_by_feed: dict[int, list[Alert]]) -> int:
    objs = [
        TelemetryAlert(
            feed_id=feed_id,
            batch=batch,
            alarm_id=a.alarm_id[:300],
            kind=a.kind[:64],
            state=a.state,
            time=a.time,
            message=a.message,
            detail=a.detail,
        )
        for feed_id, alerts in alerts_by_feed.items()
        for a in alerts
    ]
    TelemetryAlert.objects.bulk_create(objs, ignore_conflicts=True)
    return len(objs)


def _quarantine_sources(batch: IngestBatch, unmapped: dict[str, list[int]]) -> None:
    now = timezone.now()
    for source, (samples, alerts) in sorted(unmapped.items()):
        row, _ = UnmappedSource.objects.select_for_update().get_or_create(
            event_id=batch.event_id, source_id=source[:300], defaults={"first_seen": now}
        )
        row.samples += samples
        row.alerts += alerts
        row.last_seen = now
        if batch.pk not in row.batch_ids:
            row.batch_ids = [*row.batch_ids, batch.pk][-1000:]
        row.save()


def _locked_statuses(feed_ids: list[int]) -> dict[int, tuple]:
    """The feeds' status rows as {feed id: (last_sample_at, metric_ids)}, created if missing
    and locked in feed order (one query each way, however many feeds a batch touches: a
    remote write spans them all; plain values, no model instances)."""
    found = _lock_statuses(feed_ids)
    if missing := sorted(set(feed_ids) - set(found)):  # a feed's first batch
        FeedTelemetryStatus.objects.bulk_create(
            [FeedTelemetryStatus(feed_id=feed_id) for feed_id in missing], ignore_conflicts=True
        )
        found.update(_lock_statuses(missing))
    return found


def _lock_statuses(feed_ids: list[int]) -> dict[int, tuple]:
    if not feed_ids:
        return {}
    rows = FeedTelemetryStatus.objects.select_for_update().filter(feed_id__in=feed_ids)
    return {
        feed_id: (last, known)
        for feed_id, last, known in rows.order_by("feed_id").values_list(
            "feed_id", "last_sample_at", "metric_ids"
        )
    }


def _status_changes(statuses: dict[int, tuple], samples_by_feed, ids: dict[str, int]) -> list:
    """(feed id, new last_sample_at or None, new metric ids or None) of every locked feed."""
    changes = []
    for feed_id, (last, known) in statuses.items():
        samples = samples_by_feed[feed_id]
        latest = max(map(_TIME, samples))
        known = set(known or [])
        new = known | set(map(ids.__getitem__, set(map(_METRIC, samples))))
        changes.append(
            (
                feed_id,
                latest if last is None or latest > last else None,
                sorted(new) if new != known else None,
            )
        )
    return changes


_STATUS_UPDATE = (
    "UPDATE integrations_feedtelemetrystatus AS s SET last_batch_at = %s, "
    "last_sample_at = COALESCE(v.latest, s.last_sample_at), "
    "metric_ids = COALESCE(v.metric_ids, s.metric_ids) "
    "FROM unnest(%s::bigint[], %s::timestamptz[], %s::jsonb[]) AS v(feed_id, latest, metric_ids) "
    "WHERE s.feed_id = v.feed_id"
)


def _update_statuses(changes: list) -> None:
    """Write every feed's status change: one UPDATE on PostgreSQL (arrays, whatever the
    number of feeds), bulk_update elsewhere."""
    now = timezone.now()
    if connection.vendor == "postgresql":
        feed_ids, latest, metrics = zip(*changes, strict=True)
        metrics = [None if m is None else json.dumps(m) for m in metrics]
        with connection.cursor() as cursor:
            cursor.execute(_STATUS_UPDATE, [now, list(feed_ids), list(latest), metrics])
        return
    FeedTelemetryStatus.objects.filter(feed_id__in=[c[0] for c in changes]).update(
        last_batch_at=now
    )
    for feed_id, latest, metrics in changes:
        fields = {"last_sample_at": latest, "metric_ids": metrics}
        fields = {k: v for k, v in fields.items() if v is not None}
        if fields:
            FeedTelemetryStatus.objects.filter(feed_id=feed_id).update(**fields)


def after_batch_stored(
    batch: IngestBatch,
    samples_by_feed: dict[int, list[Sample]],
    alerts_by_feed: dict[int, list[Alert]] | None = None,
    metric_ids: dict[str, int] | None = None,
) -> None:
    """Hook run in the batch transaction after its data is stored.

    Updates each feed's 'last seen' status (locking its row), then runs anomaly detection
    (alert pairs, threshold breaches -> Anomaly), idempotently, while the rows stay locked.
    `metric_ids` (name -> id of every metric in the batch) saves looking them up again.
    """
    ids = metric_ids if metric_ids is not None else _metric_ids(samples_by_feed)
    statuses = _locked_statuses([f for f, samples in samples_by_feed.items() if samples])
    if statuses:
        _update_statuses(_status_changes(statuses, samples_by_feed, ids))
    if getattr(settings, "TALLY_DETECT_ANOMALIES", True):
        anomalies.detect(batch, samples_by_feed, alerts_by_feed or {}, ids)


def _parse_batch(batch: IngestBatch) -> ParseResult:
    """Parse a batch's body, then reject per record what must not be stored (_screen)."""
    kwargs = _parse_options(batch.format, batch.options, batch.received_at)
    if batch.format == "prometheus":  # series find their feed by slug or source id
        feeds = Feed.objects.filter(event_id=batch.event_id).values_list("slug", "source_ids")
        kwargs["feed_slugs"] = [slug for slug, _ in feeds]
        kwargs["source_ids"] = [source for _, sources in feeds for source in sources or []]
    return _screen(batch, parse(batch.format, bytes(batch.body), **kwargs))


def window_margin() -> timedelta:
    """How far outside its event's window a sample may lie (TALLY_INGEST_WINDOW_MARGIN_DAYS)."""
    return timedelta(days=settings.TALLY_INGEST_WINDOW_MARGIN_DAYS)


def sample_bounds(event: Event, received_at: datetime) -> tuple[datetime, datetime, str, str]:
    """(earliest, latest, why before, why after) for the sample times a batch may store.

    Earliest: the event's start minus the margin, but never before the raw retention (a
    sample older than that would be pruned at once). Latest: the event's end plus the margin
    (the parsers already refuse more than a day past the receipt). So one batch touches a
    handful of day partitions at most.
    """
    margin = window_margin()
    days = margin.days
    by_event = event.start - margin
    by_retention = received_at - timedelta(days=settings.TALLY_RAW_RETENTION_DAYS)
    if by_retention > by_event:
        early = f"older than the raw retention ({settings.TALLY_RAW_RETENTION_DAYS} days)"
    else:
        early = f"more than {days} days before the event starts"
    return (
        max(by_event, by_retention),
        event.end + margin,
        early,
        f"more than {days} days after the event ends",
    )


def _screen(batch: IngestBatch, result: ParseResult) -> ParseResult:
    """Reject, per record, samples outside the batch's time bounds and samples or alerts with
    a NUL character (PostgreSQL cannot store one); one rejection per source and time."""
    samples = result.samples
    if samples:
        event = Event.objects.only("start", "end").get(pk=batch.event_id)
        earliest, latest, early, late = sample_bounds(event, batch.received_at)
        nul = batch.format not in _FIXED_TEXTS and _has_nul(samples)
        if nul or min(map(_TIME, samples)) < earliest or max(map(_TIME, samples)) > latest:
            bounds = (earliest, latest, early, late)
            result.samples = _screened_samples(samples, bounds, result.rejected, nul)
    if result.alerts:
        result.alerts = [a for a in result.alerts if not _alert_has_nul(a, result.rejected)]
    return result


# srt-live-transmit samples have no source, and their metric names and units come from
# formats.srt.METRICS: none can hold a NUL, so a 36,000-sample batch is spared the scan.
_FIXED_TEXTS = frozenset({"srt-json", "srt-csv"})


def _has_nul(samples: list[Sample]) -> bool:
    texts = set(map(_METRIC, samples)) | set(map(_UNIT, samples))
    texts |= set(filter(None, map(_SOURCE, samples)))
    return any("\x00" in text for text in texts)


def _screened_samples(samples, bounds, rejected: list[Rejected], nul: bool) -> list[Sample]:
    earliest, latest, early, late = bounds
    kept, seen = [], set()
    for sample in samples:
        reason = None
        if sample.time < earliest:
            reason = ("time", f"sample time {sample.time.isoformat()} is {early}")
        elif sample.time > latest:
            reason = ("time", f"sample time {sample.time.isoformat()} is {late}")
        elif nul and (field := _nul_field(sample)):
            reason = (field, f"{field} contains a NUL character")
        if reason is None:
            kept.append(sample)
        elif (sample.source, sample.time, reason) not in seen:
            seen.add((sample.source, sample.time, reason))
            rejected.append(Rejected(None, reason[0], _where(sample.source) + reason[1]))
    return kept


def _nul_field(sample: Sample) -> str | None:
    for field in ("source", "metric", "unit"):
        if "\x00" in (getattr(sample, field) or ""):
            return field
    return None


def _where(source: str | None) -> str:
    return f"source {source!r:.80}: " if source is not None and "\x00" not in source else ""


def _alert_has_nul(alert: Alert, rejected: list[Rejected]) -> bool:
    texts = (alert.source or "", alert.alarm_id, alert.kind, alert.message)
    if any("\x00" in text for text in texts) or "\\u0000" in json.dumps(alert.detail):
        rejected.append(Rejected(None, "alert", f"alert {alert.alarm_id!r:.80} contains a NUL"))
        return True
    return False


def _store(batch: IngestBatch, result: ParseResult, only_sources: set[str] | None = None):
    """Store what maps to feeds, each (feed, metric, time) once; return (storage.Stored,
    alerts stored, unmapped by source)."""
    samples_by_feed, alerts_by_feed, unmapped = _route(batch, result, only_sources)
    ids = _metric_ids(samples_by_feed)
    stored = storage.store_columns(_columns(samples_by_feed, ids))
    alerts = _store_alerts(batch, alerts_by_feed)
    after_batch_stored(batch, samples_by_feed, alerts_by_feed, ids)
    return stored, alerts, unmapped


@contextmanager
def _gc_paused():
    """Pause the cyclic garbage collector while a batch is parsed and stored.

    A big batch allocates ~10^5 tuples that all survive until it is stored: they trip the
    collector's thresholds over and over, and the full collections that follow walk the whole
    Django heap (measured: ~55 ms of CPU per 36,000-sample batch, twice the parse itself).
    Refcounting still frees everything; the collector resumes (if it was on) when the batch is
    done.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def process_batch(*, batch_id: int) -> IngestBatch | None:
    """Parse a pending batch and store everything it holds, exactly once.

    Parsing happens before the claim (a redelivered batch may be parsed twice, never stored
    twice); partitions are created next; then one transaction claims the batch with
    SELECT ... FOR UPDATE SKIP LOCKED, stores samples, rollups and alerts, and marks it.
    """
    with _gc_paused():
        return _process_batch(batch_id)


def _process_batch(batch_id: int) -> IngestBatch | None:
    batch = IngestBatch.objects.filter(pk=batch_id, state=IngestBatch.State.PENDING).first()
    if batch is None:
        return None
    try:
        result = _parse_batch(batch)
    except FormatError as err:
        return _finish_unparseable(batch_id, err)
    except Exception as err:
        _record_failure(batch_id, err)
        raise
    return _store_parsed(batch_id, result)


def _store_parsed(batch_id: int, result: ParseResult) -> IngestBatch | None:
    """The batch transaction of process_batch, for a batch parsed already."""
    try:
        storage.ensure_partitions(_days(result.samples))
        with transaction.atomic():
            batch = (  # without the body: it is parsed already and is not written back
                IngestBatch.objects.select_for_update(skip_locked=True)
                .filter(pk=batch_id, state=IngestBatch.State.PENDING)
                .defer("body")
                .first()
            )
            if batch is None:
                return None
            storage.relax_commit()
            stored, alerts, unmapped = _store(batch, result)
            _mark_processed(batch, result, stored, alerts, unmapped)
            return batch
    except Exception as err:
        storage.forget_cached_ids()
        _record_failure(batch_id, err)
        raise


def _mark_processed(batch, result: ParseResult, stored, alerts: int, unmapped: dict) -> None:
    """Quarantine what maps to no feed and write the batch's outcome (in its transaction)."""
    if unmapped:
        _quarantine_sources(batch, unmapped)
    batch.samples, batch.alerts = stored.new, alerts
    batch.replaced, batch.duplicates = stored.replaced, stored.duplicates
    batch.unmapped = unmapped
    batch.rejected = [
        {"record": r.record, "field": r.field, "reason": r.reason}
        for r in result.rejected[:MAX_REJECTED_KEPT]
    ]
    batch.rejected_count = len(result.rejected)
    batch.state = IngestBatch.State.QUARANTINED if unmapped else IngestBatch.State.DONE
    batch.error = _unmapped_reason(unmapped)
    batch.attempts += 1
    batch.processed_at = timezone.now()
    batch.save(update_fields=_PROCESSED_FIELDS)


# --- Batches waiting together ------------------------------------------------------

# Formats whose batches may be stored together: samples only, whose detection reads the
# stored samples around a batch (an ffmpeg progress file's end, alert pairs: per batch).
GROUPED_FORMATS = frozenset({"srt-json", "srt-csv", "prometheus"})
_CLAIM_CLASS = 0x7A12  # advisory lock namespace (classid) for "a worker is on this batch"


def group_size() -> int:
    """How many waiting batches of one stream a worker stores in one transaction at most
    (TALLY_INGEST_GROUP_BATCHES; 1 stores each on its own)."""
    return max(1, settings.TALLY_INGEST_GROUP_BATCHES)


def group_bytes() -> int:
    """How many bytes of request bodies a group holds at most (TALLY_INGEST_GROUP_BYTES): the
    worker holds all of a group's samples at once. A bigger batch goes alone."""
    return settings.TALLY_INGEST_GROUP_BYTES


def process_waiting_batches(*, batch_id: int) -> list[IngestBatch]:
    """Process a pending batch together with batches of the same stream waiting behind it.

    A stream is one event, format and feed (the URL's, or none). Under load a collector's
    batches queue up; storing up to group_size() of them in one transaction pays the
    per-transaction work once (feed locks, rollup rows at the batch edges, feed status,
    anomaly detection per feed) instead of once per batch. With nothing waiting it is
    process_batch. PostgreSQL only, GROUPED_FORMATS only.

    Each batch keeps its own outcome (counts, rejections, quarantine) and is marked done in
    the one transaction. The group is stored together only when every sample in it is new
    (the usual case): a resend or an overlap inside the group, a batch taken meanwhile or any
    error rolls the group back and its batches are stored one by one, as process_batch does.

    Batches are claimed with session advisory locks while they are parsed (a crashed worker's
    claims end with its connection): another worker skips them, and the sweeper re-queues
    any batch left pending. Returns the batches processed.
    """
    with _gc_paused(), _claims(batch_id) as ids:
        if len(ids) < 2:
            batch = _process_batch(batch_id) if ids else None
            return [batch] if batch is not None else []
        return _process_group(ids)


@contextmanager
def _claims(batch_id: int):
    """The ids of the batch and of up to group_size() - 1 batches of its stream waiting
    behind it (group_bytes() of bodies in all), each claimed for this connection; none when
    another worker has the batch."""
    claimed: list[int] = []
    try:
        head = (
            IngestBatch.objects.filter(pk=batch_id, state=IngestBatch.State.PENDING)
            .values("event_id", "format", "feed_id")
            .annotate(size=Length("body"))
            .first()
        )
        size = group_size()
        if connection.vendor != "postgresql" or head is None or size < 2:
            yield [batch_id]
            return
        if not _claim(batch_id, claimed):
            yield []  # in another worker's group: it stores it
            return
        room = group_bytes() - head.pop("size")
        if head["format"] in GROUPED_FORMATS:
            waiting = (
                IngestBatch.objects.filter(state=IngestBatch.State.PENDING, **head)
                .exclude(pk=batch_id)
                .order_by("pk")
                .values_list("pk", Length("body"))[: 2 * size]
            )
            for pk, length in waiting:
                if len(claimed) == size or length > room:
                    break
                if _claim(pk, claimed):
                    room -= length
        yield list(claimed)
    finally:
        if claimed:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(pg_advisory_unlock(%s, (b %% 2147483647)::int)) "
                    "FROM unnest(%s::bigint[]) AS b",
                    [_CLAIM_CLASS, claimed],
                )


def _claim(batch_id: int, claimed: list[int]) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_try_advisory_lock(%s, (%s %% 2147483647)::int)", [_CLAIM_CLASS, batch_id]
        )
        if cursor.fetchone()[0]:
            claimed.append(batch_id)
            return True
    return False


def _time_range(samples_by_feed: dict[int, list[Sample]]) -> tuple[datetime, datetime]:
    """(first, last) sample time of one batch's routed samples."""
    times = {moment for samples in samples_by_feed.values() for moment in map(_TIME, samples)}
    return min(times), max(times)


class _StoreAlone(Exception):
    """A group cannot be stored together: roll it back and store its batches one by one."""


def _process_group(ids: list[int]) -> list[IngestBatch]:
    done: list[IngestBatch] = []
    parsed: list[tuple[IngestBatch, ParseResult]] = []
    for batch in IngestBatch.objects.filter(pk__in=ids, state=IngestBatch.State.PENDING).order_by(
        "pk"
    ):
        try:
            parsed.append((batch, _parse_batch(batch)))
        except FormatError as err:
            if finished := _finish_unparseable(batch.pk, err):
                done.append(finished)
        except Exception as err:
            _record_failure(batch.pk, err)
    try:
        storage.ensure_partitions(set().union(*(_days(r.samples) for _, r in parsed)))
        with transaction.atomic():
            return done + _store_group(parsed)
    except _StoreAlone:
        pass
    except Exception:
        storage.forget_cached_ids()  # each batch on its own records its own failure
    for batch, result in parsed:
        try:
            if stored := _store_parsed(batch.pk, result):
                done.append(stored)
        except Exception:
            continue  # recorded on the batch; the others go on
    return done


def _store_group(parsed: list[tuple[IngestBatch, ParseResult]]) -> list[IngestBatch]:
    """Store parsed batches of one stream in the current transaction, or raise _StoreAlone."""
    locked = (
        IngestBatch.objects.select_for_update(skip_locked=True)
        .filter(pk__in=[b.pk for b, _ in parsed], state=IngestBatch.State.PENDING)
        .defer("body")
        .in_bulk()
    )
    if len(locked) != len(parsed) or len(parsed) < 2:
        raise _StoreAlone
    storage.relax_commit()
    samples_by_feed: dict[int, list[Sample]] = defaultdict(list)
    alerts_by_feed: dict[int, list[Alert]] = defaultdict(list)
    routed = []
    head = locked[parsed[0][0].pk]  # one stream: one event, format and feed
    fmap = None if head.feed_id else _feed_map(head)
    for batch, result in parsed:
        samples, alerts, unmapped = _route(locked[batch.pk], result, fmap=fmap)
        for feed_id, items in samples.items():
            samples_by_feed[feed_id] += items
        for feed_id, items in alerts.items():
            alerts_by_feed[feed_id] += items
        routed.append((locked[batch.pk], result, samples, alerts, unmapped))
    ids = _metric_ids(samples_by_feed)
    ranges = [_time_range(samples) for *_, samples, _, _ in routed if samples]
    # Only when every key is new: a resend or overlap is merged batch by batch, which says
    # per batch what it replaced.
    stored = storage.store_columns(_columns(samples_by_feed, ids), ranges, merge=False)
    if stored is None:
        raise _StoreAlone
    for batch, result, samples, alerts, unmapped in routed:
        count = storage.Stored(sum(map(len, samples.values())))
        _mark_processed(batch, result, count, _store_alerts(batch, alerts), unmapped)
    after_batch_stored(routed[0][0], samples_by_feed, alerts_by_feed, ids)
    return [batch for batch, *_ in routed]


# Everything process_batch sets: a plain save() would write the (megabytes of) body back too.
_PROCESSED_FIELDS = [
    "samples",
    "replaced",
    "duplicates",
    "alerts",
    "unmapped",
    "rejected",
    "rejected_count",
    "state",
    "error",
    "attempts",
    "processed_at",
]


def _unmapped_reason(unmapped: dict[str, list[int]]) -> str:
    if not unmapped:
        return ""
    parts = [f"{source} ({n} samples, {a} alerts)" for source, (n, a) in sorted(unmapped.items())]
    return "No feed of the event lists these source ids: " + "; ".join(parts)


def _finish_unparseable(batch_id: int, err: Exception) -> IngestBatch | None:
    """A payload the parser refuses will never parse: quarantine it with the reason."""
    with transaction.atomic():
        batch = IngestBatch.objects.select_for_update().filter(pk=batch_id).first()
        if batch is None or batch.state != IngestBatch.State.PENDING:
            return batch
        batch.state = IngestBatch.State.QUARANTINED
        batch.error = f"Cannot parse the payload: {err}"
        batch.attempts += 1
        batch.processed_at = timezone.now()
        batch.save()
        return batch


def _record_failure(batch_id: int, err: Exception) -> None:
    """Count a failed attempt; after max_attempts the batch is failed with its error visible."""
    with transaction.atomic():
        batch = IngestBatch.objects.select_for_update().filter(pk=batch_id).first()
        if batch is None or batch.state != IngestBatch.State.PENDING:
            return
        batch.attempts += 1
        batch.error = f"{type(err).__name__}: {err}"[:2000]
        if batch.attempts >= max_attempts():
            batch.state = IngestBatch.State.FAILED
            batch.processed_at = timezone.now()
        batch.save(update_fields=["attempts", "error", "state", "processed_at"])


def pending_batches_to_requeue(*, older_than: timedelta = timedelta(seconds=30)) -> list[int]:
    """Ids of batches still pending after `older_than` (their message was lost or is stuck)."""
    cutoff = timezone.now() - older_than
    return list(
        IngestBatch.objects.filter(state=IngestBatch.State.PENDING, received_at__lt=cutoff)
        .order_by("received_at")
        .values_list("pk", flat=True)[:1000]
    )


def prune_raw_samples(*, now: datetime | None = None) -> int:
    """Drop raw samples older than TALLY_RAW_RETENTION_DAYS; rollups stay."""
    now = now or timezone.now()
    return storage.prune_raw(now - timedelta(days=settings.TALLY_RAW_RETENTION_DAYS))


# --- Quarantine: mapping unknown source ids --------------------------------------


@transaction.atomic
def map_source_to_feed(*, event: Event, source_id: str, feed: Feed, actor) -> Feed:
    """Add `source_id` to the feed's source ids and re-process the data quarantined for it."""
    from . import tasks  # breaks the services <-> tasks cycle (tasks imports services)

    if feed.event_id != event.pk:
        raise ValidationError({"feed": "The feed belongs to another event."})
    row = UnmappedSource.objects.filter(event=event, source_id=source_id).first()
    if row is None:
        raise ValidationError({"source_id": "No quarantined data for this source id."})
    if source_id == NO_SOURCE:
        raise ValidationError({"source_id": "Data without a source id cannot be mapped."})
    if source_id not in feed.source_ids:
        retro_services.update_feed(feed=feed, actor=actor, source_ids=[*feed.source_ids, source_id])
    transaction.on_commit(
        lambda: tasks.reprocess_quarantined.delay(event_id=event.pk, source_id=source_id)
    )
    return feed


def reprocess_quarantined(*, event_id: int, source_id: str) -> int:
    """Store the quarantined samples of `source_id` now that it maps; return batches done."""
    row = UnmappedSource.objects.filter(event_id=event_id, source_id=source_id).first()
    if row is None:
        return 0
    handled = 0
    for batch_id in list(row.batch_ids):
        handled += _reprocess_one(batch_id, source_id)
    with transaction.atomic():
        row = UnmappedSource.objects.select_for_update().filter(pk=row.pk).first()
        if (
            row is not None
            and not IngestBatch.objects.filter(
                pk__in=row.batch_ids, **{"unmapped__has_key": source_id}
            ).exists()
        ):
            row.delete()
    return handled


def _reprocess_one(batch_id: int, source_id: str) -> int:
    batch = IngestBatch.objects.filter(pk=batch_id).first()
    if batch is None or source_id not in batch.unmapped:
        return 0
    result = _parse_batch(batch)
    storage.ensure_partitions(_days(result.samples))
    with transaction.atomic():
        batch = IngestBatch.objects.select_for_update().get(pk=batch_id)
        if source_id not in batch.unmapped:
            return 0  # another run already stored it
        stored, alerts, still = _store(batch, result, only_sources={source_id})
        if still:
            return 0  # the source id still maps to no feed
        unmapped = dict(batch.unmapped)
        unmapped.pop(source_id)
        batch.unmapped = unmapped
        batch.samples += stored.new
        batch.replaced += stored.replaced
        batch.duplicates += stored.duplicates
        batch.alerts += alerts
        batch.error = _unmapped_reason(unmapped)
        if not unmapped:
            batch.state = IngestBatch.State.DONE
        batch.processed_at = timezone.now()
        batch.save()
    return 1
