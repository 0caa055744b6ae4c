"""Telemetry ingestion: ingest keys, durable batches, samples, rollups, alerts, quarantine."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from retro.models import Event, Feed


class Metric(models.Model):
    """A metric name (e.g. `recv.packetsLost`) and its unit; samples refer to it by a small id."""

    id = models.SmallAutoField(primary_key=True)
    name = models.CharField(max_length=120, unique=True)
    unit = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class IngestKey(models.Model):
    """A per-event secret for machine senders (Firehose, EventBridge); only its hash is kept."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="ingest_keys")
    name = models.CharField(max_length=120)
    prefix = models.CharField(max_length=16, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class IngestBatch(models.Model):
    """One accepted ingest request, stored with its raw body before it is answered."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"
        QUARANTINED = "quarantined", "Quarantined"
        FAILED = "failed", "Failed"

    # No index of its own: the (event, received_at) index leads with it.
    event = models.ForeignKey(
        Event, on_delete=models.CASCADE, related_name="ingest_batches", db_index=False
    )
    feed = models.ForeignKey(
        Feed, null=True, blank=True, on_delete=models.SET_NULL, related_name="ingest_batches"
    )
    format = models.CharField(max_length=16)
    body = models.BinaryField()  # lz4 TOAST compression on PostgreSQL (migration 0005)
    content_type = models.CharField(max_length=100, blank=True)
    options = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=200, null=True, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    samples = models.PositiveIntegerField(default=0)  # new samples stored
    # Samples whose (feed, metric, time) was stored already: with another value (this batch's
    # value replaced it: the later batch wins) or with the same one (nothing written).
    replaced = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    alerts = models.PositiveIntegerField(default=0)
    rejected = models.JSONField(default=list, blank=True)
    rejected_count = models.PositiveIntegerField(default=0)
    # Source ids of this batch that mapped to no feed: their samples wait here until mapped.
    unmapped = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-received_at"]
        verbose_name_plural = "ingest batches"
        constraints = [
            models.UniqueConstraint(
                fields=["event", "request_id"],
                condition=models.Q(request_id__isnull=False),
                name="one_batch_per_request_id",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "received_at"]),
            models.Index(fields=["event", "received_at"]),
        ]

    def __str__(self) -> str:
        return f"batch {self.pk} ({self.format}, {self.state})"


class TelemetrySample(models.Model):
    """One raw value (narrow row; ~400 M a day). The table is created by migration 0002:
    partitioned by day on PostgreSQL, a plain indexed table on SQLite. Read-only via the ORM."""

    pk = models.CompositePrimaryKey("feed_id", "metric_id", "time")
    feed = models.ForeignKey(Feed, on_delete=models.DO_NOTHING, db_constraint=False)
    metric = models.ForeignKey(Metric, on_delete=models.DO_NOTHING, db_constraint=False)
    time = models.DateTimeField()
    value = models.FloatField()
    min = models.FloatField(null=True)
    max = models.FloatField(null=True)
    sum = models.FloatField(null=True)
    count = models.FloatField(null=True)

    class Meta:
        managed = False
        db_table = "integrations_telemetrysample"

    def __str__(self) -> str:
        return f"{self.feed_id}/{self.metric_id}@{self.time}={self.value}"


class TelemetryRollup(models.Model):
    """Min/sum/count/max of a metric over a 10 s or 60 s bucket, kept after raw samples go.

    Keyed by (feed, step, metric, bucket) itself: an id column would be one more index (and
    sequence) for every bucket row each batch upserts.
    """

    pk = models.CompositePrimaryKey("feed", "step", "metric", "bucket")

    # No indexes of their own: the (feed, step, metric, bucket) key serves every read
    # (by feed, step and metric); each extra index costs every batch's rollup upsert. Only
    # deleting a Metric (never done by Tally) would scan for its rollups.
    feed = models.ForeignKey(Feed, on_delete=models.CASCADE, db_constraint=False, db_index=False)
    metric = models.ForeignKey(
        Metric, on_delete=models.CASCADE, db_constraint=False, db_index=False
    )
    step = models.PositiveSmallIntegerField()  # seconds: 10 or 60
    bucket = models.DateTimeField()
    min = models.FloatField()
    max = models.FloatField()
    sum = models.FloatField()
    count = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.feed_id}/{self.metric_id} {self.step}s @{self.bucket}"


class TelemetryAlert(models.Model):
    """An alarm set/cleared or a state change reported by the gear (EventBridge, encoder end)."""

    class State(models.TextChoices):
        SET = "set", "Set"
        CLEARED = "cleared", "Cleared"
        INFO = "info", "Info"

    feed = models.ForeignKey(Feed, on_delete=models.CASCADE, related_name="telemetry_alerts")
    batch = models.ForeignKey(IngestBatch, null=True, on_delete=models.SET_NULL, related_name="+")
    alarm_id = models.CharField(max_length=300)
    kind = models.CharField(max_length=64)
    state = models.CharField(max_length=16, choices=State.choices)
    time = models.DateTimeField()
    message = models.TextField(blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["time"]
        constraints = [
            models.UniqueConstraint(
                fields=["feed", "alarm_id", "state", "time"], name="one_alert_per_report"
            ),
        ]
        indexes = [models.Index(fields=["feed", "time"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.state} {self.alarm_id}"


class UnmappedSource(models.Model):
    """A source id the gear reported that no feed of the event lists; its data is quarantined."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="unmapped_sources")
    source_id = models.CharField(max_length=300)
    samples = models.PositiveIntegerField(default=0)
    alerts = models.PositiveIntegerField(default=0)
    batch_ids = models.JSONField(default=list, blank=True)
    first_seen = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-last_seen"]
        constraints = [
            models.UniqueConstraint(fields=["event", "source_id"], name="one_row_per_source"),
        ]

    def __str__(self) -> str:
        return self.source_id


class FeedTelemetryStatus(models.Model):
    """When a feed last reported, updated after each stored batch (the 'last seen' view)."""

    feed = models.OneToOneField(
        Feed, primary_key=True, on_delete=models.CASCADE, related_name="telemetry_status"
    )
    last_sample_at = models.DateTimeField(null=True, blank=True)
    last_batch_at = models.DateTimeField(null=True, blank=True)
    metric_ids = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return f"{self.feed_id} last seen {self.last_sample_at}"


class Anomaly(models.Model):
    """A stretch of trouble on a feed: an alert SET → CLEARED or a detected threshold breach."""

    class Kind(models.TextChoices):
        PACKET_LOSS = "packet_loss", "Packet loss"
        UNRECOVERED_LOSS = "unrecovered_loss", "Unrecovered packets"
        BITRATE_DROP = "bitrate_drop", "Bitrate drop"
        INPUT_LOSS = "input_loss", "Input loss / no data"
        DROPPED_FRAMES = "dropped_frames", "Dropped frames"
        CC_ERRORS = "cc_errors", "Continuity-counter errors"
        RECONNECT = "reconnect", "Reconnect"
        ENCODER_EXIT = "encoder_exit", "Encoder exited abnormally"
        CAPTIONS_MISSING = "captions_missing", "Captions missing"
        CAPTION_LAG = "caption_lag", "Caption lag"
        ALERT = "alert", "Alert"

    class Source(models.TextChoices):
        ALERT = "alert", "Alert"
        DETECTOR = "detector", "Detector"

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="anomalies")
    feed = models.ForeignKey(Feed, on_delete=models.CASCADE, related_name="anomalies")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    # What the anomaly is about within its kind (the rule's metric or the alarm id): breaches
    # merge only with anomalies of the same feed, kind and key.
    key = models.CharField(max_length=300)
    source = models.CharField(max_length=16, choices=Source.choices)
    start = models.DateTimeField()
    end = models.DateTimeField(null=True, blank=True)  # None: still going (alert not cleared)
    peak = models.FloatField(null=True, blank=True)
    unit = models.CharField(max_length=32, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    dismissed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    dismissed_at = models.DateTimeField(null=True, blank=True)
    dismissed_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["start", "pk"]
        verbose_name_plural = "anomalies"
        indexes = [
            models.Index(fields=["event", "start"]),
            models.Index(fields=["feed", "kind", "key", "start"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} on {self.feed_id} from {self.start}"

    @property
    def dismissed(self) -> bool:
        return self.dismissed_at is not None


class TelemetrySnapshot(models.Model):
    """An entry's telemetry window, frozen (downsampled key metrics per feed) when it was saved."""

    entry = models.OneToOneField(
        "retro.Entry", on_delete=models.CASCADE, related_name="telemetry_snapshot"
    )
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    # [{"feed", "name", "transport", "series": [{"metric", "unit", "points": [[iso, v]]}],
    #   "spans": [{"start", "end", "label", "kind"}]}]
    feeds = models.JSONField(default=list, blank=True)
    sparkline = models.TextField(blank=True)  # SVG for the board, empty without telemetry
    has_data = models.BooleanField(default=False)
    entry_version = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"telemetry of {self.entry_id} {self.window_start} to {self.window_end}"
