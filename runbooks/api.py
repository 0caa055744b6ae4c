"""REST API for runbooks, revisions, runs and search: the same services and selectors as
the HTML views.

Every operation declares its request and response serializers, error bodies included
(400 field messages, 401/403/404 `detail`, 409 conflicts), so the OpenAPI schema at
/api/schema/ describes exactly what the views return.
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from retro.models import Entry, Feed, Role, Stage
from retro.selectors import event_for_user, events_for_user
from tally.api import Conflict

from . import diff, selectors, services
from .models import Runbook, RunbookRevision, RunbookRun, RunStep

# --- Error bodies -------------------------------------------------------------------------


class DetailSerializer(serializers.Serializer):
    """401, 403, 404 and plain 409 bodies."""

    detail = serializers.CharField()


class RunbookConflictSerializer(serializers.Serializer):
    """409 on PUT: the runbook moved on since `base_revision`; the current text to merge."""

    detail = serializers.CharField()
    revision = serializers.IntegerField()
    body = serializers.CharField()


FIELD_ERRORS = OpenApiResponse(
    {
        "type": "object",
        "description": "Field name → messages; problems not tied to a field under `detail`.",
        "additionalProperties": True,
    },
    description="Invalid input",
)
NOT_SIGNED_IN = OpenApiResponse(DetailSerializer, description="Not signed in")
FORBIDDEN = OpenApiResponse(DetailSerializer, description="Signed in, but the role is too low")
NOT_FOUND = OpenApiResponse(DetailSerializer, description="No such object, or not visible")
ALREADY_FINISHED = OpenApiResponse(DetailSerializer, description="The run is finished")


def _one_of(values) -> dict:
    """A string limited to `values`, as a pattern: an `enum` here would be merged with other
    apps' `kind`/`state` choice sets into clashing component names."""
    return {"type": "string", "pattern": "^(" + "|".join(values) + ")$"}


@extend_schema_field(_one_of(RunStep.State.values))
class StepStateField(serializers.ChoiceField):
    pass


@extend_schema_field(_one_of(Feed.Kind.values))
class FeedKindField(serializers.ChoiceField):
    pass


def _errors(*codes: int) -> dict:
    table = {400: FIELD_ERRORS, 403: FORBIDDEN, 404: NOT_FOUND, 409: ALREADY_FINISHED}
    return {401: NOT_SIGNED_IN, **{code: table[code] for code in codes}}


# --- Runbooks and revisions -----------------------------------------------------------------


class AppliesToSerializer(serializers.Serializer):
    feed_kinds = serializers.ListField(child=FeedKindField(choices=Feed.Kind.choices))
    sites = serializers.ListField(child=serializers.CharField())


class RunbookSerializer(serializers.ModelSerializer):
    owner = serializers.SerializerMethodField()
    applies_to = serializers.SerializerMethodField()
    revision = serializers.IntegerField(source="revision_number")
    body = serializers.SerializerMethodField()
    body_html = serializers.SerializerMethodField()
    stale = serializers.BooleanField()

    class Meta:
        model = Runbook
        fields = [
            "slug",
            "title",
            "stage",
            "owner",
            "applies_to",
            "review_days",
            "revision",
            "body",
            "body_html",
            "updated_at",
            "reviewed_at",
            "stale",
        ]

    def get_owner(self, obj) -> str | None:
        return obj.owner.username if obj.owner_id else None

    @extend_schema_field(AppliesToSerializer)
    def get_applies_to(self, obj) -> dict:
        value = obj.applies_to or {}
        return {"feed_kinds": value.get("feed_kinds", []), "sites": value.get("sites", [])}

    def get_body(self, obj) -> str:
        return obj.current.body if obj.current_id else ""

    def get_body_html(self, obj) -> str:
        return obj.current.body_html if obj.current_id else ""


class RevisionSerializer(serializers.ModelSerializer):
    author = serializers.SerializerMethodField()
    entries = serializers.SerializerMethodField()

    class Meta:
        model = RunbookRevision
        fields = [
            "number",
            "summary",
            "author",
            "created_at",
            "base_number",
            "body",
            "body_html",
            "entries",
        ]

    def get_author(self, obj) -> str | None:
        return obj.author.username if obj.author_id else None

    @extend_schema_field(serializers.ListField(child=serializers.UUIDField()))
    def get_entries(self, obj) -> list[str]:
        """The learnings and actions (of events the caller sees) that led to the revision."""
        user = self.context["request"].user
        visible = events_for_user(user).values("pk")
        return [
            str(pk) for pk in obj.entries.filter(event__in=visible).values_list("pk", flat=True)
        ]


