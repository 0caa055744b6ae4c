from django.contrib import admin

from .models import IngestBatch, IngestKey, Metric, TelemetryAlert, UnmappedSource


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
