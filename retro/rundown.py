"""Rundown import: an event's sites, sessions and feeds from one YAML or CSV file.

The import is all-or-nothing: every row is checked first, every problem is reported
with its row and field, and only a clean file is written, in one transaction, through the
same services as the API (retro.services), so each object it creates or changes gets one
audit line. Re-importing the same file changes nothing and writes no audit line.
"""

import csv
import io
import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime

import yaml
from django.core.exceptions import ValidationError
from django.db import transaction

from tally.times import FIRST_YEAR, LAST_YEAR

from . import services
from .models import FEED_FIELDS as MODEL_FEED_FIELDS
from .models import Event, Feed, Session, Site

EVENT_FIELDS = ["name", "venue", "time_zone", "start", "end", "state"]
SITE_FIELDS = ["name", "role", "city", "time_zone"]
SESSION_FIELDS = ["title", "kind", "room", "start", "end"]
FEED_FIELDS = list(MODEL_FEED_FIELDS)
CSV_COLUMNS = [
    "type",
    "slug",
    *sorted(set(EVENT_FIELDS + SITE_FIELDS + SESSION_FIELDS + FEED_FIELDS)),
]


MAX_PROBLEM_CHARS = 300  # a message quotes at most a short excerpt of what the file said
MAX_PROBLEMS = 200


@dataclass
class RundownError(Exception):
    """Every problem found in a rundown, each naming its row and field; however hostile the
    file, the list stays short (MAX_PROBLEMS messages of MAX_PROBLEM_CHARS at most)."""

    problems: list[str]

    def __post_init__(self) -> None:
        shown = [_excerpt(p, MAX_PROBLEM_CHARS) for p in self.problems[:MAX_PROBLEMS]]
        if len(self.problems) > MAX_PROBLEMS:
            shown.append(f"... and {len(self.problems) - MAX_PROBLEMS} more problems.")
        self.problems = shown

    def __str__(self) -> str:
        return "\n".join(self.problems)


def _excerpt(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class Rows:
    """A rundown read into plain rows: (location, dict) per record."""

    event: tuple[str, dict] | None = None
    sites: list[tuple[str, dict]] = field(default_factory=list)
    sessions: list[tuple[str, dict]] = field(default_factory=list)
    feeds: list[tuple[str, dict]] = field(default_factory=list)


@dataclass
class ImportResult:
    """What an import did."""

    event: Event
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)


