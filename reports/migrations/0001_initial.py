"""Report, taken over from retro in state only: its table retro_report already exists."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("retro", "0002_report_moves_to_reports"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="Report",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("format", models.CharField(choices=[("pdf", "PDF"), ("md", "Markdown"), ("csv", "CSV"), ("json", "JSON")], max_length=8)),
                        ("variant", models.CharField(choices=[("internal", "Internal"), ("external", "External (partner)")], default="internal", max_length=16)),
                        ("options", models.JSONField(blank=True, default=dict)),
                        ("state", models.CharField(choices=[("queued", "Queued"), ("running", "Running"), ("done", "Done"), ("failed", "Failed")], default="queued", max_length=16)),
                        ("progress", models.PositiveSmallIntegerField(default=0)),
                        ("error", models.TextField(blank=True)),
                        ("file", models.FileField(blank=True, upload_to="reports/")),
                        ("size", models.PositiveBigIntegerField(default=0)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("started_at", models.DateTimeField(blank=True, null=True)),
                        ("finished_at", models.DateTimeField(blank=True, null=True)),
                        ("event", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="reports", to="retro.event")),
                        ("requested_by", models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL)),
                    ],
                    options={"db_table": "retro_report", "ordering": ["-created_at"]},
                ),
            ],
        )
    ]
