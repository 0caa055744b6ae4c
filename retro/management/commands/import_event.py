from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from retro.rundown import RundownError, import_rundown


class Command(BaseCommand):
    help = "Create or update an event from a YAML or CSV rundown; an invalid file imports nothing."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options):
        if not file.is_file():
            raise CommandError(f"{file}: no such file.")
        fmt = "csv" if file.suffix.lower() == ".csv" else "yaml"
        try:
            result = import_rundown(text=file.read_text(encoding="utf-8"), fmt=fmt)
        except UnicodeDecodeError as exc:
            raise CommandError(f"{file}: not UTF-8 text.") from exc
        except RundownError as exc:
            raise CommandError(
                f"{file}: nothing imported; {len(exc.problems)} problem(s):\n" + str(exc)
            ) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Event {result.event.slug}: {result.created} created, {result.updated} updated, "
                f"{result.unchanged} unchanged."
            )
        )