class _RundownLoader(yaml.SafeLoader):
    """PyYAML's safe loader, keeping times as text (so a missing zone can be refused) and
    refusing aliases: a rundown needs none, and nested aliases expand a small file into an
    enormous document (the "billion laughs")."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in a rundown", mark
            )
        return super().compose_node(parent, index)


_RundownLoader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def read_rundown(text: str, fmt: str) -> Rows:
    """Parse YAML or CSV text into rows; a file that cannot be read raises RundownError."""
    if fmt == "yaml":
        return _read_yaml(text)
    if fmt == "csv":
        return _read_csv(text)
    raise RundownError([f"Unknown rundown format {fmt!r}; use yaml or csv."])


def _read_yaml(text: str) -> Rows:
    try:
        data = yaml.load(text, Loader=_RundownLoader)
    except yaml.YAMLError as exc:
        raise RundownError([f"The file is not valid YAML: {exc}"]) from exc
    if not isinstance(data, dict):
        raise RundownError(["The file must be a mapping with event, sites, sessions and feeds."])
    rows = Rows()
    if not isinstance(data.get("event"), dict):
        raise RundownError(
            ["event: a mapping with slug, name, time_zone, start and end is required."]
        )
    rows.event = ("event", data["event"])
    for key in ("sites", "sessions", "feeds"):
        items = data.get(key) or []
        if not isinstance(items, list):
            raise RundownError([f"{key}: a list is expected."])
        for number, item in enumerate(items, start=1):
            if not isinstance(item, dict):
                raise RundownError([f"{key} #{number}: a mapping is expected."])
            getattr(rows, key).append((f"{key} #{number}", item))
    return rows


def _read_csv(text: str) -> Rows:
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration as exc:
        raise RundownError(["The CSV file is empty."]) from exc
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if "type" not in header or "slug" not in header or unknown:
        raise RundownError(
            [f"line 1: the header needs 'type' and 'slug'; unknown columns: {unknown or 'none'}."]
        )
    rows = Rows()
    targets = {"site": rows.sites, "session": rows.sessions, "feed": rows.feeds}
    problems = []
    for line, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            problems.append(f"line {line}: {len(values)} columns, the header has {len(header)}.")
            continue
        record = {k: v.strip() for k, v in zip(header, values, strict=True) if v.strip() != ""}
        kind = record.pop("type", "")
        for name in ("source_ids", "derived_from"):  # lists, "|"-separated in a cell
            if name in record:
                record[name] = [s.strip() for s in record[name].split("|") if s.strip()]
        if kind == "event":
            rows.event = (f"line {line}", record)
        elif kind in targets:
            targets[kind].append((f"line {line}", record))
        else:
            problems.append(
                f"line {line}, field 'type': {kind!r} is not event, site, session or feed."
            )
    if problems:
        raise RundownError(problems)
    if rows.event is None:
        raise RundownError(["No 'event' row: the file must say which event it describes."])
    return rows


def parse_time(value, where: str, name: str, problems: list[str]) -> datetime | None:
    """An ISO 8601 time with its zone; anything else is a problem."""
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value).strip())
        except ValueError:
            problems.append(f"{where}, field '{name}': {value!r} is not an ISO 8601 time.")
            return None
    if parsed.tzinfo is None:
        problems.append(f"{where}, field '{name}': {value!r} has no time zone (add Z or +hh:mm).")
        return None
    if not FIRST_YEAR <= parsed.year <= LAST_YEAR:
        problems.append(
            f"{where}, field '{name}': the year must be from {FIRST_YEAR} to {LAST_YEAR}."
        )
        return None
    return parsed


def _slug_list(value) -> list[str] | None:
    """A slug or a list of slugs as a list (empty for none); None if it is neither."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return None
    return list(dict.fromkeys(v.strip() for v in value if v.strip()))


def _check_unknown(where: str, record: dict, allowed: list[str], problems: list[str]) -> None:
    for key in record:
        if key not in allowed and key != "slug":
            problems.append(f"{where}, field '{key}': unknown field.")


def _clean(instance, where: str, problems: list[str], exclude: list[str]) -> None:
    try:
        instance.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        _add_problems(exc, where, problems)


def _add_problems(exc: ValidationError, where: str, problems: list[str]) -> None:
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    for name, messages in errors.items():
        label = "" if name == "__all__" else f", field '{name}'"
        problems.extend(f"{where}{label}: {m}" for m in messages)


def _duplicates(rows: list[tuple[str, dict]], label: str, problems: list[str]) -> None:
    seen: dict[str, str] = {}
    for where, record in rows:
        slug = str(record.get("slug", "")).strip()
        if not slug:
            problems.append(f"{where}, field 'slug': required.")
        elif slug in seen:
            problems.append(
                f"{where}, field 'slug': {label} {slug!r} already defined at {seen[slug]}."
            )
        else:
            seen[slug] = where


def _find_cycles(
    upstream: dict[str, list[str]], where: dict[str, str], problems: list[str]
) -> None:
    """One problem per feed whose upstream links lead back to it."""
    for start in upstream:
        stack, seen = list(upstream[start]), set()
        while stack:
            current = stack.pop()
            if current == start:
                problems.append(
                    f"{where[start]}, field 'derived_from': forms a loop through {start!r}."
                )
                break
            if current not in seen:
                seen.add(current)
                stack.extend(upstream.get(current, []))


def import_rundown(
    *, text: str, fmt: str, actor=None, only_event: str | None = None
) -> ImportResult:
    """Create or update an event from a rundown; nothing is written unless every row is valid.

    `only_event` restricts the file to that event slug (an upload on an event's page).
    """
    rows = read_rundown(text, fmt)
    file_slug = str(rows.event[1].get("slug", "")).strip()
    if only_event is not None and file_slug != only_event:
        raise RundownError(
            [
                f"{rows.event[0]}, field 'slug': the file describes event "
                f"{file_slug!r}, not {only_event!r}."
            ]
        )
    plan = _Plan(rows)
    plan.validate()
    if plan.problems:
        raise RundownError(plan.problems)
    with transaction.atomic():
        return plan.apply(actor)


