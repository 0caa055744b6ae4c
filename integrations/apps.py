from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Telemetry"

    def ready(self):
        # retro counts anomalies in its recurrences without importing us (retro.hooks).
        from retro import hooks  # apps are loaded: models may be imported now

        from . import selectors  # likewise: selectors import the models

        hooks.anomaly_feeds.provide(selectors.feeds_with_anomalies)

        from tally import metrics  # first: it prepares the multiprocess folder

        from . import metrics as ingest_metrics

        metrics.on_scrape(ingest_metrics.scrape)
