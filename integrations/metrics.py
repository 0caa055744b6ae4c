"""Telemetry ingest metrics for /metrics (tally.metrics): counted where batches are processed,
and read from the database at scrape time (registered in IntegrationsConfig.ready()).

Counted by the worker, per format: ``tally_ingest_samples_total`` (rows stored),
``tally_ingest_rejected_total`` (records rejected), ``tally_ingest_batches_total`` (by the state
a batch ended in) and ``tally_ingest_lag_seconds`` (receipt to stored). Read at scrape time:
``tally_ingest_batches_waiting`` (pending and failed batches per format),
``tally_ingest_oldest_pending_seconds``, ``tally_anomalies_open`` (per kind) and
``tally_entry_writes_total`` (entries written, edits included: the sum of entry versions).
"""

from django.db.models import Count, Min, Sum
from django.utils import timezone
from prometheus_client import Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from retro.models import Entry
from tally.metrics import record

from .models import Anomaly, IngestBatch

SAMPLES = Counter(
    "tally_ingest_samples", "Telemetry samples stored (new rows), by format.", ["format"]
)
REJECTED = Counter(
    "tally_ingest_rejected", "Records rejected inside accepted batches, by format.", ["format"]
)
BATCHES = Counter(
    "tally_ingest_batches",
    "Batches processed, by format and the state they ended in.",
    ["format", "state"],
)
LAG = Histogram(
    "tally_ingest_lag_seconds",
    "From a batch's receipt to its samples being stored, by format.",
    ["format"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900),
)


def observe_batch(batch: IngestBatch) -> None:
    """Count a batch the worker just processed (never failing the task: tally.metrics.record)."""
    record(lambda: _count_batch(batch))


def _count_batch(batch: IngestBatch) -> None:
    fmt = batch.format
    SAMPLES.labels(fmt).inc(batch.samples)
    REJECTED.labels(fmt).inc(batch.rejected_count)
    BATCHES.labels(fmt, batch.state).inc()
    if batch.processed_at is not None:
        LAG.labels(fmt).observe(max(0.0, (batch.processed_at - batch.received_at).total_seconds()))


def scrape():
    """Gauges from the database, computed for each scrape."""
    waiting = GaugeMetricFamily(
        "tally_ingest_batches_waiting",
        "Batches not stored: pending (queued or retrying) or failed, by format.",
        labels=["format", "state"],
    )
    oldest = GaugeMetricFamily(
        "tally_ingest_oldest_pending_seconds",
        "Age of the oldest pending batch, by format (the ingest backlog's lag).",
        labels=["format"],
    )
    now = timezone.now()
    rows = (
        IngestBatch.objects.filter(state__in=[IngestBatch.State.PENDING, IngestBatch.State.FAILED])
        .values("format", "state")
        .annotate(n=Count("pk"), first=Min("received_at"))
        .order_by()
    )
    for row in rows:
        waiting.add_metric([row["format"], row["state"]], row["n"])
        if row["state"] == IngestBatch.State.PENDING:
            oldest.add_metric([row["format"]], (now - row["first"]).total_seconds())
    yield waiting
    yield oldest
    yield _anomalies_open()
    yield _entry_writes()


def _anomalies_open() -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        "tally_anomalies_open", "Anomalies still going and not dismissed, by kind.", labels=["kind"]
    )
    rows = (
        Anomaly.objects.filter(end__isnull=True, dismissed_at__isnull=True)
        .values("kind")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in rows:
        family.add_metric([row["kind"]], row["n"])
    return family


def _entry_writes() -> CounterMetricFamily:
    family = CounterMetricFamily(
        "tally_entry_writes",
        "Entries written (created or edited: the sum of entry versions), by kind.",
        labels=["kind"],
    )
    rows = Entry.objects.values("kind").annotate(n=Sum("version")).order_by()
    for row in rows:
        family.add_metric([row["kind"]], row["n"] or 0)
    return family
