from django.apps import AppConfig


class RunbooksConfig(AppConfig):
    name = "runbooks"

    def ready(self):
        # retro shows what a learning changed without importing runbooks (retro.hooks).
        from retro import hooks  # apps are loaded: models may be imported now

        from . import selectors  # likewise: selectors import the models

        hooks.runbook_changes.provide(selectors.revisions_citing)
