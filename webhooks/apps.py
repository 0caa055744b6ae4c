from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks and chat"

    def ready(self):
        # retro, integrations and reports announce what happens without importing us.
        from retro import hooks  # apps are loaded: models may be imported now

        from . import services  # likewise: services import the models

        hooks.announce.provide(services.announce)
