"""REST API for events, their signal path and entries; the same selectors and services as the
HTML views. Access: every view gets its event through selectors.event_for_user (404 for
outsiders, 403 below the role); every write goes through retro.services."""

import uuid

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, pagination, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from tally.api import Conflict
from tally.times import parse_instant

from . import selectors, services
from .actions import OPEN_STATUSES
from .models import FEED_FIELDS, Entry, Event, Feed, Role, Session, Site, Stage, live_entries

User = get_user_model()


class Pages(pagination.PageNumberPagination):
    """{count, next, previous, results}; `?page_size=` up to 1000 (e.g. all feeds at once)."""

    page_size_query_param = "page_size"
    max_page_size = 1000


# --- Events ---------------------------------------------------------------


class EventSerializer(serializers.ModelSerializer):
    follows = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)

    class Meta:
        model = Event
        fields = ["slug", "name", "venue", "time_zone", "start", "end", "state", "follows"]
        # Uniqueness and the rest are checked by the service (model full_clean).
        extra_kwargs = {"slug": {"validators": []}}


class EventListApi(generics.ListCreateAPIView):
    """Events the caller is a member of; admins (Django staff) create events."""

    serializer_class = EventSerializer
    pagination_class = Pages

    def get_queryset(self):
        return (
            selectors.events_for_user(self.request.user)
            .select_related("follows")
            .order_by("-start")
        )

    def create(self, request, *args, **kwargs):
        if not selectors.is_admin(request.user):
            raise PermissionDenied("Only admins create events.")
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        event = services.create_event(actor=request.user, **serializer.validated_data)
        return Response(EventSerializer(event).data, status=status.HTTP_201_CREATED)


class EventDetailApi(generics.RetrieveAPIView):
    """One event, if the caller may see it."""

    serializer_class = EventSerializer

    def get_object(self):
        return selectors.event_for_user(self.request.user, self.kwargs["slug"])


# --- Sessions and feeds ----------------------------------------------------


class SessionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Session
        fields = ["slug", "title", "kind", "room", "day", "scheduled_start", "scheduled_end"]


class SessionListApi(generics.ListAPIView):
    """The event's sessions in on-air order."""

    serializer_class = SessionSerializer
    pagination_class = Pages

    def get_queryset(self):
        event = selectors.event_for_user(self.request.user, self.kwargs["slug"])
        return event.sessions.order_by("scheduled_start", "title")


class FeedSerializer(serializers.ModelSerializer):
    session = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    origin = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    destination = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    derived_from = serializers.SlugRelatedField(slug_field="slug", many=True, read_only=True)

    class Meta:
        model = Feed
        fields = ["slug", *FEED_FIELDS]


class FeedPatchSerializer(serializers.Serializer):
    """What a lead may change on a feed; references by slug."""

    name = serializers.CharField(required=False)
    kind = serializers.CharField(required=False)
    language = serializers.CharField(required=False, allow_blank=True)
    stage = serializers.CharField(required=False)
    session = serializers.CharField(required=False, allow_null=True)
    origin = serializers.CharField(required=False, allow_null=True)
    destination = serializers.CharField(required=False, allow_null=True)
    transport = serializers.CharField(required=False)
    path = serializers.CharField(required=False)
    source_ids = serializers.JSONField(required=False)
    derived_from = serializers.JSONField(
        required=False,
        allow_null=True,
        help_text="a list of upstream feed slugs (one slug alone is accepted; null or [] clears)",
    )


def _by_slug(queryset, slug, field: str):
    if slug in (None, ""):
        return None
    found = queryset.filter(slug=slug).first()
    if found is None:
        raise ValidationError({field: f"No {field.replace('_', ' ')} {slug!r} in this event."})
    return found


