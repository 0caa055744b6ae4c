"""Event archives: a whole event (signal path, members, entries with history, votes, runbook
runs and links, alerts, anomalies, telemetry snapshots, audit log) as one JSON document that
another Tally instance imports.

Rows refer to each other by natural keys (usernames, slugs, entry UUIDs, runbook slug and
revision number), never by database ids, so an archive is portable. Raw telemetry samples
are not archived: each entry's frozen snapshot carries its evidence.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction

from integrations.models import Anomaly, TelemetryAlert, TelemetrySnapshot
from retro.models import (
    AuditLog,
    Entry,
    EntryRevision,
    Event,
    Feed,
    Membership,
    Session,
    Site,
    Vote,
)
from runbooks.models import Runbook, RunbookLink, RunbookRevision, RunbookRun, RunStep
from runbooks.services import index_revisions, render_body
from tally.markdown import render_markdown

FORMAT = "tally-event-archive"
VERSION = 1
User = get_user_model()


class ArchiveEncoder(DjangoJSONEncoder):
    """Like Django's, but keeps microseconds: an archive must round-trip exactly."""

    def default(self, o):
        if isinstance(o, datetime):
            return o.isoformat()
        return super().default(o)


class ArchiveError(ValueError):
    """The archive cannot be imported; says why."""


@dataclass(frozen=True)
class Section:
    """One kind of row in the archive: its model and the rows that belong to an event."""

    name: str
    model: type[models.Model]
    rows: Callable[[Event], models.QuerySet]
    order: tuple[str, ...]


SECTIONS = [
    Section("sessions", Session, lambda e: e.sessions.all(), ("slug",)),
    Section("feeds", Feed, lambda e: e.feeds.all(), ("slug",)),
    Section("memberships", Membership, lambda e: e.memberships.all(), ("user__username",)),
    Section("entries", Entry, lambda e: Entry.objects.filter(event=e), ("logged_at", "id")),
    Section(
        "entry_revisions",
        EntryRevision,
        lambda e: EntryRevision.objects.filter(entry__event=e),
        ("entry_id", "version"),
    ),
    Section(
        "votes", Vote, lambda e: Vote.objects.filter(entry__event=e), ("entry_id", "user__username")
    ),
    Section(
        "runbook_links",
        RunbookLink,
        lambda e: RunbookLink.objects.filter(entry__event=e),
        ("entry_id", "runbook__slug", "created_at"),
    ),
    Section(
        "runbook_runs", RunbookRun, lambda e: e.runbook_runs.all(), ("started_at", "runbook__slug")
    ),
    Section(
        "run_steps",
        RunStep,
        lambda e: RunStep.objects.filter(run__event=e),
        ("run__started_at", "run__runbook__slug", "number"),
    ),
    Section(
        "alerts",
        TelemetryAlert,
        lambda e: TelemetryAlert.objects.filter(feed__event=e),
        ("time", "feed__slug", "alarm_id", "state"),
    ),
    Section(
        "anomalies", Anomaly, lambda e: e.anomalies.all(), ("start", "feed__slug", "kind", "key")
    ),
    Section(
        "snapshots",
        TelemetrySnapshot,
        lambda e: TelemetrySnapshot.objects.filter(entry__event=e),
        ("entry_id",),
    ),
    Section("audit", AuditLog, lambda e: e.audit_log.all(), ("at", "action", "object_id")),
]
# Foreign keys that only make sense inside the database they came from.
# Event.follows names another event, which an archive does not carry: a restored event
# starts outside any chain.
DROPPED = {(TelemetryAlert, "batch"), (RunbookRevision, "search_vector"), (Event, "follows")}
# Rendered HTML is not carried: it is rendered again from its Markdown on import, so an
# archive cannot bring in HTML the sanitizer never saw. (model, html field) -> source field.
RENDERED = {
    (Entry, "body_html"): "body",
    (RunbookRevision, "body_html"): "body",
    (RunStep, "html"): "text",
}
# Self-references set in a second pass, once every row of the section exists.
LATER = {(Feed, "derived_from"), (Entry, "source_entry"), (Entry, "merged_into")}


