"""Thin Celery tasks for ingestion (routed to the ingest queue): they take ids and call services."""

import logging

from celery import shared_task

from . import anomalies, metrics, services, snapshots

log = logging.getLogger(__name__)


@shared_task(acks_late=True)
def process_batch(batch_id: int) -> None:
    """Store one pending batch, with those of its stream waiting behind it
    (services.process_waiting_batches); a redelivery of a done batch does nothing."""
    for batch in services.process_waiting_batches(batch_id=batch_id):
        metrics.observe_batch(batch)


@shared_task(acks_late=True)
def sweep_pending_batches() -> int:
    """Re-queue batches left pending (worker killed, Redis restarted): delay, never loss."""
    ids = services.pending_batches_to_requeue()
    for batch_id in ids:
        process_batch.delay(batch_id)
    if ids:
        log.info("re-queued %d pending ingest batches", len(ids))
    return len(ids)


@shared_task(acks_late=True)
def prune_raw_samples() -> int:
    """Drop raw samples past the retention (rollups are kept)."""
    return services.prune_raw_samples()


@shared_task(acks_late=True)
def reprocess_quarantined(event_id: int, source_id: str) -> int:
    """Store what was quarantined for a source id that now maps to a feed."""
    return services.reprocess_quarantined(event_id=event_id, source_id=source_id)


@shared_task(acks_late=True)
def snapshot_entry(entry_id: str) -> None:
    """Freeze (or refreeze) an entry's telemetry window; a rerun just rebuilds it."""
    snapshots.freeze(entry_id=entry_id)


@shared_task(acks_late=True)
def detect_silent_feeds() -> int:
    """Open input-loss anomalies for on-air feeds that stopped reporting."""
    return anomalies.detect_silent_feeds()
