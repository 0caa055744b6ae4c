"""Search across runbooks (body, title, slug), the retro entries (body, tags), feeds (slug,
name) and sessions (title, slug) of every event the user may see, a page at a time.

PostgreSQL: full-text search (websearch syntax, English stemming) ranked with ts_rank and
highlighted with ts_headline (for the returned page only). Revisions carry a stored,
GIN-indexed search_vector (migration 0003, kept by services.index_revisions); entries are
found through the expression GIN index of migration 0002 on retro_entry.
SQLite: every word must appear (icontains), scored by how often the words occur.
Feeds, sessions and tags are short names: every word must appear (icontains) on both
databases. Snippets are Markdown made plain text (search.plain), escaped, then matches are
wrapped in <mark>.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank, SearchVector
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import (
    Case,
    F,
    Func,
    IntegerField,
    Q,
    QuerySet,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest, Length, Substr
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from retro.models import Entry, Stage, live_entries
from retro.selectors import events_for_user
from runbooks.models import SEARCH_CONFIG as CONFIG
from runbooks.models import Runbook, RunbookRevision

from . import places
from .plain import plain_text

MAX_QUERY = 500
TYPES = ("runbook", "entry", "feed", "session")
PER_PAGE = 30
# Text matches are counted up to this many per source (a common word in 100,000 entries
# would cost more to count than to rank); beyond it the total reads "1000+".
COUNT_CAP = 1000
# Private-use characters mark matches inside ts_headline output; they cannot collide with
# the escaping done afterwards.
START, STOP = "\ue000", "\ue001"
SNIPPET_CHARS = 220
SHORT_TEXT = 300  # characters: a text this short is its own snippet
CANDIDATES = 150
# The part of a body given to ts_headline: from LEAD characters before the first match.
WINDOW, LEAD = 900, 150
# Runbooks are what people usually look for; at equal relevance they come first.
RUNBOOK_BOOST = 1.1
# A word of the title or slug counts this much more than one in the body.
TITLE_WEIGHT = 2.0
# An entry tagged with a word of the query, when its text does not rank it higher.
TAG_SCORE = 0.3
# At most this many runbooks (and their revisions) are ranked by a title match.
TITLE_CANDIDATES = 2000


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
    key: object = None  # the pk it was ranked by


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


MAX_PAGE = 10_000


def page_number(params) -> int:
    """The `page` of a query string: a whole number from 1 (a bad one is a ValidationError)."""
    raw = params.get("page", "1") or "1"
    try:
        page = int(raw)
    except ValueError:
        raise ValidationError({"page": "A whole number from 1."}) from None
    if not 1 <= page <= MAX_PAGE:
        raise ValidationError({"page": f"A whole number from 1 to {MAX_PAGE}."})
    return page


def clean_filters(q="", type="", stage="", event="", kind="", all_revisions=False) -> Filters:
    """Validate the query and filters; a bad one is a ValidationError naming the field."""
    q = (q or "").strip()
    errors = {}
    if len(q) > MAX_QUERY:
        errors["q"] = f"The query is {len(q)} characters; {MAX_QUERY} at most."
    if "\x00" in q:
        errors["q"] = "The query contains a NUL character."
    if type and type not in TYPES:
        errors["type"] = "Use runbook, entry, feed or session."
    if stage and stage not in Stage.values:
        errors["stage"] = f"Unknown stage {stage!r}."
    if kind and kind not in Entry.Kind.values:
        errors["kind"] = f"Unknown kind {kind!r}."
    if errors:
        raise ValidationError(errors)
    return Filters(
        q, type or "", stage or "", (event or "").strip(), kind or "", bool(all_revisions)
    )


@dataclass
class Results:
    """One page of hits, best first, and how many there are in all."""

    hits: list[Hit]
    total: int  # a lower bound when `more`
    page: int
    per_page: int
    more: bool = False  # a source had more than COUNT_CAP matches: pages go on while full

    @property
    def pages(self) -> int:
        return max(1, self.page, -(-self.total // self.per_page))

    @property
    def first(self) -> int:
        """The number of the page's first hit, counting from 1."""
        return (self.page - 1) * self.per_page + 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages or self.more

    @property
    def has_previous(self) -> bool:
        return self.page > 1


def search(user, filters: Filters, limit: int = PER_PAGE) -> list[Hit]:
    """The first `limit` hits for the user, best first."""
    return search_page(user, filters, page=1, per_page=limit).hits


