import importlib

from django.core.management.base import BaseCommand

from retro import demo


def resolve(path: str):
    """The step function at 'module.function', or None while that part does not exist yet."""
    module_name, _, name = path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            return None
        raise
    return getattr(module, name)


class Command(BaseCommand):
    help = "Create the demo event (idempotent: a second run changes nothing)."

    def handle(self, *args, **options):
        steps = [(path, resolve(path)) for path in demo.STEPS]
        steps = [(path, fn) for path, fn in steps if fn is not None]
        for number, (_path, step) in enumerate(steps, start=1):
            self.stdout.write(f"[{number}/{len(steps)}] {step.__doc__.splitlines()[0]}")
            step(out=lambda line: self.stdout.write(f"      {line}"))
        self.stdout.write(self.style.SUCCESS("Demo event 'demo' is ready."))
        if notice := demo.stale_notice():
            self.stdout.write(self.style.WARNING(notice))
