from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Telemetry"

    def ready(self) -> None:
        from retro import services

        from . import snapshots

        if snapshots.on_entry_changed not in services.ENTRY_CHANGE_HOOKS:
            services.ENTRY_CHANGE_HOOKS.append(snapshots.on_entry_changed)