def search_page(user, filters: Filters, page: int = 1, per_page: int = PER_PAGE) -> Results:
    """Page `page` of the ranked hits for the user, and their total.

    Every source is ranked (ids and scores only) down to the end of the asked page, the
    lists are merged by score, and snippets, the expensive part, are made for the returned
    page only. Each source orders its hits the same way whatever the page, so paging through
    shows every hit once.
    """
    page = max(1, page)
    if not filters.q or not user.is_authenticated:
        return Results([], 0, page, per_page)
    depth = page * per_page
    ranked: list[tuple[float, str, object]] = []
    total, more = 0, False
    for kind, source in _sources(user, filters):
        found = source.ranked(depth)
        # Fewer than asked for: that is every match, and no count query is needed.
        if len(found) < depth:  # fewer than asked for: every match, no count query needed
            total += len(found)
        else:
            counted = min(source.count(), COUNT_CAP)  # the same cap on every database
            more = more or counted >= COUNT_CAP
            total += counted
        ranked += [(score, kind, pk) for pk, score in found]
    ranked.sort(key=lambda item: -item[0])  # stable: equal scores keep each source's order
    window = ranked[depth - per_page : depth]
    hits = []
    for kind, make in HIT_MAKERS.items():
        hits += make(user, [(pk, s) for s, t, pk in window if t == kind], filters.q)
    order = {(t, pk): i for i, (_, t, pk) in enumerate(window)}
    hits.sort(key=lambda h: order[(h.type, h.key)])
    return Results(hits, total, page, per_page, more=more and len(hits) == per_page)


@dataclass
class _Source:
    count: object  # () -> int
    ranked: object  # (n) -> [(pk, score)], best first


def _sources(user, filters: Filters) -> list[tuple[str, _Source]]:
    """The kinds of things the filters allow, each with its count and ranking."""
    q = filters.q
    wanted = {filters.type} if filters.type else set(TYPES)
    entries_only = bool(filters.kind)
    sources = []
    events = _visible_events(user, filters) if wanted != {"runbook"} else []
    if "runbook" in wanted and not (entries_only or filters.event):
        revisions = _revisions(filters)
        sources.append(("runbook", _runbook_source(revisions, q)))
    if "entry" in wanted:
        entries = _entry_queryset(user, filters, events)
        sources.append(("entry", _entry_source(entries, q)))
    if "feed" in wanted and not entries_only:
        feeds = places.feeds(events, stage=filters.stage)
        sources.append(("feed", _name_source(feeds, q, places.FEED_FIELDS)))
    if "session" in wanted and not (entries_only or filters.stage):
        sessions = places.sessions(events)
        sources.append(("session", _name_source(sessions, q, places.SESSION_FIELDS)))
    return sources


def _runbook_source(revisions: QuerySet, q: str) -> _Source:
    if not _use_postgres():
        fields = ("body", "runbook__title", "runbook__slug")
        return _Source(
            count=lambda: _words_match(revisions, q, fields).count(),
            ranked=lambda n: [
                (pk, s * RUNBOOK_BOOST) for pk, s in _ranked_fallback(revisions, q, n, fields)
            ],
        )
    query = _query(q)
    by_body = revisions.filter(search_vector=query)
    titled = _titles_matching(q)
    # A title counts for the runbook's current revision (old ones only match by their body).
    current = revisions.filter(runbook__in=list(titled), pk__in=Runbook.objects.values("current"))

    def count() -> int:
        extra = current.exclude(pk__in=by_body.values("pk")).count() if titled else 0
        return _capped(by_body) + extra

    def ranked(n: int) -> list[tuple]:
        scores = dict(_ranked_revisions(by_body, q, n))
        if titled:
            rows = current.annotate(
                score=Coalesce(SearchRank(F("search_vector"), query), Value(0.0))
            ).values_list("pk", "runbook", "score")
            for pk, runbook, score in rows:
                scores[pk] = score + TITLE_WEIGHT * titled[runbook]
        best = sorted(scores.items(), key=lambda item: (-item[1], -item[0]))[:n]
        return [(pk, score * RUNBOOK_BOOST) for pk, score in best]

    return _Source(count=count, ranked=ranked)


def _capped(queryset: QuerySet) -> int:
    """How many rows, counted up to COUNT_CAP."""
    return queryset.order_by().values("pk")[:COUNT_CAP].count()


