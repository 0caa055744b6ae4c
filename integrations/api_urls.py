from django.urls import path

from . import api, remote_write

urlpatterns = [
    path("ingest/srt/<slug:event>/<slug:feed>/", api.SrtIngestApi.as_view(), name="ingest-srt"),
    path(
        "ingest/ffmpeg/<slug:event>/<slug:feed>/",
        api.FfmpegIngestApi.as_view(),
        name="ingest-ffmpeg",
    ),
    path("ingest/generic/<slug:event>/", api.GenericIngestApi.as_view(), name="ingest-generic"),
    path(
        "ingest/generic/<slug:event>/<slug:feed>/",
        api.GenericFeedIngestApi.as_view(),
        name="ingest-generic-feed",
    ),
    path("ingest/firehose/", api.FirehoseIngestApi.as_view(), name="ingest-firehose"),
    path(
        "ingest/prometheus/<slug:event>/",
        remote_write.RemoteWriteApi.as_view(),
        name="ingest-prometheus",
    ),
    path("ingest/eventbridge/", api.EventBridgeIngestApi.as_view(), name="ingest-eventbridge"),
    path("ingest/batches/<int:pk>/", api.BatchDetailApi.as_view(), name="ingest-batch"),
    path(
        "events/<slug:event>/feeds/<slug:feed>/telemetry/",
        api.FeedTelemetryApi.as_view(),
        name="feed-telemetry",
    ),
    path(
        "events/<slug:event>/anomalies/",
        api.AnomalyListApi.as_view(),
        name="api-anomalies",
    ),
    path(
        "events/<slug:event>/anomalies/<int:pk>/dismiss/",
        api.AnomalyDismissApi.as_view(),
        name="api-anomaly-dismiss",
    ),
    path(
        "events/<slug:event>/anomaly-thresholds/",
        api.ThresholdsApi.as_view(),
        name="api-anomaly-thresholds",
    ),
    path(
        "entries/<uuid:pk>/telemetry/",
        api.EntryTelemetryApi.as_view(),
        name="api-entry-telemetry",
    ),
]
