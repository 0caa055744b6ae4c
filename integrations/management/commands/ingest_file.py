"""Ingest captures collected offline through the same durable path as the endpoints."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from integrations import services
from integrations.formats import FormatError
from integrations.models import IngestBatch
from retro.models import Event

FORMATS = ["srt-json", "srt-csv", "ffmpeg", "firehose", "eventbridge", "generic", *services.FORMATS]


class Command(BaseCommand):
    help = "Ingest telemetry files (one batch per file) for an event, optionally for one feed."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+")
        parser.add_argument("--event", required=True)
        parser.add_argument("--feed")
        parser.add_argument("--format", required=True, choices=sorted(set(FORMATS)))
        parser.add_argument("--started-at", help="ffmpeg: ISO time the encoder started")

    def handle(self, *args, paths, event, feed, format, started_at, **options):
        ev = Event.objects.filter(slug=event).first()
        if ev is None:
            raise CommandError(f"No event {event!r}.")
        fd = None
        if feed:
            fd = ev.feeds.filter(slug=feed).first()
            if fd is None:
                raise CommandError(f"No feed {feed!r} in {event}.")
        elif format in ("srt-json", "srt-csv", "ffmpeg"):
            raise CommandError(f"--feed is required for {format}.")
        failed = 0
        for number, name in enumerate(paths, 1):
            path = Path(name)
            fmt = format
            if fmt == "generic":
                fmt = "generic-csv" if path.suffix.lower() == ".csv" else "generic-json"
            body = path.read_bytes()
            if fmt == "firehose" and body.startswith(b"POST "):
                body = body.partition(b"\r\n\r\n")[2]  # a raw HTTP capture: keep the body
            try:
                batch, _ = services.ingest_batch(
                    event=ev,
                    feed=fd,
                    fmt=fmt,
                    body=body,
                    options={"started_at": started_at},
                    request_id=f"file:{path.name}:{len(body)}" if fmt == "firehose" else None,
                )
            except FormatError as err:
                failed += 1
                self.stderr.write(f"\n{path}: {err}")
                continue
            batch.refresh_from_db()
            self._progress(number, len(paths), path.name, batch)
        self.stdout.write("")
        if failed:
            raise CommandError(f"{failed} file(s) could not be parsed; nothing stored for them.")

    def _progress(self, done: int, total: int, name: str, batch: IngestBatch) -> None:
        width = 30
        filled = width * done // total
        bar = "#" * filled + "-" * (width - filled)
        line = f"\r[{bar}] {done}/{total} {name}: batch {batch.pk} {batch.state}"
        line += f", {batch.samples} samples"
        self.stdout.write(line, ending="")
        sys.stdout.flush()
