from django.core.management.base import BaseCommand

from runbooks.importexport import export_dir


class Command(BaseCommand):
    help = "Write every runbook's current revision as DIR/<slug>.md with YAML front matter."

    def add_arguments(self, parser):
        parser.add_argument("directory")

    def handle(self, directory, **options):
        count = export_dir(directory, out=self.stdout.write)
        self.stdout.write(f"{count} runbooks exported to {directory}")
