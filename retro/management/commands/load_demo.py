from django.core.management.base import BaseCommand

from retro import demo


class Command(BaseCommand):
    help = "Create the demo event (idempotent: a second run changes nothing)."

    def handle(self, *args, **options):
        total = len(demo.STEPS)
        for number, step in enumerate(demo.STEPS, start=1):
            self.stdout.write(f"[{number}/{total}] {step.__doc__.splitlines()[0]}")
            step(out=lambda line: self.stdout.write(f"      {line}"))
        self.stdout.write(self.style.SUCCESS("Demo event 'demo' is ready."))
