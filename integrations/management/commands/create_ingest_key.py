"""Print a new ingest key for an event, once (for automation)."""

from django.core.management.base import BaseCommand, CommandError

from integrations import services
from retro.models import Event


class Command(BaseCommand):
    help = "Create an ingest key for EVENT and print it once (it is stored hashed)."

    def add_arguments(self, parser):
        parser.add_argument("event", help="event slug")
        parser.add_argument("--name", default="command line")

    def handle(self, *args, event, name, **options):
        ev = Event.objects.filter(slug=event).first()
        if ev is None:
            raise CommandError(f"No event {event!r}.")
        key, secret = services.create_ingest_key(event=ev, name=name, actor=None)
        self.stderr.write(f"Ingest key {key.name!r} ({key.prefix}…) for {ev.slug}; shown once:")
        self.stdout.write(secret)