def _upstreams_by_slug(event, value) -> list[Feed]:
    """A derived_from value (a slug, a list of slugs, or null) as this event's feeds."""
    if value in (None, ""):
        return []
    slugs = [value] if isinstance(value, str) else value
    if not isinstance(slugs, list) or not all(isinstance(s, str) and s for s in slugs):
        raise ValidationError({"derived_from": "A feed slug or a list of feed slugs is expected."})
    found = {f.slug: f for f in event.feeds.filter(slug__in=slugs)}
    missing = [s for s in dict.fromkeys(slugs) if s not in found]
    if missing:
        raise ValidationError(
            {"derived_from": f"No feed {', '.join(map(repr, missing))} in this event."}
        )
    return [found[s] for s in dict.fromkeys(slugs)]


FEED_PARAMS = [
    OpenApiParameter("stage", str, required=False, enum=Stage.values),
    OpenApiParameter("session", str, required=False, description="a session slug"),
    OpenApiParameter("kind", str, required=False, enum=Feed.Kind.values),
    OpenApiParameter("path", str, required=False, enum=Feed.Path.values),
    OpenApiParameter("q", str, required=False, description="words in the slug or name"),
]


class FeedListApi(generics.ListAPIView):
    """The event's feeds by stage, filtered by `stage`, `session`, `kind`, `path` and `q`;
    `?page_size=` up to 1000 for typeahead lists."""

    serializer_class = FeedSerializer
    pagination_class = Pages

    @extend_schema(parameters=FEED_PARAMS)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        event = selectors.event_for_user(self.request.user, self.kwargs["slug"])
        feeds = selectors.event_feeds(event, self.request.query_params)
        return feeds.select_related("session", "origin", "destination").prefetch_related(
            "derived_from"
        )


class FeedDetailApi(APIView):
    """One feed; leads change it (e.g. its `source_ids`)."""

    @extend_schema(responses=FeedSerializer)
    def get(self, request, slug, feed):
        event = selectors.event_for_user(request.user, slug)
        return Response(FeedSerializer(_by_slug_or_404(event, feed)).data)

    @extend_schema(request=FeedPatchSerializer, responses=FeedSerializer)
    def patch(self, request, slug, feed):
        event = selectors.event_for_user(request.user, slug, Role.LEAD)
        target = _by_slug_or_404(event, feed)
        data = FeedPatchSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        unknown = set(request.data) - set(FeedPatchSerializer().fields)
        if unknown:
            raise ValidationError({name: "This field cannot be changed." for name in unknown})
        if "session" in changes:
            changes["session"] = _by_slug(event.sessions, changes["session"], "session")
        for name in ("origin", "destination"):
            if name in changes:
                changes[name] = _by_slug(Site.objects, changes[name], name)
        if "derived_from" in changes:
            changes["derived_from"] = _upstreams_by_slug(event, changes["derived_from"])
        updated = services.update_feed(feed=target, actor=request.user, **changes)
        return Response(FeedSerializer(updated).data)


def _by_slug_or_404(event, slug):
    feed = event.feeds.select_related("session", "origin", "destination")
    found = feed.prefetch_related("derived_from").filter(slug=slug).first()
    if found is None:
        raise Http404("No such feed.")
    return found


# --- Entries ---------------------------------------------------------------

ACTION_ONLY = ("owner", "due", "status", "source_entry")


class EntrySerializer(serializers.ModelSerializer):
    """Entry JSON; the action fields only on actions."""

    author = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    site = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    session = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    feeds = serializers.SlugRelatedField(slug_field="slug", many=True, read_only=True)
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    source_entry = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = Entry
        fields = [
            "id",
            "kind",
            "body",
            "body_html",
            "occurred_at",
            "logged_at",
            "author",
            "site",
            "session",
            "feeds",
            "stage",
            "tags",
            "impact",
            "version",
            *ACTION_ONLY,
        ]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if instance.kind != Entry.Kind.ACTION:
            for name in ACTION_ONLY:
                data.pop(name)
        return data


