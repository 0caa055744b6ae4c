"""REST API for runbooks, revisions, runs and search: the same services and selectors as
the HTML views."""

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from retro.models import Entry, Role
from retro.selectors import event_for_user, events_for_user
from tally.api import Conflict

from . import diff, search, selectors, services
from .models import Runbook, RunbookRevision, RunbookRun, RunStep


class RunbookSerializer(serializers.ModelSerializer):
    owner = serializers.SerializerMethodField()
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

    def get_entries(self, obj) -> list[str]:
        user = self.context["request"].user
        visible = events_for_user(user).values("pk")
        return [
            str(pk) for pk in obj.entries.filter(event__in=visible).values_list("pk", flat=True)
        ]


class RevisionListSerializer(RevisionSerializer):
    class Meta(RevisionSerializer.Meta):
        fields = ["number", "summary", "author", "created_at", "base_number", "entries"]


class RunbookWriteSerializer(serializers.Serializer):
    title = serializers.CharField(required=False)
    slug = serializers.CharField(required=False, allow_blank=True)
    stage = serializers.CharField(required=False)
    owner = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    applies_to = serializers.JSONField(required=False)
    review_days = serializers.IntegerField(required=False)
    body = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    summary = serializers.CharField(required=False, allow_blank=True)
    base_revision = serializers.IntegerField(required=False, allow_null=True)
    entries = serializers.ListField(child=serializers.UUIDField(), required=False)


def _owner(username):
    if not username:
        return None
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise ValidationError({"owner": f"Unknown user {username!r}."})
    return user


def _entries(user, ids):
    if not ids:
        return []
    found = list(Entry.objects.filter(pk__in=ids, event__in=events_for_user(user)))
    missing = {str(i) for i in ids} - {str(e.pk) for e in found}
    if missing:
        raise ValidationError({"entries": f"Unknown entries: {', '.join(sorted(missing))}."})
    return found


class RunbookListApi(APIView):
    """GET: every runbook; POST: create one (leads, admins)."""

    def get(self, request):
        runbooks = selectors.runbooks_for_user(request.user).order_by("slug")
        if stage := request.query_params.get("stage"):
            runbooks = runbooks.filter(stage=stage)
        return Response(RunbookSerializer(runbooks, many=True).data)

    def post(self, request):
        if not selectors.can_edit(request.user):
            raise PermissionDenied("Only leads and admins create runbooks.")
        data = RunbookWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        runbook = services.create_runbook(
            title=v.get("title", ""),
            slug=v.get("slug", ""),
            stage=v.get("stage", ""),
            body=v.get("body", ""),
            author=request.user,
            owner=_owner(v.get("owner")) or request.user,
            applies_to=v.get("applies_to"),
            review_days=v.get("review_days", 180),
            summary=v.get("summary") or "Created",
            entries=_entries(request.user, v.get("entries")),
        )
        return Response(RunbookSerializer(runbook).data, status=status.HTTP_201_CREATED)


class RunbookDetailApi(APIView):
    """GET one runbook; PUT saves a new revision against `base_revision` (409 when stale)."""

    def get(self, request, slug):
        return Response(RunbookSerializer(selectors.runbook_for_user(request.user, slug)).data)

    def put(self, request, slug):
        runbook = selectors.runbook_for_editor(request.user, slug)
        data = RunbookWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        if v.get("base_revision") is None:
            raise ValidationError({"base_revision": "The revision your change is based on."})
        meta = {k: v[k] for k in ("title", "stage", "applies_to", "review_days") if k in v}
        if "owner" in v:
            meta["owner"] = _owner(v["owner"])
        try:
            services.save_revision(
                runbook=runbook,
                author=request.user,
                body=v.get("body", runbook.current.body),
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
                    "body": exc.current.body,
                },
                status=status.HTTP_409_CONFLICT,
            )
        runbook = selectors.runbook_for_user(request.user, slug)
        return Response(RunbookSerializer(runbook).data)


class RevisionListApi(APIView):
    def get(self, request, slug):
        runbook = selectors.runbook_for_user(request.user, slug)
        revisions = runbook.revisions.select_related("author").order_by("-number")
        return Response(
            RevisionListSerializer(revisions, many=True, context={"request": request}).data
        )


class RevisionDetailApi(APIView):
    def get(self, request, slug, number):
        runbook = selectors.runbook_for_user(request.user, slug)
        revision = selectors.revision_of(runbook, number)
        return Response(RevisionSerializer(revision, context={"request": request}).data)


class DiffApi(APIView):
    """GET ?from=&to=: the difference between two revisions (unified text and rows)."""

    def get(self, request, slug):
        runbook = selectors.runbook_for_user(request.user, slug)
        try:
            old_n = int(request.query_params.get("from", ""))
            new_n = int(request.query_params.get("to", runbook.revision_number))
        except ValueError as exc:
            raise ValidationError({"from": "Revision numbers are whole numbers."}) from exc
        old = selectors.revision_of(runbook, old_n)
        new = selectors.revision_of(runbook, new_n)
        return Response(
            {
                "from": old.number,
                "to": new.number,
                "stats": diff.stats(old.body, new.body),
                "unified": diff.unified(old.body, new.body, f"r{old.number}", f"r{new.number}"),
                "lines": [line.__dict__ for line in diff.inline(old.body, new.body)],
            }
        )


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
    session = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    feed = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    started_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
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
    def get(self, request, run_id):
        return Response(RunSerializer(selectors.run_for_user(request.user, run_id)).data)


class StepWriteSerializer(serializers.Serializer):
    state = serializers.CharField(required=False)
    reason = serializers.CharField(required=False, allow_blank=True)
    note = serializers.CharField(required=False, allow_blank=True)


class StepApi(APIView):
    """POST {state: done|skipped|pending, reason, note}: 404 unknown step, 409 finished run."""

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
            )
        except services.RunFinished as exc:
            raise Conflict(str(exc)) from exc
        return Response(StepSerializer(step).data)


class RunFinishApi(APIView):
    def post(self, request, run_id):
        run = selectors.run_for_user(request.user, run_id, Role.OPERATOR)
        services.finish_run(run=run, actor=request.user)
        return Response(RunSerializer(selectors.run_for_user(request.user, run_id)).data)


class LinkSerializer(serializers.Serializer):
    entry = serializers.UUIDField()
    step = serializers.CharField(required=False, allow_blank=True)


class LinkApi(APIView):
    """POST {entry, step?}: point a learning or action (operator+ on its event) at a runbook."""

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


class SearchApi(APIView):
    """GET ?q=&type=&stage=&event=&kind=&all_revisions=1: ranked hits with highlighted snippets."""

    def get(self, request):
        p = request.query_params
        filters = search.clean_filters(
            q=p.get("q", ""),
            type=p.get("type", ""),
            stage=p.get("stage", ""),
            event=p.get("event", ""),
            kind=p.get("kind", ""),
            all_revisions=p.get("all_revisions") in {"1", "true", "yes"},
        )
        hits = search.search(request.user, filters)
        return Response(
            {
                "q": filters.q,
                "count": len(hits),
                "results": [
                    {
                        "type": h.type,
                        "title": h.title,
                        "url": h.url,
                        "snippet": str(h.snippet),
                        "score": round(h.score, 4),
                        "stage": h.stage,
                        "event": h.event_slug,
                        "kind": h.kind,
                        "when": h.when,
                        "revision": h.revision,
                        **h.extra,
                    }
                    for h in hits
                ],
            }
        )
