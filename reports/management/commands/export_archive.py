import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from reports.archive import export_event
from retro.models import Event


class Command(BaseCommand):
    help = "Write a whole event (path, entries with history, runs, anomalies, snapshots) as JSON."

    def add_arguments(self, parser):
        parser.add_argument("event", help="event slug")
        parser.add_argument("--output", type=Path, required=True)

    def handle(self, *args, event: str, output: Path, **options):
        found = Event.objects.filter(slug=event).first()
        if found is None:
            raise CommandError(f"No event {event!r}.")
        self.stdout.write(f"exporting {found.name} …")
        data = export_event(found)
        output.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
        counts = ", ".join(f"{len(v)} {k}" for k, v in data.items() if isinstance(v, list) and v)
        self.stdout.write(self.style.SUCCESS(f"{output}: {counts}"))
