"""A usable admin for the signal path, members and entries."""

from django import forms
from django.contrib import admin

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
class EventAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "venue", "state", "start", "end", "time_zone"]
    list_filter = ["state"]
    search_fields = ["name", "slug", "venue"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline, SessionInline]


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
class SessionAdmin(admin.ModelAdmin):
    list_display = ["title", "event", "kind", "room", "scheduled_start", "scheduled_end"]
    list_filter = ["event", "kind", "day"]
    search_fields = ["title", "slug", "room"]
    inlines = [FeedInline]


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
    readonly_fields = ["version", "editor", "edited_at", "changes"]
    can_delete = False


@admin.register(Entry)
class EntryAdmin(admin.ModelAdmin):
    list_display = ["kind", "short_body", "event", "occurred_at", "author", "stage", "status"]
    list_filter = ["event", "kind", "stage", "status", "impact"]
    search_fields = ["body", "tags"]
    raw_id_fields = ["session", "source_entry", "merged_into", "owner"]
    filter_horizontal = ["feeds"]
    readonly_fields = ["id", "logged_at", "updated_at", "version", "body_html"]
    inlines = [EntryRevisionInline]

    @admin.display(description="Body")
    def short_body(self, obj: Entry) -> str:
        return obj.body[:80]


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    list_display = ["at", "actor", "action", "object_type", "object_id", "event", "summary"]
    list_filter = ["action", "event"]
    search_fields = ["summary", "object_id"]
    readonly_fields = [f.name for f in AuditLog._meta.fields]
