"""The signal path of an event (sites, sessions, feeds), its members, and its retro entries."""

import uuid
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from tally.validators import validate_slug


def validate_time_zone(value: str) -> None:
    """Refuse names that are not IANA time zones."""
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f"Unknown time zone {value!r}; use an IANA name.") from exc


class Stage(models.TextChoices):
    CONTRIBUTION = "contribution", "Contribution"
    TRANSMISSION = "transmission", "Transmission"
    DISTRIBUTION = "distribution", "Distribution"
    HANDOFF = "handoff", "Handoff"


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer"
    OPERATOR = "operator", "Operator"
    LEAD = "lead", "Lead"


ROLE_RANK = {Role.VIEWER: 1, Role.OPERATOR: 2, Role.LEAD: 3}


class Event(models.Model):
    """A live event whose streams the team runs, e.g. a four-day conference."""

    class State(models.TextChoices):
        PLANNING = "planning", "Planning"
        LIVE = "live", "Live"
        CLOSED = "closed", "Closed"

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True, validators=[validate_slug])
    venue = models.CharField(max_length=200, blank=True)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    start = models.DateTimeField()
    end = models.DateTimeField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.PLANNING)
    thresholds = models.JSONField(default=dict, blank=True)
    retro_finalized_at = models.DateTimeField(null=True, blank=True)
    retro_finalized_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    retro_override_reason = models.TextField(blank=True)
    # The event this one was planned from (next year's event follows this year's).
    follows = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="followed_by"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-start"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.start and self.end and self.end <= self.start:
            raise ValidationError({"end": "The event must end after it starts."})

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def retro_finalized(self) -> bool:
        return self.retro_finalized_at is not None


class Site(models.Model):
    """A place operators work from: the venue encode site, broadcast control, monitoring."""

    class SiteRole(models.TextChoices):
        ENCODE = "encode", "Encode site"
        BROADCAST_CONTROL = "broadcast_control", "Broadcast control"
        MONITORING = "monitoring", "Monitoring station"

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=80, unique=True, validators=[validate_slug])
    role = models.CharField(max_length=32, choices=SiteRole.choices)
    city = models.CharField(max_length=120, blank=True)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.city})" if self.city else self.name


