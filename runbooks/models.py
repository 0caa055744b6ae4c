"""Runbooks: versioned Markdown procedures, run as checklists during the show."""

from datetime import timedelta

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone

from retro.models import Entry, Event, Feed, Session, Stage
from tally.validators import validate_slug

# The text search configuration of every search vector and index (revisions, entries).
SEARCH_CONFIG = "english"


class Runbook(models.Model):
    """A procedure for one stage of the signal path, e.g. failing contribution over to B."""

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True, validators=[validate_slug])
    stage = models.CharField(max_length=16, choices=Stage.choices)
    # {"feed_kinds": ["program", ...], "sites": ["venue-encode", ...]}
    applies_to = models.JSONField(default=dict, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_runbooks",
    )
    review_days = models.PositiveIntegerField(default=180, validators=[MinValueValidator(1)])
    reviewed_at = models.DateTimeField(null=True, blank=True)
    current = models.ForeignKey(
        "RunbookRevision", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["stage", "title"]

    def __str__(self) -> str:
        return self.title

    @property
    def stale(self) -> bool:
        """Not reviewed within its review interval."""
        if self.reviewed_at is None:
            return True
        return self.reviewed_at + timedelta(days=self.review_days) < timezone.now()

    @property
    def revision_number(self) -> int:
        return self.current.number if self.current_id else 0


# A revision's text, its HTML and its search vector: hundreds of kB for a long runbook.
# Lists and joins that only name revisions leave them out: .defer(*revision_text("revision")).
REVISION_TEXT = ("body", "body_html", "search_vector")


def revision_text(*relations: str) -> list[str]:
    """The REVISION_TEXT fields of revisions reached through `relations` ("" for the model)."""
    return [f"{rel}__{f}" if rel else f for rel in relations for f in REVISION_TEXT]


class RunbookRevision(models.Model):
    """One saved version of a runbook's body; saves never overwrite."""

    runbook = models.ForeignKey(Runbook, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    body = models.TextField()
    body_html = models.TextField(blank=True)
    summary = models.CharField(max_length=300, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    base_number = models.PositiveIntegerField(null=True, blank=True)
    entries = models.ManyToManyField(Entry, blank=True, related_name="runbook_revisions")
    # The body's English tsvector, written by services.index_revisions (PostgreSQL only;
    # stays empty on SQLite, which searches with icontains). GIN-indexed by migration 0003.
    search_vector = SearchVectorField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["runbook", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["runbook", "number"], name="revision_number_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.runbook.slug} r{self.number}"


class RunbookLink(models.Model):
    """An entry (learning or action) pointing to a runbook and, optionally, one of its steps."""

    entry = models.ForeignKey(Entry, on_delete=models.CASCADE, related_name="runbook_links")
    runbook = models.ForeignKey(Runbook, on_delete=models.CASCADE, related_name="links")
    revision = models.ForeignKey(
        RunbookRevision, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    step_ref = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["entry", "runbook"], name="one_link_per_entry_runbook"),
        ]

    def __str__(self) -> str:
        return f"{self.entry_id} → {self.runbook.slug} {self.step_ref}".strip()


class RunbookRun(models.Model):
    """One execution of a runbook revision for an event (optionally a session or feed)."""

    runbook = models.ForeignKey(Runbook, on_delete=models.CASCADE, related_name="runs")
    revision = models.ForeignKey(RunbookRevision, on_delete=models.PROTECT, related_name="runs")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="runbook_runs")
    session = models.ForeignKey(
        Session, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    feed = models.ForeignKey(
        Feed, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    finished_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    previous_revision = models.ForeignKey(
        RunbookRevision, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Counts the changes to the run (steps recorded, finish): open copies of the checklist
    # ask for the steps changed after the number they have.
    change_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["event", "started_at"])]

    def __str__(self) -> str:
        return f"run {self.pk} of {self.runbook.slug} r{self.revision.number}"

    @property
    def finished(self) -> bool:
        return self.finished_at is not None


class RunStep(models.Model):
    """One task-list item of the revision a run uses, and what the operator recorded."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"
        SKIPPED = "skipped", "Skipped"

    run = models.ForeignKey(RunbookRun, on_delete=models.CASCADE, related_name="steps")
    number = models.PositiveIntegerField()
    heading = models.CharField(max_length=300, blank=True)
    text = models.TextField()
    html = models.TextField(blank=True, help_text="The text rendered once, at the run's start.")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    reason = models.TextField(blank=True)
    note = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(null=True, blank=True)
    # The run's change_count when this step last changed (0: never).
    version = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["run", "number"]
        constraints = [
            models.UniqueConstraint(fields=["run", "number"], name="step_number_unique_per_run"),
        ]

    def __str__(self) -> str:
        return f"step {self.number} of run {self.run_id}"


class RunStepChange(models.Model):
    """One tick, skip, undo or note as a client sent it: its client-made id makes a resend
    (the offline queue retrying) harmless."""

    run = models.ForeignKey(RunbookRun, on_delete=models.CASCADE, related_name="changes")
    number = models.PositiveIntegerField()
    client_id = models.UUIDField(unique=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"change {self.client_id} to step {self.number} of run {self.run_id}"


class RunbookAlias(models.Model):
    """A runbook's former slug: its old addresses (bookmarks, links in entries and reports)
    redirect to where it lives now. A runbook created or renamed to the slug takes it back."""

    slug = models.SlugField(max_length=100, unique=True, validators=[validate_slug])
    runbook = models.ForeignKey(Runbook, on_delete=models.CASCADE, related_name="aliases")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "runbook aliases"

    def __str__(self) -> str:
        return f"{self.slug} -> runbook {self.runbook_id}"