def _titles_matching(q: str) -> dict:
    """{runbook id: title rank} of runbooks whose title or slug match (a few hundred short
    texts, parsed at search time)."""
    query = _query(q)
    doc = SearchVector("title", "slug", config=CONFIG)
    return dict(
        Runbook.objects.annotate(doc=doc)
        .filter(doc=query)
        .annotate(rank=SearchRank(doc, query))
        .values_list("pk", "rank")[:TITLE_CANDIDATES]
    )


def _entry_source(entries: QuerySet, q: str) -> _Source:
    tagged = _tagged(entries, q)
    if not _use_postgres():
        text = _words_match(entries, q, ("body",))
        return _Source(
            count=lambda: text.count() + tagged.exclude(pk__in=text.values("pk")).count(),
            ranked=lambda n: _with_tags(_ranked_fallback(entries, q, n, ("body",)), tagged, n),
        )
    query = _query(q)
    text = entries.annotate(doc=SearchVector("body", config=CONFIG)).filter(doc=query)

    def count() -> int:
        tag_pks = list(tagged.values_list("pk", flat=True)[:5000])
        also_text = text.filter(pk__in=tag_pks).count() if tag_pks else 0
        return _capped(text) + len(tag_pks) - also_text

    return _Source(count=count, ranked=lambda n: _with_tags(_ranked_entries(text, q, n), tagged, n))


def _tagged(entries: QuerySet, q: str) -> QuerySet:
    """Entries tagged with every word of the query (tags are lower case, without '#')."""
    terms = words(q)
    if not terms:
        return entries.none()
    for term in terms:
        tag = term.lower().lstrip("#")
        if _use_postgres():  # jsonb containment: the GIN index of runbooks migration 0007
            entries = entries.filter(tags__contains=[tag])
        else:
            entries = entries.filter(tags__icontains=f'"{tag}"')
    return entries


def _with_tags(ranked: list[tuple], tagged: QuerySet, n: int) -> list[tuple]:
    """Ranked entries with the tagged ones added (TAG_SCORE unless their text ranks higher)."""
    scores = dict(ranked)
    for pk in tagged.order_by("-occurred_at").values_list("pk", flat=True)[:n]:
        scores[pk] = max(scores.get(pk, 0.0), TAG_SCORE)
    order = {pk: i for i, pk in enumerate(scores)}
    merged = sorted(scores.items(), key=lambda item: (-item[1], order[item[0]]))
    return merged[:n]


def _name_source(queryset: QuerySet, q: str, fields: tuple[str, ...]) -> _Source:
    matches = _words_match(queryset, q, fields)
    return _Source(
        count=matches.count,
        ranked=lambda n: places.ranked(matches, q, fields, words(q), n),
    )


def _words_match(queryset: QuerySet, q: str, fields: tuple[str, ...]) -> QuerySet:
    """Rows where every word of the query appears in one of `fields` (any case)."""
    terms = words(q)
    if not terms:
        return queryset.none()
    for term in terms:
        any_field = Q()
        for name in fields:
            any_field |= Q(**{f"{name}__icontains": term})
        queryset = queryset.filter(any_field)
    return queryset


def _revisions(filters: Filters) -> QuerySet[RunbookRevision]:
    revisions = RunbookRevision.objects.all()
    if not filters.all_revisions:
        revisions = revisions.filter(pk__in=Runbook.objects.values("current"))
    if filters.stage:
        revisions = revisions.filter(runbook__stage=filters.stage)
    return revisions


def _visible_events(user, filters: Filters) -> list[int]:
    """Ids of the events the user sees (the one the filter names): a list, not a subquery,
    so PostgreSQL scans a GIN index once, not once per event."""
    events = events_for_user(user)
    if filters.event:
        events = events.filter(slug=filters.event)
    return list(events.values_list("pk", flat=True))


def _entry_queryset(user, filters: Filters, events: list[int] | None = None) -> QuerySet[Entry]:
    events = _visible_events(user, filters) if events is None else events
    entries = live_entries().filter(event__in=events)
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


def _ranked_revisions(matches: QuerySet, q: str, limit: int) -> list[tuple]:
    """(pk, score) of the best revisions by body: the stored, GIN-indexed search_vector is
    both the filter and what ts_rank reads, so no body is parsed at search time."""
    query = _query(q)
    return list(
        matches.annotate(score=Coalesce(SearchRank(F("search_vector"), query), Value(0.0)))
        .order_by("-score", "-pk")
        .values_list("pk", "score")[:limit]
    )


