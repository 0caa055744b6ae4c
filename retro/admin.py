"""A usable admin for the signal path, members and entries: every time with its zone (the
event's and UTC), tags as words, and entries deleted softly (restorable) like everywhere else."""

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.utils import timezone
from django.utils.html import format_html

from tally.times import in_zone

from . import services
from .models import (
    FEED_FIELDS,
    AuditLog,
    Entry,
    EntryRevision,
    Event,
    Feed,
    Membership,
    Session,
    Site,
)


def zoned(moment, event=None):
    """'Mon 30 Nov 2026 10:00 PST · 18:00 UTC': the event's zone first, then UTC."""
    if moment is None:
        return "—"
    if event is None:
        return in_zone(moment, "UTC", "date")
    return format_html(
        '<time datetime="{}">{}</time> <span class="quiet">· {}</span>',
        moment.isoformat(),
        in_zone(moment, event, "date"),
        in_zone(moment, "UTC", "clock"),
    )


class ZoneLabelledAdmin(admin.ModelAdmin):
    """Date-time inputs say which zone they are typed in (the admin shows the viewer's)."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if isinstance(db_field, models.DateTimeField) and field is not None:
            zone = timezone.get_current_timezone_name()
            field.help_text = f"In your zone, {zone}. {field.help_text or ''}".strip()
        return field


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


class SessionInline(admin.TabularInline):
    model = Session
    extra = 0
    fields = ["title", "slug", "kind", "room", "day", "scheduled_start", "scheduled_end"]
    show_change_link = True


@admin.register(Event)
class EventAdmin(ZoneLabelledAdmin):
    list_display = ["name", "slug", "venue", "state", "starts", "ends", "time_zone"]
    list_filter = ["state"]
    search_fields = ["name", "slug", "venue"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline, SessionInline]
    readonly_fields = ["record"]

    @staticmethod
    def _held(obj: Event) -> dict[str, int]:
        """services.event_record, counted once per event object: one change page asks for it
        several times (the field below and each delete-permission check)."""
        if not hasattr(obj, "_held_record"):
            obj._held_record = services.event_record(obj) if obj.pk else {}
        return obj._held_record

    @admin.display(description="Record")
    def record(self, obj: Event):
        held = self._held(obj)
        if not held:
            return "Nothing logged yet: this event can be deleted."
        counts = ", ".join(f"{count} {label}" for label, count in held.items())
        return f"{counts}. An event that holds a record is closed (state), not deleted."

    def has_delete_permission(self, request, obj=None) -> bool:
        """Only an event that holds no record (see retro.services.event_record) can be
        deleted, one at a time from its own page: entries, runs, telemetry and reports are
        the record, and a delete would erase them for good."""
        if obj is not None and self._held(obj):
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.display(description="Start", ordering="start")
    def starts(self, obj: Event):
        return zoned(obj.start, obj)

    @admin.display(description="End", ordering="end")
    def ends(self, obj: Event):
        return zoned(obj.end, obj)


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "role", "city", "time_zone"]
    list_filter = ["role"]
    search_fields = ["name", "slug", "city"]


class FeedInline(admin.TabularInline):
    model = Feed
    extra = 0
    fields = ["slug", "name", "kind", "language", "stage", "transport", "path"]
    show_change_link = True


@admin.register(Session)
class SessionAdmin(ZoneLabelledAdmin):
    list_display = ["title", "event", "kind", "room", "on_air_from", "on_air_to"]
    list_filter = ["event", "kind", "day"]
    search_fields = ["title", "slug", "room"]
    inlines = [FeedInline]
    list_select_related = ["event"]

    @admin.display(description="On air from", ordering="scheduled_start")
    def on_air_from(self, obj: Session):
        return zoned(obj.scheduled_start, obj.event)

    @admin.display(description="to", ordering="scheduled_end")
    def on_air_to(self, obj: Session):
        return zoned(obj.scheduled_end, obj.event)


class FeedAdminForm(forms.ModelForm):
    """Refuses upstream feeds of another event, the feed itself and loops, like the API."""

    class Meta:
        model = Feed
        fields = ["event", "slug", *FEED_FIELDS]

    def clean(self):
        cleaned = super().clean()
        upstreams = cleaned.get("derived_from")
        if upstreams is not None:
            self.instance.event_id = getattr(cleaned.get("event"), "pk", self.instance.event_id)
            error = self.instance.upstream_error(upstreams)
            if error:
                self.add_error("derived_from", error)
        return cleaned


@admin.register(Feed)
class FeedAdmin(admin.ModelAdmin):
    form = FeedAdminForm
    list_display = [
        "slug",
        "name",
        "event",
        "session",
        "kind",
        "language",
        "stage",
        "transport",
        "path",
    ]
    list_filter = ["event", "stage", "kind", "transport", "path"]
    search_fields = ["slug", "name", "source_ids"]
    raw_id_fields = ["session", "derived_from"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "event", "role", "site"]
    list_filter = ["event", "role"]
    search_fields = ["user__username", "event__name"]
    autocomplete_fields = ["user"]


class EntryRevisionInline(admin.TabularInline):
    model = EntryRevision
    extra = 0
    fields = ["version", "editor", "edited", "changes"]
    readonly_fields = fields
    can_delete = False

    @admin.display(description="Edited")
    def edited(self, obj: EntryRevision):
        return zoned(obj.edited_at, obj.entry.event)


@admin.register(Entry)
class EntryAdmin(ZoneLabelledAdmin):
    """Entries to look at, hide and bring back: delete hides an entry
    (retro.services.delete_entry) and "Restore" brings it back. Entries are logged and
    edited on the board and their pages (history, 409 on a stale edit), not here."""

    fields = [
        "id",
        "event",
        "kind",
        "body",
        "when",
        "author",
        "site",
        "session",
        "feeds",
        "stage",
        "tag_words",
        "impact",
        "shareable",
        "owner",
        "due",
        "status",
        "source_entry",
        "merged_into",
        "logged",
        "updated",
        "version",
        "state",
        "edit_in_tally",
    ]
    list_display = [
        "kind",
        "short_body",
        "event",
        "when",
        "author",
        "stage",
        "status",
        "tag_words",
        "state",
    ]
    list_filter = [
        "event",
        "kind",
        "stage",
        "status",
        "impact",
        ("deleted_at", admin.EmptyFieldListFilter),
    ]
    list_select_related = ["event", "author"]
    search_fields = ["body", "tags"]
    raw_id_fields = ["session", "source_entry", "merged_into", "owner"]
    filter_horizontal = ["feeds"]
    readonly_fields = [
        "id",
        "when",
        "logged",
        "updated",
        "version",
        "body_html",
        "deleted_at",
        "deleted_by",
    ]
    inlines = [EntryRevisionInline]
    actions = ["restore_entries"]

    @admin.display(description="Body")
    def short_body(self, obj: Entry) -> str:
        return obj.body[:80]

    @admin.display(description="When", ordering="occurred_at")
    def when(self, obj: Entry):
        return zoned(obj.occurred_at, obj.event)

    @admin.display(description="Logged")
    def logged(self, obj: Entry):
        return zoned(obj.logged_at, obj.event)

    @admin.display(description="Updated")
    def updated(self, obj: Entry):
        return zoned(obj.updated_at, obj.event)

    @admin.display(description="Tags")
    def tag_words(self, obj: Entry) -> str:
        return ", ".join(f"#{t}" for t in obj.tags) or "—"

    @admin.display(description="State")
    def state(self, obj: Entry) -> str:
        return "deleted (restorable)" if obj.deleted_at else "on the board"

    @admin.display(description="Edit")
    def edit_in_tally(self, obj: Entry):
        return format_html(
            '<a href="{}">Edit on its page</a> (every change kept in its history)',
            obj.get_absolute_url(),
        )

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def get_deleted_objects(self, objs, request):
        """The confirmation says what a (soft) delete does, instead of listing the history
        rows a hard delete would erase."""
        lines = [
            f"{obj} — hidden from the board, the meeting and reports; its history, votes and "
            "feed links stay, and “Restore” brings it back"
            for obj in objs
        ]
        perms = set() if self.has_delete_permission(request) else {"entry"}
        return lines, {"entries": len(lines)}, perms, []

    def delete_model(self, request, obj: Entry):
        services.delete_entry(entry=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for entry in queryset.select_related("event"):
            services.delete_entry(entry=entry, actor=request.user)

    @admin.action(description="Restore the selected (deleted) entries")
    def restore_entries(self, request, queryset):
        restored = 0
        for entry in queryset.filter(deleted_at__isnull=False).select_related("event"):
            try:
                services.restore_entry(entry=entry, actor=request.user)
            except services.RetroFinalized as exc:
                self.message_user(request, str(exc), messages.ERROR)
                return
            restored += 1
        self.message_user(request, f"{restored} entr{'y' if restored == 1 else 'ies'} restored.")


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    """Read-only: the audit log is what a lead accounts with."""

    list_display = ["when", "actor", "action", "object_type", "object_id", "event", "summary"]
    list_filter = ["action", "event"]
    list_select_related = ["actor", "event"]
    search_fields = ["summary", "object_id"]
    readonly_fields = ["when", *(f.name for f in AuditLog._meta.fields if f.name != "at")]

    @admin.display(description="At", ordering="at")
    def when(self, obj: AuditLog):
        return zoned(obj.at, obj.event)

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
