from django.contrib import admin

from .models import (
    Anomaly,
    IngestBatch,
    IngestKey,
    Metric,
    TelemetryAlert,
    TelemetrySnapshot,
    UnmappedSource,
)


@admin.register(Metric)
class MetricAdmin(admin.ModelAdmin):
    list_display = ["name", "unit"]
    search_fields = ["name"]


@admin.register(IngestKey)
class IngestKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "event", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "key_hash", "created_at", "last_used_at"]


@admin.register(IngestBatch)
class IngestBatchAdmin(admin.ModelAdmin):
    list_display = ["pk", "event", "feed", "format", "state", "samples", "attempts", "received_at"]
    list_filter = ["state", "format"]
    exclude = ["body"]
    readonly_fields = ["request_id", "received_at", "processed_at", "rejected", "unmapped"]


@admin.register(TelemetryAlert)
class TelemetryAlertAdmin(admin.ModelAdmin):
    list_display = ["time", "feed", "kind", "state", "alarm_id"]
    list_filter = ["kind", "state"]


@admin.register(UnmappedSource)
class UnmappedSourceAdmin(admin.ModelAdmin):
    list_display = ["source_id", "event", "samples", "alerts", "last_seen"]


@admin.register(Anomaly)
class AnomalyAdmin(admin.ModelAdmin):
    """Read mostly: anomalies come from detection; dismiss them on the anomalies page."""

    list_display = ["start", "end", "feed", "kind", "key", "peak", "source", "dismissed_at"]
    list_filter = ["kind", "source"]
    list_select_related = ["feed"]
    readonly_fields = ["event", "feed", "kind", "key", "source", "start", "end", "peak", "detail"]


@admin.register(TelemetrySnapshot)
class TelemetrySnapshotAdmin(admin.ModelAdmin):
    list_display = ["entry", "window_start", "window_end", "has_data", "created_at"]
    exclude = ["feeds", "sparkline"]
    readonly_fields = ["entry", "window_start", "window_end", "has_data", "entry_version"]
