import sys
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from reports import content, services
from reports.models import Report
from retro.models import Event


class Command(BaseCommand):
    help = "Write an event's post-event report (PDF, Markdown, CSV or JSON) to a file."

    def add_arguments(self, parser):
        parser.add_argument("event", help="the event's slug")
        parser.add_argument("--format", default="pdf", help="pdf | md | csv | json")
        parser.add_argument("--variant", default="internal", help="internal | external")
        parser.add_argument("--sections", nargs="*", default=None, help=", ".join(content.SECTIONS))
        parser.add_argument("--kinds", nargs="*", default=None)
        parser.add_argument("--stages", nargs="*", default=None)
        parser.add_argument("--sessions", nargs="*", default=None, help="session slugs")
        parser.add_argument("--table", default="entries", help="CSV: entries | actions")
        parser.add_argument("--output", "-o", required=True, help="file to write ('-' for stdout)")

    def handle(self, *args, **opts):
        event = Event.objects.filter(slug=opts["event"]).first()
        if event is None:
            raise CommandError(f"No event {opts['event']!r}.")
        chosen = {
            name: [v for raw in opts[name] for v in raw.split(",") if v]
            for name in ("sections", "kinds", "stages", "sessions")
            if opts[name]
        }
        chosen["table"] = opts["table"]
        try:
            options = content.parse_options(
                event, format=opts["format"], variant=opts["variant"], options=chosen
            )
        except ValidationError as exc:
            problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
            raise CommandError(problems) from exc
        to_stdout = opts["output"] == "-"
        progress = self._progress_line(self.stderr)
        data = services.generate(event, options, progress)
        progress(100)
        if to_stdout:
            sys.stdout.buffer.write(data)
            return
        Path(opts["output"]).write_bytes(data)
        label = Report.Format(options.format).label
        self.stderr.write("")
        self.stdout.write(f"{label} report of {event.slug}: {len(data)} bytes → {opts['output']}")

    @staticmethod
    def _progress_line(stream):
        last = [-1]

        def show(pct):
            pct = int(pct)
            if pct <= last[0]:
                return
            last[0] = pct
            bar = "#" * (pct // 5)
            stream.write(f"\rrendering [{bar:<20}] {pct:3d}%", ending="")
            stream.flush()

        return show
