from django.urls import path

from . import views

urlpatterns = [
    path("events/<slug:slug>/ingest/", views.ingest_page, name="ingest-page"),
    path("events/<slug:slug>/ingest/keys/", views.create_key, name="ingest-key-create"),
    path(
        "events/<slug:slug>/ingest/keys/<int:pk>/revoke/",
        views.revoke_key,
        name="ingest-key-revoke",
    ),
    path("events/<slug:slug>/ingest/map/", views.map_source, name="ingest-map-source"),
    path("events/<slug:slug>/anomalies/", views.anomalies_page, name="anomalies-page"),
    path("events/<slug:slug>/telemetry/<slug:feed>/", views.feed_page, name="feed-page"),
]