class EntryInputSerializer(serializers.Serializer):
    """The shape of an entry POST/PATCH. Only types here; the rules live in the services."""

    id = serializers.UUIDField(required=False)
    kind = serializers.CharField()
    body = serializers.CharField(allow_blank=True, trim_whitespace=False)
    occurred_at = serializers.CharField(required=False, help_text="ISO 8601 with a zone")
    site = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    session = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    feeds = serializers.ListField(child=serializers.CharField(), required=False)
    stage = serializers.CharField(required=False, allow_blank=True)
    tags = serializers.ListField(child=serializers.CharField(), required=False)
    impact = serializers.CharField(required=False, allow_blank=True)
    owner = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    due = serializers.DateField(required=False, allow_null=True)
    status = serializers.CharField(required=False, allow_blank=True)
    source_entry = serializers.UUIDField(required=False, allow_null=True)


class EntryPatchSerializer(EntryInputSerializer):
    id = None
    kind = serializers.CharField(required=False)
    body = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    version = serializers.IntegerField(help_text="The version this change is based on")


def _entry_fields(event: Event, data: dict) -> tuple[dict, list | None]:
    """Resolve slugs, usernames and ids of a validated entry payload into objects."""
    fields = dict(data)
    feeds = None
    if "occurred_at" in fields:
        fields["occurred_at"] = parse_instant(fields["occurred_at"], "occurred_at")
    if "site" in fields and not isinstance(fields["site"], Site | None):
        fields["site"] = _by_slug(Site.objects, fields["site"], "site")
    if "session" in fields:
        fields["session"] = _by_slug(event.sessions, fields["session"], "session")
    if "feeds" in fields:
        slugs = list(dict.fromkeys(fields.pop("feeds")))
        feeds = list(event.feeds.filter(slug__in=slugs))
        missing = sorted(set(slugs) - {f.slug for f in feeds})
        if missing:
            raise ValidationError({"feeds": f"No feed {', '.join(missing)} in this event."})
    if fields.get("owner"):
        owner = User.objects.filter(username=fields["owner"]).first()
        if owner is None:
            raise ValidationError({"owner": f"{fields['owner']} is not a member of this event."})
        fields["owner"] = owner
    elif "owner" in fields:
        fields["owner"] = None
    if fields.get("source_entry"):
        source = live_entries().filter(event=event, pk=fields["source_entry"]).first()
        if source is None:
            raise ValidationError({"source_entry": "No such learning in this event."})
        fields["source_entry"] = source
    for name in ("stage", "impact", "status"):
        if name in fields and fields[name] is None:
            fields[name] = ""
    return fields, feeds


def _conflict(exc: Exception, entry: Entry | None = None) -> Conflict:
    detail = {"detail": str(exc)}
    if entry is not None:
        detail["current"] = EntrySerializer(entry).data
    return Conflict(detail=detail)