class RevisionListSerializer(RevisionSerializer):
    class Meta(RevisionSerializer.Meta):
        fields = ["number", "summary", "author", "created_at", "base_number", "entries"]


class RunbookCreateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    slug = serializers.CharField(required=False, allow_blank=True, max_length=100)
    stage = serializers.ChoiceField(choices=Stage.choices)
    owner = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, help_text="Username; you by default."
    )
    applies_to = AppliesToSerializer(required=False)
    review_days = serializers.IntegerField(required=False, min_value=1, default=180)
    body = serializers.CharField(trim_whitespace=False)
    summary = serializers.CharField(required=False, allow_blank=True, max_length=300)
    entries = serializers.ListField(
        child=serializers.UUIDField(),
        required=False,
        help_text="Learnings and actions that led to this text.",
    )


class RunbookUpdateSerializer(serializers.Serializer):
    base_revision = serializers.IntegerField(
        help_text="The revision your change is based on; 409 if the runbook moved on."
    )
    title = serializers.CharField(required=False, max_length=200)
    slug = serializers.CharField(
        required=False, allow_blank=True, max_length=100, help_text="A new slug renames it."
    )
    stage = serializers.ChoiceField(choices=Stage.choices, required=False)
    owner = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    applies_to = AppliesToSerializer(required=False)
    review_days = serializers.IntegerField(required=False, min_value=1)
    body = serializers.CharField(
        required=False, trim_whitespace=False, help_text="The current body when omitted."
    )
    summary = serializers.CharField(required=False, allow_blank=True, max_length=300)
    entries = serializers.ListField(child=serializers.UUIDField(), required=False)


def _owner(username):
    if not username:
        return None
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise ValidationError({"owner": f"Unknown user {username!r}."})
    return user


def _entries(user, ids):
    return selectors.entries_behind_revision(user, ids)


class RunbookListApi(APIView):
    """GET: every runbook; POST: create one (leads, admins)."""

    serializer_class = RunbookSerializer

    @extend_schema(
        operation_id="runbooks_list",
        parameters=[OpenApiParameter("stage", str, enum=Stage.values, required=False)],
        responses={200: RunbookSerializer(many=True), **_errors()},
    )
    def get(self, request):
        runbooks = selectors.runbooks_for_user(request.user).order_by("slug")
        if stage := request.query_params.get("stage"):
            runbooks = runbooks.filter(stage=stage)
        return Response(RunbookSerializer(runbooks, many=True).data)

    @extend_schema(
        operation_id="runbooks_create",
        request=RunbookCreateSerializer,
        responses={201: RunbookSerializer, **_errors(400, 403)},
    )
    def post(self, request):
        if not selectors.can_edit(request.user):
            raise PermissionDenied("Only leads and admins create runbooks.")
        data = RunbookCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        runbook = services.create_runbook(
            title=v["title"],
            slug=v.get("slug", ""),
            stage=v["stage"],
            body=v["body"],
            author=request.user,
            owner=_owner(v.get("owner")) or request.user,
            applies_to=v.get("applies_to"),
            review_days=v["review_days"],
            summary=v.get("summary") or "Created",
            entries=_entries(request.user, v.get("entries")),
        )
        return Response(RunbookSerializer(runbook).data, status=status.HTTP_201_CREATED)


class RunbookDetailApi(APIView):
    """GET one runbook; PUT saves a new revision against `base_revision` (409 when stale)."""

    serializer_class = RunbookSerializer

    @extend_schema(
        operation_id="runbooks_retrieve", responses={200: RunbookSerializer, **_errors(404)}
    )
    def get(self, request, slug):
        return Response(RunbookSerializer(selectors.runbook_for_user(request.user, slug)).data)

    @extend_schema(
        operation_id="runbooks_update",
        request=RunbookUpdateSerializer,
        responses={
            200: RunbookSerializer,
            **_errors(400, 403, 404),
            409: OpenApiResponse(
                RunbookConflictSerializer, description="`base_revision` is not the current one"
            ),
        },
    )
    def put(self, request, slug):
        runbook = selectors.runbook_for_editor(request.user, slug)
        data = RunbookUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        meta = {k: v[k] for k in ("title", "slug", "stage", "applies_to", "review_days") if k in v}
        if "owner" in v:
            meta["owner"] = _owner(v["owner"])
        try:
            services.save_revision(
                runbook=runbook,
                author=request.user,
                body=v.get("body", runbook.current.body if runbook.current else ""),
                base_revision=v["base_revision"],
                summary=v.get("summary", ""),
                entries=_entries(request.user, v.get("entries")),
                **meta,
            )
        except services.StaleRevision as exc:
            return Response(
                {
                    "detail": str(exc),
                    "revision": exc.runbook.revision_number,
                    "body": exc.current.body if exc.current else "",
                },
                status=status.HTTP_409_CONFLICT,
            )
        runbook = selectors.runbooks_for_user(request.user).get(pk=runbook.pk)  # maybe renamed
        return Response(RunbookSerializer(runbook).data)


