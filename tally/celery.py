"""The Celery app: tasks run eagerly in-process unless CELERY_BROKER_URL is set."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tally.settings")

app = Celery("tally")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def task_named(name: str):
    """A registered task by its name, for a lower app that queues a higher app's task without
    importing it (the names are written at the call sites, e.g. retro.services)."""
    if name not in app.tasks:
        app.loader.import_default_modules()  # every installed app's tasks.py
    return app.tasks[name]
