"""Search across runbooks and the retro entries of every event the user may see.

PostgreSQL: full-text search (websearch syntax, English stemming) ranked with ts_rank and
highlighted with ts_headline (for the returned page only). Revisions carry a stored,
GIN-indexed search_vector (migration 0003, kept by services.index_revisions); entries are
found through the expression GIN index of migration 0002 on retro_entry.
SQLite: every word must appear (icontains), scored by how often the words occur.
Snippets are escaped first, then matches are wrapped in <mark>.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank, SearchVector
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Case, F, Func, IntegerField, QuerySet, TextField, Value, When
from django.db.models.functions import Greatest, Substr
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from retro.models import Entry, Stage, live_entries
from retro.selectors import events_for_user
from runbooks.models import SEARCH_CONFIG as CONFIG
from runbooks.models import Runbook, RunbookRevision

MAX_QUERY = 500
TYPES = ("runbook", "entry")
# Private-use characters mark matches inside ts_headline output; they cannot collide with
# the escaping done afterwards.
START, STOP = "\ue000", "\ue001"
SNIPPET_CHARS = 220
CANDIDATES = 150
# The part of a body given to ts_headline: from LEAD characters before the first match.
WINDOW, LEAD = 900, 150
# Runbooks are what people usually look for; at equal relevance they come first.
RUNBOOK_BOOST = 1.1


@dataclass
class Hit:
    type: str
    title: str
    url: str
    snippet: SafeString
    score: float
    stage: str = ""
    event: str = ""
    event_slug: str = ""
    kind: str = ""
    when: datetime | None = None
    revision: int | None = None
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Filters:
    q: str
    type: str = ""
    stage: str = ""
    event: str = ""
    kind: str = ""
    all_revisions: bool = False


def filters_from_query(params) -> Filters:
    """The filters of a search page or API query string (a QueryDict), validated."""
    return clean_filters(
        q=params.get("q", ""),
        type=params.get("type", ""),
        stage=params.get("stage", ""),
        event=params.get("event", ""),
        kind=params.get("kind", ""),
        all_revisions=params.get("all_revisions") in {"1", "true", "yes"},
    )


def clean_filters(q="", type="", stage="", event="", kind="", all_revisions=False) -> Filters:
    """Validate the query and filters; a bad one is a ValidationError naming the field."""
    q = (q or "").strip()
    errors = {}
    if len(q) > MAX_QUERY:
        errors["q"] = f"The query is {len(q)} characters; {MAX_QUERY} at most."
    if "\x00" in q:
        errors["q"] = "The query contains a NUL character."
    if type and type not in TYPES:
        errors["type"] = "Use runbook or entry."
    if stage and stage not in Stage.values:
        errors["stage"] = f"Unknown stage {stage!r}."
    if kind and kind not in Entry.Kind.values:
        errors["kind"] = f"Unknown kind {kind!r}."
    if errors:
        raise ValidationError(errors)
    return Filters(
        q, type or "", stage or "", (event or "").strip(), kind or "", bool(all_revisions)
    )


def search(user, filters: Filters, limit: int = 30) -> list[Hit]:
    """Ranked hits for the user, best first.

    Both kinds are ranked first (ids and scores only); snippets, the expensive part, are made
    for the page that is returned and nothing else.
    """
    if not filters.q or not user.is_authenticated:
        return []
    ranked: list[tuple[float, str, object]] = []
    entries_only = bool(filters.kind or filters.event)
    if filters.type in ("", "runbook") and not entries_only:
        ranked += [
            (score * RUNBOOK_BOOST, "runbook", pk)
            for pk, score in _ranked_revisions(_revisions(filters), filters.q, limit)
        ]
    if filters.type in ("", "entry"):
        ranked += [
            (score, "entry", pk)
            for pk, score in _ranked_entries(_entry_queryset(user, filters), filters.q, limit)
        ]
    ranked.sort(key=lambda item: -item[0])
    page = ranked[:limit]
    hits = _runbook_hits([(pk, s) for s, t, pk in page if t == "runbook"], filters.q)
    hits += _entry_hits([(pk, s) for s, t, pk in page if t == "entry"], filters.q)
    hits.sort(key=lambda h: -h.score)
    return hits


def _revisions(filters: Filters) -> QuerySet[RunbookRevision]:
    revisions = RunbookRevision.objects.all()
    if not filters.all_revisions:
        revisions = revisions.filter(pk__in=Runbook.objects.values("current"))
    if filters.stage:
        revisions = revisions.filter(runbook__stage=filters.stage)
    return revisions


def _entry_queryset(user, filters: Filters) -> QuerySet[Entry]:
    events = events_for_user(user)
    if filters.event:
        events = events.filter(slug=filters.event)
    # A list, not a subquery: PostgreSQL then scans the GIN index once, not once per event.
    entries = live_entries().filter(event__in=list(events.values_list("pk", flat=True)))
    if filters.stage:
        entries = entries.filter(stage=filters.stage)
    if filters.kind:
        entries = entries.filter(kind=filters.kind)
    return entries


def _use_postgres() -> bool:
    return connection.vendor == "postgresql"


# --- Ranking --------------------------------------------------------------------------


def _query(q: str) -> SearchQuery:
    return SearchQuery(q, config=CONFIG, search_type="websearch")


def _ranked_revisions(revisions: QuerySet, q: str, limit: int) -> list[tuple]:
    """(pk, score) of the best revisions: the stored, GIN-indexed search_vector is both the
    filter and what ts_rank reads, so no body is parsed at search time."""
    if not _use_postgres():
        return _ranked_fallback(revisions, q, limit)
    query = _query(q)
    return list(
        revisions.filter(search_vector=query)
        .annotate(score=SearchRank(F("search_vector"), query))
        .order_by("-score", "-pk")
        .values_list("pk", "score")[:limit]
    )


def _ranked_entries(entries: QuerySet, q: str, limit: int) -> list[tuple]:
    """(pk, score) of the best entries.

    The filter is exactly the expression of the GIN index on retro_entry (migration 0002),
    so PostgreSQL finds the matches in the index. Ranking has to parse each match's body
    again (that table has no stored vector), so only the newest CANDIDATES matches are
    ranked: a word in thousands of entries costs the same as a rare one.
    """
    if not _use_postgres():
        return _ranked_fallback(entries, q, limit)
    query = _query(q)
    candidates = (
        entries.annotate(doc=SearchVector("body", config=CONFIG))
        .filter(doc=query)
        .order_by("-occurred_at")
        .values("pk")[:CANDIDATES]
    )
    return list(
        Entry.objects.filter(pk__in=candidates)
        .annotate(score=SearchRank(SearchVector("body", config=CONFIG), query))
        .order_by("-score", "-occurred_at")
        .values_list("pk", "score")[:limit]
    )


def _ranked_fallback(queryset: QuerySet, q: str, limit: int) -> list[tuple]:
    """SQLite: every word must appear (icontains), scored by how often the words occur."""
    terms = words(q)
    if not terms:
        return []
    for term in terms:
        queryset = queryset.filter(body__icontains=term)
    # Score in Python over a bounded candidate set: SQLite has no ranking of its own.
    candidates = queryset.values_list("pk", "body")[:2000]
    scored = []
    for pk, body in candidates:
        low = body.lower()
        scored.append((pk, sum(low.count(t.lower()) for t in terms) / (1 + len(body) / 500)))
    scored.sort(key=lambda item: -item[1])
    return scored[:limit]


def _headlines(model, pks: list, q: str) -> dict:
    """Highlighted snippets (safe HTML) by pk, for the returned page only.

    ts_headline parses the text it is given, which for a long runbook costs more than the
    whole search. So PostgreSQL is given a window of the body (WINDOW characters, from just
    before the first place a query word's stem appears); only when no word is found
    literally (stemming went further) does it get the whole body.
    """
    if not pks:
        return {}
    if _use_postgres():
        rows = (
            model.objects.filter(pk__in=pks)
            .annotate(at=_first_match(q))
            .annotate(
                headline=SearchHeadline(
                    Case(
                        When(at__gt=0, then=Substr("body", Greatest(F("at") - LEAD, 1), WINDOW)),
                        default=F("body"),
                        output_field=TextField(),
                    ),
                    _query(q),
                    config=CONFIG,
                    start_sel=START,
                    stop_sel=STOP,
                    max_words=30,
                    min_words=12,
                    max_fragments=2,
                    fragment_delimiter=" … ",
                )
            )
            .values_list("pk", "headline")
        )
        return {pk: _mark(headline) for pk, headline in rows}
    rows = model.objects.filter(pk__in=pks).values_list("pk", "body")
    return {pk: snippet(body, words(q)) for pk, body in rows}


def _first_match(q: str) -> Func:
    """Where the body first has a word starting like one of the query's words (0: nowhere)."""
    stems = {w.lower()[: max(4, len(w) - 2)] for w in words(q)} or {"\ue000"}
    pattern = r"\m(" + "|".join(re.escape(s) for s in sorted(stems)) + ")"
    return Func(
        F("body"),
        Value(pattern),
        Value(1),
        Value(1),
        Value(0),
        Value("i"),
        function="regexp_instr",
        output_field=IntegerField(),
    )


def _mark(headline: str) -> SafeString:
    text = escape(" ".join(headline.split()))
    return mark_safe(text.replace(START, "<mark>").replace(STOP, "</mark>"))


def words(q: str) -> list[str]:
    """The words of a query, without websearch operators or quotes."""
    found = re.findall(r"[\w][\w.:/-]*", q.replace('"', " "))
    return [w for w in found if w.lower() not in {"or", "and"}][:20]


def snippet(body: str, terms: list[str], size: int = SNIPPET_CHARS) -> SafeString:
    """A window of the body around the first match; escaped, matches in <mark>."""
    body = " ".join((body or "").split())
    if not terms:
        return escape(body[:size])
    pattern = re.compile("|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)), re.I)
    first = pattern.search(body)
    start = max(0, (first.start() if first else 0) - size // 3)
    window = body[start : start + size]
    parts, pos = [], 0
    for m in pattern.finditer(window):
        parts.append(escape(window[pos : m.start()]))
        parts.append(f"<mark>{escape(m.group(0))}</mark>")
        pos = m.end()
    parts.append(escape(window[pos:]))
    text = "".join(parts)
    prefix = "… " if start > 0 else ""
    suffix = " …" if start + size < len(body) else ""
    return mark_safe(prefix + text + suffix)


# --- Hits ---------------------------------------------------------------------------


def _runbook_hits(ranked: list[tuple], q: str) -> list[Hit]:
    pks = [pk for pk, _ in ranked]
    snippets = _headlines(RunbookRevision, pks, q)
    rows = (
        RunbookRevision.objects.select_related("runbook")
        .defer("body", "body_html", "search_vector", "runbook__applies_to")
        .in_bulk(pks)
    )
    hits = []
    for pk, score in ranked:
        rev = rows[pk]
        url = reverse("runbooks:detail", args=[rev.runbook.slug])
        title = rev.runbook.title
        if rev.runbook.current_id != rev.pk:
            url = reverse("runbooks:revision", args=[rev.runbook.slug, rev.number])
            title += f" (revision {rev.number})"
        hits.append(
            Hit(
                type="runbook",
                title=title,
                url=url,
                snippet=snippets.get(pk, ""),
                score=float(score),
                stage=rev.runbook.stage,
                when=rev.created_at,
                revision=rev.number,
                extra={"slug": rev.runbook.slug},
            )
        )
    return hits


def _entry_hits(ranked: list[tuple], q: str) -> list[Hit]:
    pks = [pk for pk, _ in ranked]
    snippets = _headlines(Entry, pks, q)
    rows = (
        Entry.objects.select_related("event")
        .only("kind", "stage", "occurred_at", "event__name", "event__slug")
        .in_bulk(pks)
    )
    hits = []
    for pk, score in ranked:
        entry = rows[pk]
        hits.append(
            Hit(
                type="entry",
                title=f"{entry.get_kind_display()} · {entry.event.name}",
                url=entry.get_absolute_url(),
                snippet=snippets.get(pk, ""),
                score=float(score),
                stage=entry.stage,
                event=entry.event.name,
                event_slug=entry.event.slug,
                kind=entry.kind,
                when=entry.occurred_at,
                extra={"id": str(entry.pk)},
            )
        )
    return hits