class Refs:
    """Natural keys for rows, and the way back from a key to a row while importing."""

    def __init__(self, event: Event | None = None):
        self.event = event
        self.users: dict[str, models.Model] = {}
        self.sites: dict[str, Site] = {}
        self.runbooks: dict[str, Runbook] = {}
        self.runs: list[RunbookRun] = []
        self.run_index: dict[int, int] = {}

    def key(self, model, obj):
        """The portable key of obj (a row of `model`)."""
        if obj is None:
            return None
        if model is User:
            self.users[obj.username] = obj
            return obj.username
        if model is Site:
            self.sites[obj.slug] = obj
            return obj.slug
        if model is Runbook:
            self.runbooks[obj.slug] = obj
            return obj.slug
        if model is RunbookRevision:
            self.runbooks[obj.runbook.slug] = obj.runbook
            return [obj.runbook.slug, obj.number]
        if model is RunbookRun:
            return self.run_index[obj.pk]
        if model is Event:
            return obj.slug
        if model in (Session, Feed):
            return obj.slug
        if model is Entry:
            return str(obj.pk)
        raise ArchiveError(f"No portable key for {model.__name__}.")

    def find(self, model, key):
        """The row a key names in this instance."""
        if key is None:
            return None
        try:
            if model is User:
                return User.objects.get(username=key)
            if model is Site:
                return Site.objects.get(slug=key)
            if model is Runbook:
                return Runbook.objects.get(slug=key)
            if model is RunbookRevision:
                return RunbookRevision.objects.get(runbook__slug=key[0], number=key[1])
            if model is RunbookRun:
                return self.runs[key]
            if model is Event:
                return self.event
            if model in (Session, Feed):
                return model.objects.get(event=self.event, slug=key)
            if model is Entry:
                return Entry.objects.get(pk=key)
        except (models.ObjectDoesNotExist, IndexError) as exc:
            raise ArchiveError(
                f"{model.__name__} {key!r} is referenced but not in the archive."
            ) from exc
        raise ArchiveError(f"No portable key for {model.__name__}.")


def _fields(model):
    for field in model._meta.concrete_fields:
        if field.primary_key and not isinstance(field, models.UUIDField):
            continue
        if (model, field.name) in DROPPED or (model, field.name) in RENDERED:
            continue
        yield field


def _render_html(model, obj) -> None:
    """Fill the model's rendered HTML fields from their Markdown (see RENDERED)."""
    for (rendered_model, name), source in RENDERED.items():
        if rendered_model is model:
            text = getattr(obj, source) or ""
            setattr(
                obj, name, render_body(text) if model is RunbookRevision else render_markdown(text)
            )


def dump_row(model, obj, refs: Refs) -> dict:
    """One row as JSON-ready data, relations as natural keys."""
    row = {}
    for field in _fields(model):
        if field.is_relation:
            row[field.name] = refs.key(field.related_model, getattr(obj, field.name))
        else:
            row[field.name] = getattr(obj, field.attname)
    for field in model._meta.many_to_many:
        row[field.name] = sorted(
            refs.key(field.related_model, o) for o in getattr(obj, field.name).all()
        )
    return row


def export_event(event: Event) -> dict:
    """The whole event as one archive document."""
    refs = Refs(event)
    data = {"format": FORMAT, "version": VERSION, "event": dump_row(Event, event, refs)}
    for section in SECTIONS:
        rows = list(section.rows(event).order_by(*section.order))
        if section.model is RunbookRun:
            refs.run_index = {run.pk: index for index, run in enumerate(rows)}
        data[section.name] = [dump_row(section.model, row, refs) for row in rows]
    data["runbook_revision_entries"] = sorted(
        [rev.runbook.slug, rev.number, str(entry_id)]
        for rev in RunbookRevision.objects.filter(entries__event=event).distinct()
        for entry_id in rev.entries.filter(event=event).values_list("pk", flat=True)
    )
    data["runbooks"] = [
        _dump_runbook(rb, refs) for rb in sorted(refs.runbooks.values(), key=lambda r: r.slug)
    ]
    data["sites"] = [
        dump_row(Site, s, refs) for s in sorted(refs.sites.values(), key=lambda s: s.slug)
    ]
    data["users"] = [
        {
            "username": u.username,
            "email": u.email,
            "first_name": u.first_name,
            "last_name": u.last_name,
        }
        for u in sorted(refs.users.values(), key=lambda u: u.username)
    ]
    return json.loads(json.dumps(data, cls=ArchiveEncoder))


def _dump_runbook(runbook: Runbook, refs: Refs) -> dict:
    row = {f.name: getattr(runbook, f.attname) for f in _fields(Runbook) if not f.is_relation}
    row["owner"] = refs.key(User, runbook.owner)
    row["revisions"] = []
    for revision in runbook.revisions.order_by("number"):
        rev = {
            f.name: getattr(revision, f.attname)
            for f in _fields(RunbookRevision)
            if not f.is_relation
        }
        rev["author"] = refs.key(User, revision.author)
        row["revisions"].append(rev)
    row["current"] = runbook.current.number if runbook.current_id else None
    return row