class Session(models.Model):
    """A talk or keynote; its scheduled start/end is its on-air window."""

    class Kind(models.TextChoices):
        KEYNOTE = "keynote", "Keynote"
        INNOVATION_TALK = "innovation_talk", "Innovation talk"
        OTHER = "other", "Other"

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="sessions")
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, validators=[validate_slug])
    kind = models.CharField(max_length=32, choices=Kind.choices, default=Kind.OTHER)
    room = models.CharField(max_length=120, blank=True)
    day = models.DateField()
    scheduled_start = models.DateTimeField()
    scheduled_end = models.DateTimeField()
    # Marked on the board's show clock (retro.showclock) by a lead or an operator.
    actual_start = models.DateTimeField(null=True, blank=True)
    actual_end = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["scheduled_start", "title"]
        constraints = [
            models.UniqueConstraint(fields=["event", "slug"], name="session_slug_unique_per_event"),
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        if (
            self.scheduled_start
            and self.scheduled_end
            and self.scheduled_end <= self.scheduled_start
        ):
            raise ValidationError({"scheduled_end": "A session must end after it starts."})


class Feed(models.Model):
    """One signal of a session on one stage of the path, e.g. the ASL return over SRT."""

    class Kind(models.TextChoices):
        PROGRAM = "program", "Program"
        SIGN_LANGUAGE = "sign_language", "Sign language"
        AUDIO_TRANSLATION = "audio_translation", "Audio translation"
        CAPTIONS = "captions", "Captions"
        SUBTITLES = "subtitles", "Subtitles"
        SIMULCAST = "simulcast", "Simulcast"
        VENUE_RETURN = "venue_return", "Venue return"
        HOTEL_ALTERNATE = "hotel_alternate", "Hotel alternate"
        OTHER = "other", "Other"

    class Transport(models.TextChoices):
        SRT = "srt", "SRT"
        RTP_FEC = "rtp_fec", "RTP/FEC"
        RTMP = "rtmp", "RTMP"
        CLOUD_FLOW = "cloud_flow", "Cloud flow"
        HLS_DASH = "hls_dash", "HLS/DASH"
        OTHER = "other", "Other"

    class Path(models.TextChoices):
        A = "A", "A"
        B = "B", "B"
        NONE = "none", "None"

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="feeds")
    session = models.ForeignKey(
        Session, null=True, blank=True, on_delete=models.SET_NULL, related_name="feeds"
    )
    slug = models.SlugField(max_length=100, validators=[validate_slug])
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=32, choices=Kind.choices, default=Kind.PROGRAM)
    language = models.CharField(max_length=16, blank=True)
    stage = models.CharField(max_length=16, choices=Stage.choices)
    origin = models.ForeignKey(
        Site, null=True, blank=True, on_delete=models.SET_NULL, related_name="outgoing_feeds"
    )
    destination = models.ForeignKey(
        Site, null=True, blank=True, on_delete=models.SET_NULL, related_name="incoming_feeds"
    )
    transport = models.CharField(max_length=16, choices=Transport.choices, default=Transport.SRT)
    path = models.CharField(max_length=4, choices=Path.choices, default=Path.NONE)
    source_ids = models.JSONField(default=list, blank=True)
    # The feeds this one is made from: one, or several for redundant paths (A and B into
    # transmission) and mixes (playout and live into the hotel feed).
    derived_from = models.ManyToManyField(
        "self", symmetrical=False, blank=True, related_name="derived_feeds"
    )

    class Meta:
        ordering = ["stage", "slug"]
        constraints = [
            models.UniqueConstraint(fields=["event", "slug"], name="feed_slug_unique_per_event"),
        ]
        indexes = [models.Index(fields=["event", "stage"])]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = {}
        if self.session_id and self.event_id and self.session.event_id != self.event_id:
            errors["session"] = "The session belongs to another event."
        if not isinstance(self.source_ids, list) or not all(
            isinstance(s, str) and s.strip() for s in self.source_ids
        ):
            errors["source_ids"] = "A list of non-empty identifiers is expected."
        if errors:
            raise ValidationError(errors)

    def upstream_error(self, upstreams) -> str | None:
        """Why these upstream feeds cannot be this feed's derived_from, or None: a feed of
        another event, the feed itself, or a loop through the stored links."""
        upstreams = list(upstreams)
        if any(self.event_id and u.event_id != self.event_id for u in upstreams):
            return "The upstream feed belongs to another event."
        if self.pk is None:
            return None  # a new feed has nothing derived from it yet: no loop possible
        if any(u.pk == self.pk for u in upstreams):
            return "A feed cannot be derived from itself, directly or through other feeds."
        links = Feed.derived_from.through.objects.filter(from_feed__event_id=self.event_id)
        parents: dict[int, list[int]] = {}
        for child, parent in links.values_list("from_feed_id", "to_feed_id"):
            parents.setdefault(child, []).append(parent)
        parents[self.pk] = [u.pk for u in upstreams]
        stack, seen = list(parents[self.pk]), set()
        while stack:
            current = stack.pop()
            if current == self.pk:
                return "A feed cannot be derived from itself, directly or through other feeds."
            if current not in seen:
                seen.add(current)
                stack.extend(parents.get(current, []))
        return None


# A feed's descriptive fields, as the rundown, the API and the services name them.
FEED_FIELDS = (
    "name",
    "kind",
    "language",
    "stage",
    "session",
    "origin",
    "destination",
    "transport",
    "path",
    "source_ids",
    "derived_from",
)


