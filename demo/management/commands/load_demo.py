from django.core.management.base import BaseCommand

from demo import entries, runbooks, signal_path, telemetry

# The demo in order; each step takes `out` (a function that prints one progress line).
# Telemetry comes before the entries that talk about it; runbooks come last, since
# learnings changed them.
STEPS = [
    signal_path.load_signal_path,
    signal_path.load_users,
    telemetry.load_telemetry,
    entries.load_entries,
    runbooks.load_runbooks,
]


class Command(BaseCommand):
    help = "Create the demo event (idempotent: a second run changes nothing)."

    def handle(self, *args, **options):
        for number, step in enumerate(STEPS, start=1):
            self.stdout.write(f"[{number}/{len(STEPS)}] {step.__doc__.splitlines()[0]}")
            step(out=lambda line: self.stdout.write(f"      {line}"))
        self.stdout.write(self.style.SUCCESS("Demo event 'demo' is ready."))
        if notice := signal_path.stale_notice():
            self.stdout.write(self.style.WARNING(notice))
