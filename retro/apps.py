from django.apps import AppConfig


class RetroConfig(AppConfig):
    name = "retro"
    verbose_name = "Events and retros"