class EntryListApi(generics.ListCreateAPIView):
    """An event's entries (filters: kind, feed, session, stage, since, until, q); operators
    log entries. A resend with the same `id` returns the stored entry (200), never a copy."""

    serializer_class = EntrySerializer
    pagination_class = Pages

    def get_event(self, minimum=Role.VIEWER):
        return selectors.event_for_user(self.request.user, self.kwargs["slug"], minimum)

    @extend_schema(
        parameters=[
            OpenApiParameter(name, str, required=False)
            for name in (
                "kind",
                "feed",
                "session",
                "stage",
                "site",
                "author",
                "since",
                "until",
                "q",
            )
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        event = self.get_event()
        filters = selectors.board_filters(self.request.query_params)
        return selectors.for_display(selectors.event_entries(event, filters))

    @extend_schema(request=EntryInputSerializer, responses={201: EntrySerializer})
    def post(self, request, *args, **kwargs):
        event = self.get_event(Role.OPERATOR)
        payload = EntryInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        client_id = data.pop("id", None)
        if "site" not in data:
            membership = selectors.membership_for(request.user, event)
            data["site"] = membership.site if membership else None
        fields, feeds = _entry_fields(event, data)
        try:
            entry, created = services.log_entry(
                event=event,
                author=request.user,
                kind=fields.pop("kind"),
                body=fields.pop("body"),
                client_id=client_id or uuid.uuid4(),
                feeds=feeds or (),
                **fields,
            )
        except services.RetroFinalized as exc:
            raise _conflict(exc) from exc
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(EntrySerializer(entry).data, status=code)


class EntryDetailApi(APIView):
    """One entry. PATCH carries the `version` it is based on (stale: 409); DELETE is soft."""

    def get_entry(self, pk, minimum=Role.VIEWER):
        return selectors.entry_for_user(self.request.user, pk, minimum)

    def _writable(self, pk) -> Entry:
        entry = self.get_entry(pk, Role.OPERATOR)
        if not selectors.can_edit_entry(self.request.user, entry):
            raise PermissionDenied("Operators edit their own entries; leads edit any.")
        return entry

    @extend_schema(responses=EntrySerializer)
    def get(self, request, pk):
        return Response(EntrySerializer(self.get_entry(pk)).data)

    @extend_schema(request=EntryPatchSerializer, responses=EntrySerializer)
    def patch(self, request, pk):
        entry = self._writable(pk)
        payload = EntryPatchSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        version = data.pop("version")
        if "status" in data and not selectors.can_change_action_status(request.user, entry):
            raise PermissionDenied("Only the owner or a lead changes this action's status.")
        fields, feeds = _entry_fields(entry.event, data)
        try:
            entry = services.edit_entry(
                entry=entry, editor=request.user, version=version, feeds=feeds, **fields
            )
        except services.StaleVersion as exc:
            raise _conflict(exc, exc.entry) from exc
        except services.RetroFinalized as exc:
            raise _conflict(exc) from exc
        return Response(EntrySerializer(entry).data)

    @extend_schema(responses={204: None})
    def delete(self, request, pk):
        entry = self._writable(pk)
        try:
            services.delete_entry(entry=entry, actor=request.user)
        except services.RetroFinalized as exc:
            raise _conflict(exc) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)


class EntryRestoreApi(APIView):
    """Undo a soft delete."""

    @extend_schema(request=None, responses=EntrySerializer)
    def post(self, request, pk):
        entry = selectors.entry_for_user(request.user, pk, Role.OPERATOR)
        if not selectors.can_edit_entry(request.user, entry):
            raise PermissionDenied("Operators restore their own entries; leads any.")
        try:
            with transaction.atomic():
                entry = services.restore_entry(entry=entry, actor=request.user)
        except services.RetroFinalized as exc:
            raise _conflict(exc) from exc
        return Response(EntrySerializer(entry).data)


# --- Actions ---------------------------------------------------------------


def _action_filters(entries, params, user):
    wanted = params.get("status", "").strip()
    if wanted == "open":
        entries = entries.filter(status__in=OPEN_STATUSES)
    elif wanted:
        if wanted not in Entry.Status.values:
            raise ValidationError({"status": f"Unknown status {wanted!r}."})
        entries = entries.filter(status=wanted)
    owner = params.get("owner", "").strip()
    if owner == "me":
        entries = entries.filter(owner=user)
    elif owner:
        entries = entries.filter(owner__username=owner)
    return entries.order_by("due", "-occurred_at")


ACTION_PARAMS = [
    OpenApiParameter("owner", str, required=False, description="username, or `me`"),
    OpenApiParameter(
        "status",
        str,
        required=False,
        description="open, in_progress, done, dropped; `open` means open or in progress",
    ),
]


class EventActionListApi(generics.ListAPIView):
    """An event's actions, filtered by `owner` and `status`."""

    serializer_class = EntrySerializer
    pagination_class = Pages

    @extend_schema(parameters=ACTION_PARAMS)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        event = selectors.event_for_user(self.request.user, self.kwargs["slug"])
        entries = live_entries().filter(event=event, kind=Entry.Kind.ACTION)
        return selectors.for_display(
            _action_filters(entries, self.request.query_params, self.request.user)
        )


class ActionListApi(generics.ListAPIView):
    """Actions across every event the caller may see, filtered by `owner` and `status`."""

    serializer_class = EntrySerializer
    pagination_class = Pages

    @extend_schema(parameters=ACTION_PARAMS)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        entries = live_entries().filter(
            kind=Entry.Kind.ACTION, event__in=selectors.events_for_user(self.request.user)
        )
        return selectors.for_display(
            _action_filters(entries, self.request.query_params, self.request.user)
        )
