"""Generated reports, kept with the options they were made with."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class Report(models.Model):
    """A generated post-event report (PDF, Markdown, CSV or JSON), kept with its options."""

    class Format(models.TextChoices):
        PDF = "pdf", "PDF"
        MARKDOWN = "md", "Markdown"
        CSV = "csv", "CSV"
        JSON = "json", "JSON"

    class Variant(models.TextChoices):
        INTERNAL = "internal", "Internal"
        EXTERNAL = "external", "External (partner)"

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    event = models.ForeignKey("retro.Event", on_delete=models.CASCADE, related_name="reports")
    format = models.CharField(max_length=8, choices=Format.choices)
    variant = models.CharField(max_length=16, choices=Variant.choices, default=Variant.INTERNAL)
    options = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    file = models.FileField(upload_to="reports/", blank=True)
    size = models.PositiveBigIntegerField(default=0)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "retro_report"  # created by retro's first migration; moved here in state only
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_format_display()} report of {self.event_id} ({self.state})"
