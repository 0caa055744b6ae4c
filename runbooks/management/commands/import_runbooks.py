from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from runbooks.importexport import import_dir


class Command(BaseCommand):
    help = "Import runbooks from a folder of Markdown files with YAML front matter."

    def add_arguments(self, parser):
        parser.add_argument("directory")
        parser.add_argument("--author", help="username recorded as the author of new revisions")

    def handle(self, directory, author=None, **options):
        path = Path(directory)
        if not path.is_dir():
            raise CommandError(f"{directory} is not a directory.")
        user = None
        if author:
            user = get_user_model().objects.filter(username=author).first()
            if user is None:
                raise CommandError(f"Unknown user {author!r}.")
        results = import_dir(path, author=user, out=self.stdout.write)
        counts = {}
        for r in results:
            counts[r.status] = counts.get(r.status, 0) + 1
        summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        self.stdout.write(f"{len(results)} files: {summary or 'nothing to import'}")
        errors = [r for r in results if r.status == "error"]
        if errors:
            for r in errors:
                self.stderr.write(f"{r.path}: {r.message}")
            raise CommandError(f"{len(errors)} file(s) not imported.")