class RevisionListApi(APIView):
    """Every revision of a runbook, newest first (without bodies)."""

    serializer_class = RevisionListSerializer

    @extend_schema(
        operation_id="runbook_revisions_list",
        responses={200: RevisionListSerializer(many=True), **_errors(404)},
    )
    def get(self, request, slug):
        runbook = selectors.runbook_for_user(request.user, slug)
        revisions = runbook.revisions.select_related("author").order_by("-number")
        return Response(
            RevisionListSerializer(revisions, many=True, context={"request": request}).data
        )


class RevisionDetailApi(APIView):
    """One revision with its body, rendered HTML and the entries that led to it."""

    serializer_class = RevisionSerializer

    @extend_schema(
        operation_id="runbook_revisions_retrieve",
        responses={200: RevisionSerializer, **_errors(404)},
    )
    def get(self, request, slug, number):
        runbook = selectors.runbook_for_user(request.user, slug)
        revision = selectors.revision_of(runbook, number)
        return Response(RevisionSerializer(revision, context={"request": request}).data)


class DiffLineSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["equal", "delete", "insert", "gap"])
    left_no = serializers.IntegerField(allow_null=True)
    right_no = serializers.IntegerField(allow_null=True)
    text = serializers.CharField(allow_blank=True, trim_whitespace=False)


class DiffStatsSerializer(serializers.Serializer):
    added = serializers.IntegerField()
    removed = serializers.IntegerField()


class DiffSerializer(serializers.Serializer):
    """`from` is a Python keyword, so the fields are declared in get_fields."""

    def get_fields(self):
        return {
            "from": serializers.IntegerField(),
            "to": serializers.IntegerField(),
            "stats": DiffStatsSerializer(),
            "unified": serializers.CharField(allow_blank=True),
            "lines": DiffLineSerializer(many=True),
        }


class DiffApi(APIView):
    """GET ?from=&to=: the difference between two revisions (unified text and rows)."""

    serializer_class = DiffSerializer

    @extend_schema(
        operation_id="runbook_diff",
        parameters=[
            OpenApiParameter("from", int, required=True, description="Older revision number"),
            OpenApiParameter("to", int, required=False, description="Newer; current by default"),
        ],
        responses={200: DiffSerializer, **_errors(400, 404)},
    )
    def get(self, request, slug):
        runbook = selectors.runbook_for_user(request.user, slug)
        numbers = {}
        for name, default in (("from", ""), ("to", runbook.revision_number)):
            try:
                numbers[name] = int(request.query_params.get(name, default))
            except ValueError as exc:
                raise ValidationError({name: "Revision numbers are whole numbers."}) from exc
        old = selectors.revision_of(runbook, numbers["from"])
        new = selectors.revision_of(runbook, numbers["to"])
        return Response(
            {
                "from": old.number,
                "to": new.number,
                "stats": diff.stats(old.body, new.body),
                "unified": diff.unified(old.body, new.body, f"r{old.number}", f"r{new.number}"),
                "lines": [line.__dict__ for line in diff.inline(old.body, new.body)],
            }
        )


# --- Runs -----------------------------------------------------------------------------------


class RunStartSerializer(serializers.Serializer):
    event = serializers.SlugField()
    session = serializers.SlugField(required=False, allow_blank=True)
    feed = serializers.SlugField(required=False, allow_blank=True)


class StepSerializer(serializers.ModelSerializer):
    recorded_by = serializers.SerializerMethodField()

    class Meta:
        model = RunStep
        fields = [
            "number",
            "heading",
            "text",
            "state",
            "reason",
            "note",
            "recorded_by",
            "recorded_at",
        ]

    def get_recorded_by(self, obj) -> str | None:
        return obj.recorded_by.username if obj.recorded_by_id else None


class RunSerializer(serializers.ModelSerializer):
    runbook = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    revision = serializers.IntegerField(source="revision.number")
    event = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    session = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    feed = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    started_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    changed_since_revision = serializers.SerializerMethodField()
    steps = StepSerializer(many=True)

    class Meta:
        model = RunbookRun
        fields = [
            "id",
            "runbook",
            "revision",
            "event",
            "session",
            "feed",
            "started_by",
            "started_at",
            "finished_at",
            "changed_since_revision",
            "steps",
        ]

    def get_changed_since_revision(self, obj) -> int | None:
        prev = selectors.changed_since_last_run(obj)
        return prev.number if prev else None


