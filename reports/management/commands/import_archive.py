import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from reports.archive import ArchiveError, import_event


class Command(BaseCommand):
    help = "Create an event from an archive written by export_archive (all or nothing)."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options):
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise CommandError(f"{file}: no such file.") from exc
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CommandError(f"{file}: not a JSON archive ({exc}).") from exc
        try:
            event = import_event(data)
        except (ArchiveError, KeyError, TypeError, ValueError) as exc:
            raise CommandError(f"{file}: nothing imported: {exc}") from exc
        self.stdout.write(self.style.SUCCESS(f"Imported event {event.slug} ({event.name})."))