def _ranked_entries(text: QuerySet, q: str, limit: int) -> list[tuple]:
    """(pk, score) of the best `limit` entries whose text matches.

    The filter is exactly the expression of the GIN index on retro_entry (migration 0002),
    so PostgreSQL finds the matches in the index. Ranking has to parse each match's body
    again (that table has no stored vector), so only the newest CANDIDATES matches are
    ranked, and older matches follow them newest first: a word in thousands of entries
    costs the same as a rare one, and the order is the same on every page.
    """
    query = _query(q)
    candidates = list(
        text.order_by("-occurred_at", "-pk").values_list("pk", flat=True)[:CANDIDATES]
    )
    ranked = list(
        Entry.objects.filter(pk__in=candidates)
        .annotate(score=SearchRank(SearchVector("body", config=CONFIG), query))
        .order_by("-score", "-occurred_at")
        .values_list("pk", "score")[:limit]
    )
    if limit > len(ranked) and len(candidates) == CANDIDATES:
        older = (
            text.exclude(pk__in=candidates)
            .order_by("-occurred_at", "-pk")
            .values_list("pk", flat=True)[: limit - len(ranked)]
        )
        ranked += [(pk, 0.0) for pk in older]
    return ranked


def _ranked_fallback(queryset: QuerySet, q: str, limit: int, fields=("body",)) -> list[tuple]:
    """SQLite: every word must appear in one of `fields` (icontains), scored by how often
    the words occur (a title or slug word counts TITLE_WEIGHT times)."""
    terms = [t.lower() for t in words(q)]
    if not terms:
        return []
    candidates = _words_match(queryset, q, fields).values_list("pk", *fields)
    scored = []
    for pk, body, *names in candidates:
        low = (body or "").lower()
        score = sum(low.count(t) for t in terms) / (1 + len(low) / 500)
        title = " ".join(names).lower()
        score += TITLE_WEIGHT * sum(t in title for t in terms) / len(terms)
        scored.append((pk, score))
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
            .annotate(at=_first_match(q), body_length=Length("body"))
            .annotate(
                headline=Case(
                    # A short text whole (fragments would drop the words after the last
                    # match); a long one from the window around the first match.
                    When(
                        body_length__lte=SHORT_TEXT,
                        then=SearchHeadline(
                            "body",
                            _query(q),
                            config=CONFIG,
                            start_sel=START,
                            stop_sel=STOP,
                            max_words=60,
                            min_words=40,
                            max_fragments=0,
                        ),
                    ),
                    default=SearchHeadline(
                        Case(
                            When(
                                at__gt=0,
                                then=Substr("body", Greatest(F("at") - LEAD, 1), WINDOW),
                            ),
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
                    ),
                    output_field=TextField(),
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
    text = escape(plain_text(headline))
    return mark_safe(text.replace(START, "<mark>").replace(STOP, "</mark>"))


def words(q: str) -> list[str]:
    """The words of a query, without websearch operators or quotes."""
    found = re.findall(r"[\w][\w.:/-]*", q.replace('"', " "))
    return [w for w in found if w.lower() not in {"or", "and"}][:20]


def snippet(body: str, terms: list[str], size: int = SNIPPET_CHARS) -> SafeString:
    """A window of the body (as plain text) around the first match; escaped, matches in
    <mark>."""
    body = plain_text(body)
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


def _runbook_hits(user, ranked: list[tuple], q: str) -> list[Hit]:
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
                key=pk,
            )
        )
    return hits


def _entry_hits(user, ranked: list[tuple], q: str) -> list[Hit]:
    pks = [pk for pk, _ in ranked]
    snippets = _headlines(Entry, pks, q)
    rows = (
        Entry.objects.select_related("event")
        .only("kind", "stage", "occurred_at", "tags", "event__name", "event__slug")
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
                extra={"id": str(entry.pk), "tags": entry.tags},
                key=pk,
            )
        )
    return hits


def _place_hits(user, ranked: list[tuple], q: str, make) -> list[Hit]:
    return [
        Hit(snippet=snippet(text, words(q)), key=pk, **fields) for pk, text, fields in make(ranked)
    ]


HIT_MAKERS = {
    "runbook": _runbook_hits,
    "entry": _entry_hits,
    "feed": lambda user, ranked, q: _place_hits(user, ranked, q, places.feed_hits),
    "session": lambda user, ranked, q: _place_hits(user, ranked, q, places.session_hits),
}