class RunStartApi(APIView):
    """POST {event, session?, feed?}: operators of the event start a run."""

    serializer_class = RunSerializer

    @extend_schema(
        operation_id="runbook_runs_create",
        request=RunStartSerializer,
        responses={201: RunSerializer, **_errors(400, 403, 404)},
    )
    def post(self, request, slug):
        runbook = selectors.runbook_for_user(request.user, slug)
        data = RunStartSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        event = event_for_user(request.user, v["event"], Role.OPERATOR)
        session = feed = None
        if v.get("session"):
            session = event.sessions.filter(slug=v["session"]).first()
            if session is None:
                raise ValidationError({"session": f"No session {v['session']!r} in this event."})
        if v.get("feed"):
            feed = event.feeds.filter(slug=v["feed"]).first()
            if feed is None:
                raise ValidationError({"feed": f"No feed {v['feed']!r} in this event."})
        run = services.start_run(
            runbook=runbook, event=event, started_by=request.user, session=session, feed=feed
        )
        run = selectors.run_for_user(request.user, run.pk)
        return Response(RunSerializer(run).data, status=status.HTTP_201_CREATED)


class RunDetailApi(APIView):
    """A run with its steps; members of the run's event read it."""

    serializer_class = RunSerializer

    @extend_schema(operation_id="runs_retrieve", responses={200: RunSerializer, **_errors(404)})
    def get(self, request, run_id):
        return Response(RunSerializer(selectors.run_for_user(request.user, run_id)).data)


class StepWriteSerializer(serializers.Serializer):
    id = serializers.UUIDField(
        required=False,
        help_text="Made by the client: a resend with the same id changes nothing again.",
    )
    state = StepStateField(choices=RunStep.State.choices, required=False)
    reason = serializers.CharField(
        required=False, allow_blank=True, help_text="Required when skipping."
    )
    note = serializers.CharField(required=False, allow_blank=True)


class StepApi(APIView):
    """POST {state: done|skipped|pending, reason, note}: 404 unknown step, 409 finished run."""

    serializer_class = StepSerializer

    @extend_schema(
        operation_id="run_steps_record",
        request=StepWriteSerializer,
        responses={200: StepSerializer, **_errors(400, 403, 404, 409)},
    )
    def post(self, request, run_id, number):
        run = selectors.run_for_user(request.user, run_id, Role.OPERATOR)
        data = StepWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        try:
            step = services.record_step(
                run=run,
                number=number,
                actor=request.user,
                state=v.get("state"),
                reason=v.get("reason", ""),
                note=v.get("note"),
                client_id=v.get("id"),
            )
        except services.RunFinished as exc:
            raise Conflict(str(exc)) from exc
        return Response(StepSerializer(step).data)


class RunFinishApi(APIView):
    """Close a run (operators of its event); finishing twice is harmless."""

    serializer_class = RunSerializer

    @extend_schema(
        operation_id="runs_finish",
        request=None,
        responses={200: RunSerializer, **_errors(403, 404)},
    )
    def post(self, request, run_id):
        run = selectors.run_for_user(request.user, run_id, Role.OPERATOR)
        services.finish_run(run=run, actor=request.user)
        return Response(RunSerializer(selectors.run_for_user(request.user, run_id)).data)


# --- Links and search -----------------------------------------------------------------------


class LinkSerializer(serializers.Serializer):
    entry = serializers.UUIDField(help_text="A learning or action of an event you operate on.")
    step = serializers.CharField(
        required=False, allow_blank=True, max_length=200, help_text="Step text or number."
    )


class LinkResultSerializer(serializers.Serializer):
    entry = serializers.UUIDField()
    runbook = serializers.SlugField()
    step = serializers.CharField(allow_blank=True)


class LinkApi(APIView):
    """POST {entry, step?}: point a learning or action (operator+ on its event) at a runbook."""

    serializer_class = LinkResultSerializer

    @extend_schema(
        operation_id="runbook_links_create",
        request=LinkSerializer,
        responses={201: LinkResultSerializer, **_errors(400, 403, 404)},
    )
    def post(self, request, slug):
        runbook = selectors.runbook_for_user(request.user, slug)
        data = LinkSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        entry = (
            Entry.objects.filter(pk=data.validated_data["entry"]).select_related("event").first()
        )
        if entry is None:
            raise Http404("No such entry.")
        event_for_user(request.user, entry.event.slug, Role.OPERATOR)
        link = services.link_entry(
            entry=entry,
            runbook=runbook,
            actor=request.user,
            step_ref=data.validated_data.get("step", ""),
        )
        return Response(
            {"entry": str(link.entry_id), "runbook": runbook.slug, "step": link.step_ref},
            status=status.HTTP_201_CREATED,
        )