class Membership(models.Model):
    """A user's role on one event."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "user"], name="one_membership_per_event"),
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.role} of {self.event}"


class Entry(models.Model):
    """A win, learning or action logged during or after the event."""

    class Kind(models.TextChoices):
        WIN = "win", "Win"
        LEARNING = "learning", "Learning"
        ACTION = "action", "Action"

    class Impact(models.TextChoices):
        ON_AIR = "on_air", "On air"
        CAUGHT = "caught", "Caught before air"
        NONE = "none", "None"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"
        DROPPED = "dropped", "Dropped"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="entries")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    body = models.TextField()
    body_html = models.TextField(blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)
    logged_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="entries"
    )
    site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.SET_NULL)
    session = models.ForeignKey(
        Session, null=True, blank=True, on_delete=models.SET_NULL, related_name="entries"
    )
    feeds = models.ManyToManyField(Feed, blank=True, related_name="entries")
    stage = models.CharField(max_length=16, choices=Stage.choices, blank=True)
    tags = models.JSONField(default=list, blank=True)
    impact = models.CharField(max_length=16, choices=Impact.choices, blank=True)
    shareable = models.BooleanField(default=False)
    version = models.PositiveIntegerField(default=1)
    window_before = models.PositiveIntegerField(default=300, validators=[MinValueValidator(0)])
    window_after = models.PositiveIntegerField(default=300, validators=[MinValueValidator(0)])
    # Action fields
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_actions",
    )
    due = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, blank=True)
    source_entry = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="actions"
    )
    reminded_at = models.DateTimeField(null=True, blank=True)
    # Retro meeting
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_entries"
    )
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-occurred_at"]
        verbose_name_plural = "entries"
        indexes = [
            models.Index(fields=["event", "occurred_at"]),
            models.Index(fields=["event", "kind", "occurred_at"]),
            models.Index(fields=["event", "updated_at"]),
            models.Index(fields=["owner", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.body[:60]}"

    def get_absolute_url(self) -> str:
        return reverse("entry-detail", kwargs={"pk": self.pk})

    @property
    def is_action(self) -> bool:
        return self.kind == self.Kind.ACTION


class EntryRevision(models.Model):
    """One edit of an entry: who, when and what changed (old and new values)."""

    entry = models.ForeignKey(Entry, on_delete=models.CASCADE, related_name="revisions")
    version = models.PositiveIntegerField()
    editor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    edited_at = models.DateTimeField(default=timezone.now)
    changes = models.JSONField(default=dict)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["entry", "version"], name="one_revision_per_version"),
        ]

    def __str__(self) -> str:
        return f"v{self.version} of {self.entry_id}"


class Vote(models.Model):
    """A retro-meeting vote for an entry."""

    entry = models.ForeignKey(Entry, on_delete=models.CASCADE, related_name="votes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["entry", "user"], name="one_vote_per_user"),
        ]

    def __str__(self) -> str:
        return f"vote by {self.user_id} for {self.entry_id}"


class AuditLog(models.Model):
    """Who changed what and when, for everything a lead may need to account for."""

    event = models.ForeignKey(
        Event, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_log"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    summary = models.CharField(max_length=300, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["event", "at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.object_type}"


def live_entries():
    """Entries that are neither deleted nor merged into another."""
    return Entry.objects.filter(Q(deleted_at__isnull=True) & Q(merged_into__isnull=True))


class NoChangeDecision(models.Model):
    """A learning's written decision that nothing needs to change: who, when and why."""

    learning = models.OneToOneField(Entry, on_delete=models.CASCADE, related_name="no_change")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField()
    decided_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"no change for {self.learning_id}: {self.reason[:60]}"


class RecurrenceLink(models.Model):
    """A learning that is the same problem as one logged at an earlier event of the chain."""

    entry = models.ForeignKey(Entry, on_delete=models.CASCADE, related_name="recurrence_links")
    earlier = models.ForeignKey(Entry, on_delete=models.CASCADE, related_name="recurred_in")
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    linked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["entry", "earlier"], name="one_link_per_recurrence"),
        ]

    def __str__(self) -> str:
        return f"{self.entry_id} recurs {self.earlier_id}"


class MailPreference(models.Model):
    """Which notifications a person gets by email: every kind, until they turn one off."""

    class Kind(models.TextChoices):
        ACTION_REMINDER = "action_reminder", "Reminders of my actions falling due"
        WEEKLY_DIGEST = "weekly_digest", "A weekly digest of my overdue actions"
        WEBHOOK_DISABLED = "webhook_disabled", "A webhook of an event I lead was disabled"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mail_preference"
    )
    action_reminder = models.BooleanField(default=True)
    weekly_digest = models.BooleanField(default=True)
    webhook_disabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"mail preferences of {self.user}"
