from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from retro.models import Event
from retro.planning import plan_next_event
from tally.times import parse_instant


class Command(BaseCommand):
    help = (
        "Create the next event from EVENT: sessions and feeds copied to the new start, members "
        "kept, --lead as its lead. The retro must be finalized unless --force."
    )

    def add_arguments(self, parser):
        parser.add_argument("event", help="slug of the event to plan from")
        parser.add_argument("--slug", required=True)
        parser.add_argument("--name", required=True)
        parser.add_argument("--start", required=True, help="ISO 8601 with a zone")
        parser.add_argument("--lead", required=True, help="username of a lead of EVENT")
        parser.add_argument("--force", action="store_true", help="retro not finalized (recorded)")

    def handle(self, *args, event, slug, name, start, lead, force, **options):
        source = Event.objects.filter(slug=event).first()
        if source is None:
            raise CommandError(f"No event {event!r}.")
        user = get_user_model().objects.filter(username=lead, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user {lead!r}.")
        try:
            nxt = plan_next_event(
                event=source,
                actor=user,
                slug=slug,
                name=name,
                start=parse_instant(start, "start"),  # a bad time is a ValidationError too
                force=force,
                progress=lambda line: self.stdout.write(f"{slug}: {line}"),
            )
        except PermissionDenied as exc:
            raise CommandError(f"{lead}: {exc}") from exc
        except ValidationError as exc:
            problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
            raise CommandError(f"Nothing created: {problems}") from exc
        self.stdout.write(
            self.style.SUCCESS(f"Event {nxt.slug} planned from {source.slug} (follows it).")
        )