def load_row(model, row: dict, refs: Refs, later: list) -> models.Model:
    """Create one row from archive data; self-references are queued in `later`."""
    values, many, pending = {}, {}, []
    for field in _fields(model):
        if field.name not in row:
            continue
        value = row[field.name]
        if (model, field.name) in LATER:
            pending.append((field.name, value))
        elif field.is_relation:
            values[field.name] = refs.find(field.related_model, value)
        else:
            values[field.attname] = field.to_python(value) if value is not None else None
    for field in model._meta.many_to_many:
        keys = row.get(field.name) or []
        if (model, field.name) in LATER:  # older archives hold one key, not a list
            pending.append((field.name, keys if isinstance(keys, list) else [keys]))
            continue
        many[field.name] = [refs.find(field.related_model, key) for key in keys]
    obj = model(**values)
    _render_html(model, obj)
    obj.save(force_insert=True)
    stamped = {
        f.attname: values[f.attname]
        for f in _fields(model)
        if getattr(f, "auto_now_add", False) or getattr(f, "auto_now", False)
    }
    if stamped:  # save() overwrote them with "now"; keep the archived times
        model.objects.filter(pk=obj.pk).update(**stamped)
        for name, value in stamped.items():
            setattr(obj, name, value)
    for name, objs in many.items():
        getattr(obj, name).set(objs)
    later.extend((obj, name, value) for name, value in pending if value is not None)
    return obj


@transaction.atomic
def import_event(data: dict) -> Event:
    """Create the archived event in this instance; refuse if its slug is taken."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ArchiveError("Not a Tally event archive (missing format marker).")
    if data.get("version") != VERSION:
        raise ArchiveError(f"Archive version {data.get('version')!r}; this Tally reads {VERSION}.")
    slug = data["event"]["slug"]
    if Event.objects.filter(slug=slug).exists():
        raise ArchiveError(f"Event {slug!r} already exists here; rename or delete it first.")
    refs = Refs()
    for user in data["users"]:
        if not User.objects.filter(username=user["username"]).exists():
            created = User(**user, is_active=True)
            created.set_unusable_password()
            created.save()
    for site in data["sites"]:
        if not Site.objects.filter(slug=site["slug"]).exists():
            load_row(Site, site, refs, [])
    for runbook in data["runbooks"]:
        _load_runbook(runbook, refs)
    index_revisions(revisions=RunbookRevision.objects.filter(search_vector__isnull=True))
    later: list = []
    refs.event = load_row(Event, data["event"], refs, later)
    for section in SECTIONS:
        for row in data.get(section.name, []):
            obj = load_row(section.model, row, refs, later)
            if section.model is RunbookRun:
                refs.runs.append(obj)
    for obj, name, key in later:
        if isinstance(key, list):  # a many-to-many self-reference (Feed.derived_from)
            getattr(obj, name).set([refs.find(type(obj), k) for k in key])
            continue
        setattr(obj, name, refs.find(type(obj), key))
        obj.save(update_fields=[name])
    for runbook_slug, number, entry_id in data.get("runbook_revision_entries", []):
        RunbookRevision.objects.get(runbook__slug=runbook_slug, number=number).entries.add(entry_id)
    return refs.event


def _load_runbook(row: dict, refs: Refs) -> None:
    runbook = Runbook.objects.filter(slug=row["slug"]).first()
    if runbook is None:
        values = {k: v for k, v in row.items() if k not in ("owner", "revisions", "current")}
        runbook = Runbook(
            **{
                f.attname: f.to_python(values[f.name])
                for f in _fields(Runbook)
                if not f.is_relation and f.name in values
            }
        )
        runbook.owner = refs.find(User, row["owner"])
        runbook.save(force_insert=True)
    for rev in row["revisions"]:
        if not runbook.revisions.filter(number=rev["number"]).exists():
            revision = RunbookRevision(runbook=runbook, author=refs.find(User, rev["author"]))
            for field in _fields(RunbookRevision):
                if not field.is_relation and field.name in rev:
                    setattr(revision, field.attname, field.to_python(rev[field.name]))
            _render_html(RunbookRevision, revision)
            revision.save(force_insert=True)
    if runbook.current_id is None and row["current"] is not None:
        runbook.current = runbook.revisions.get(number=row["current"])
        runbook.save(update_fields=["current"])