class _Plan:
    """Checks a rundown against itself and the database, then writes it."""

    def __init__(self, rows: Rows):
        self.rows = rows
        self.problems: list[str] = []

    def validate(self) -> None:
        where, record = self.rows.event
        _check_unknown(where, record, EVENT_FIELDS, self.problems)
        self.event_values = self._event_values(where, record)
        _duplicates(self.rows.sites, "site", self.problems)
        _duplicates(self.rows.sessions, "session", self.problems)
        _duplicates(self.rows.feeds, "feed", self.problems)
        self.site_values = [self._site_values(w, r) for w, r in self.rows.sites]
        self.session_values = [self._session_values(w, r) for w, r in self.rows.sessions]
        self.feed_values = [self._feed_values(w, r) for w, r in self.rows.feeds]
        self._check_feed_graph()

    def _event_values(self, where: str, record: dict) -> dict:
        slug = str(record.get("slug", "")).strip()
        if not slug:
            self.problems.append(f"{where}, field 'slug': required.")
        values = {
            "name": str(record.get("name", "")).strip(),
            "venue": str(record.get("venue", "")).strip(),
            "time_zone": str(record.get("time_zone", "UTC")).strip(),
            "state": str(record.get("state", Event.State.PLANNING)).strip(),
            "start": parse_time(record.get("start", ""), where, "start", self.problems),
            "end": parse_time(record.get("end", ""), where, "end", self.problems),
        }
        candidate = Event(slug=slug or "x", **values)
        _clean(
            candidate,
            where,
            self.problems,
            exclude=["slug"] + [k for k, v in values.items() if v is None],
        )
        self.existing_event = Event.objects.filter(slug=slug).first() if slug else None
        values["slug"] = slug
        return values

    def _site_values(self, where: str, record: dict) -> dict:
        _check_unknown(where, record, SITE_FIELDS, self.problems)
        values = {
            "slug": str(record.get("slug", "")).strip(),
            "name": str(record.get("name", "")).strip(),
            "role": str(record.get("role", "")).strip(),
            "city": str(record.get("city", "")).strip(),
            "time_zone": str(record.get("time_zone", "UTC")).strip(),
        }
        _clean(Site(**values), where, self.problems, exclude=["slug"] if not values["slug"] else [])
        return values

    def _session_values(self, where: str, record: dict) -> dict:
        _check_unknown(where, record, SESSION_FIELDS, self.problems)
        start = parse_time(record.get("start", ""), where, "start", self.problems)
        end = parse_time(record.get("end", ""), where, "end", self.problems)
        values = {
            "slug": str(record.get("slug", "")).strip(),
            "title": str(record.get("title", "")).strip(),
            "kind": str(record.get("kind", Session.Kind.OTHER)).strip(),
            "room": str(record.get("room", "")).strip(),
            "scheduled_start": start,
            "scheduled_end": end,
        }
        if start and end:
            tz = self.event_values.get("time_zone") or "UTC"
            try:
                values["day"] = start.astimezone(zoneinfo.ZoneInfo(tz)).date()
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                values["day"] = start.date()
            _clean(Session(**values), where, self.problems, exclude=["event", "slug"])
        return values

    def _feed_values(self, where: str, record: dict) -> dict:
        _check_unknown(where, record, FEED_FIELDS, self.problems)
        site_slugs = {v["slug"] for v in getattr(self, "site_values", [])}
        session_slugs = {v["slug"] for v in getattr(self, "session_values", [])}
        feed_slugs = {str(r.get("slug", "")).strip() for _, r in self.rows.feeds}
        existing = self.existing_event
        values = {
            "slug": str(record.get("slug", "")).strip(),
            "name": str(record.get("name", "")).strip(),
            "kind": str(record.get("kind", Feed.Kind.PROGRAM)).strip(),
            "language": str(record.get("language", "")).strip(),
            "stage": str(record.get("stage", "")).strip(),
            "transport": str(record.get("transport", Feed.Transport.SRT)).strip(),
            "path": str(record.get("path", Feed.Path.NONE)).strip(),
        }
        source_ids = record.get("source_ids", [])
        if isinstance(source_ids, str):
            source_ids = [source_ids]
        values["source_ids"] = source_ids if isinstance(source_ids, list) else None
        if values["source_ids"] is None or not all(isinstance(s, str) for s in source_ids):
            self.problems.append(f"{where}, field 'source_ids': a list of identifiers is expected.")
            values["source_ids"] = []
        _clean(Feed(**values), where, self.problems, exclude=["event", "slug"])
        for name in ("origin", "destination"):
            ref = str(record.get(name, "") or "").strip()
            if ref and ref not in site_slugs and not Site.objects.filter(slug=ref).exists():
                self.problems.append(f"{where}, field '{name}': unknown site {ref!r}.")
            values[name] = ref
        session = str(record.get("session", "") or "").strip()
        if (
            session
            and session not in session_slugs
            and not (existing and existing.sessions.filter(slug=session).exists())
        ):
            self.problems.append(f"{where}, field 'session': unknown session {session!r}.")
        values["session"] = session
        upstreams = _slug_list(record.get("derived_from"))
        if upstreams is None:
            self.problems.append(
                f"{where}, field 'derived_from': a feed slug or a list of feed slugs is expected."
            )
            upstreams = []
        for upstream in upstreams:
            if upstream not in feed_slugs and not (
                existing and existing.feeds.filter(slug=upstream).exists()
            ):
                self.problems.append(
                    f"{where}, field 'derived_from': unknown upstream feed {upstream!r}."
                )
            if upstream == values["slug"]:
                self.problems.append(
                    f"{where}, field 'derived_from': a feed cannot be derived from itself."
                )
        values["derived_from"] = upstreams
        values["_where"] = where
        return values

    def _check_feed_graph(self) -> None:
        upstream = {v["slug"]: v["derived_from"] for v in self.feed_values if v["derived_from"]}
        where = {v["slug"]: v["_where"] for v in self.feed_values}
        if self.existing_event:
            # A stored feed keeps its upstreams unless the file lists it (a file may clear them).
            links = Feed.derived_from.through.objects.filter(
                from_feed__event=self.existing_event
            ).values_list("from_feed__slug", "to_feed__slug")
            for slug, up in links:
                if slug not in where:
                    upstream.setdefault(slug, []).append(up)
        _find_cycles(upstream, {k: where.get(k, f"feed {k!r}") for k in upstream}, self.problems)

    def apply(self, actor) -> ImportResult:
        """Write the checked rows through the services; only what differs is changed."""
        values = dict(self.event_values)
        where = self.rows.event[0]
        event = self.existing_event
        result = ImportResult(event=event)
        if event is None:
            # create_event makes an importing user the new event's first lead.
            event = _write(where, services.create_event, actor=actor, **values)
            result.created += 1
        else:
            del values["slug"]
            _update(where, services.update_event, event, values, result, event=event, actor=actor)
        result.event = event
        sites = self._apply_sites(event, actor, result)
        sessions = self._apply_sessions(event, actor, result)
        self._apply_feeds(event, actor, result, sites, sessions)
        return result

    def _apply_sites(self, event: Event, actor, result: ImportResult) -> dict[str, Site]:
        sites = {s.slug: s for s in Site.objects.all()}
        for (where, _), v in zip(self.rows.sites, self.site_values, strict=True):
            site = sites.get(v["slug"])
            if site is None:
                sites[v["slug"]] = _write(
                    where, services.create_site, actor=actor, event=event, **v
                )
                result.created += 1
            else:
                fields = {k: val for k, val in v.items() if k != "slug"}
                _update(
                    where,
                    services.update_site,
                    site,
                    fields,
                    result,
                    site=site,
                    actor=actor,
                    event=event,
                )
        return sites

    def _apply_sessions(self, event: Event, actor, result: ImportResult) -> dict[str, Session]:
        sessions = {s.slug: s for s in event.sessions.all()}
        for (where, _), v in zip(self.rows.sessions, self.session_values, strict=True):
            session = sessions.get(v["slug"])
            if session is None:
                sessions[v["slug"]] = _write(
                    where, services.create_session, event=event, actor=actor, **v
                )
                result.created += 1
            else:
                fields = {k: val for k, val in v.items() if k != "slug"}
                _update(
                    where,
                    services.update_session,
                    session,
                    fields,
                    result,
                    session=session,
                    actor=actor,
                )
        return sessions

    def _apply_feeds(self, event: Event, actor, result, sites: dict, sessions: dict) -> None:
        feeds = {f.slug: f for f in event.feeds.prefetch_related("derived_from")}
        _link(feeds, sites, sessions)
        for v in self._upstream_first():
            fields = {k: val for k, val in v.items() if k not in ("_where", "slug")}
            fields["origin"] = sites.get(v["origin"]) if v["origin"] else None
            fields["destination"] = sites.get(v["destination"]) if v["destination"] else None
            fields["session"] = sessions.get(v["session"]) if v["session"] else None
            fields["derived_from"] = [feeds[slug] for slug in v["derived_from"]]
            feed = feeds.get(v["slug"])
            if feed is None:
                feeds[v["slug"]] = _write(
                    v["_where"],
                    services.create_feed,
                    event=event,
                    actor=actor,
                    slug=v["slug"],
                    **fields,
                )
                result.created += 1
            else:
                _update(
                    v["_where"],
                    services.update_feed,
                    feed,
                    fields,
                    result,
                    feed=feed,
                    actor=actor,
                )

    def _upstream_first(self) -> list[dict]:
        """The file's feeds, each after the feeds it is derived from (loops were refused), so
        every feed is written once, with its upstreams already in place."""
        by_slug = {v["slug"]: v for v in self.feed_values}
        ordered: list[dict] = []
        placed: set[str] = set()
        for first in self.feed_values:
            stack = [(first, False)]  # depth first without recursion: chains can be long
            while stack:
                v, ready = stack.pop()
                if ready:
                    ordered.append(v)
                    continue
                if v["slug"] in placed:
                    continue
                placed.add(v["slug"])
                stack.append((v, True))
                ups = [by_slug[s] for s in v["derived_from"] if s in by_slug]
                stack.extend((up, False) for up in reversed(ups))
        return ordered


def _link(feeds: dict, sites: dict, sessions: dict) -> None:
    """Point the stored feeds' relations at the instances this import writes, so the model
    checks (e.g. the upstream loop check) see its changes and read nothing back."""
    site_by_pk = {s.pk: s for s in sites.values()}
    by_pk = {
        "origin": site_by_pk,
        "destination": site_by_pk,
        "session": {s.pk: s for s in sessions.values()},
    }
    for feed in feeds.values():
        for name, known in by_pk.items():
            related = known.get(getattr(feed, f"{name}_id"))
            if related is not None:
                setattr(feed, name, related)


def _differs(instance, name: str, value) -> bool:
    """Whether a row's value differs from the stored one; relations compared by id."""
    field = instance._meta.get_field(name)
    if field.many_to_many:  # a list of objects, in any order
        return {o.pk for o in getattr(instance, name).all()} != {o.pk for o in value}
    if field.is_relation:
        return getattr(instance, field.attname) != (value.pk if value is not None else None)
    return getattr(instance, name) != value


def _update(where: str, service, instance, values: dict, result: ImportResult, **kwargs) -> None:
    """Pass only the fields that differ to the update service; count what happened."""
    changes = {k: v for k, v in values.items() if _differs(instance, k, v)}
    if changes:
        _write(where, service, **kwargs, **changes)
        result.updated += 1
    else:
        result.unchanged += 1


def _write(where: str, service, **kwargs):
    """Call a service; a refusal the checks above did not foresee still names its row."""
    try:
        return service(**kwargs)
    except ValidationError as exc:
        problems: list[str] = []
        _add_problems(exc, where, problems)
        raise RundownError(problems) from exc
