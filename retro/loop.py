"""Reads of the learning loop across events: the chain of events (each follows the one it was
planned from), every learning's decision, what carries over, where a problem recurs, and
similar learnings of earlier events.

Facts of the upper apps (runbook revisions citing a learning, feeds that had anomalies) come
through retro.hooks, so retro imports neither runbooks nor integrations.
"""

import re
from dataclasses import dataclass, field
from uuid import UUID

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVectorField
from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL

from . import hooks
from .actions import OPEN_STATUSES, open_actions
from .models import Entry, Event, Feed, NoChangeDecision, live_entries

# How far back the chain is followed: recurrence counts and "open since" read this many.
CHAIN_DEPTH = 10
SEARCH_CONFIG = "english"


def event_chain(event: Event, depth: int = CHAIN_DEPTH) -> list[Event]:
    """The event, the event it follows, that one's, ... newest first (a loop stops it)."""
    chain, seen = [event], {event.pk}
    current = event
    while current.follows_id and current.follows_id not in seen and len(chain) < depth:
        current = Event.objects.filter(pk=current.follows_id).first()
        if current is None:
            break
        chain.append(current)
        seen.add(current.pk)
    return chain


# --- Decisions ------------------------------------------------------------------


@dataclass
class Decision:
    """How a learning was closed: actions from it, revisions citing it, or no change."""

    actions: list[Entry] = field(default_factory=list)
    revisions: list[hooks.RunbookChange] = field(default_factory=list)
    no_change: NoChangeDecision | None = None

    @property
    def decided(self) -> bool:
        return bool(self.actions or self.revisions or self.no_change)

    @property
    def summary(self) -> str:
        parts = [f"action #{str(a.pk)[:8]} ({a.get_status_display()})" for a in self.actions]
        parts += [f"runbook {r.runbook} r{r.number}" for r in self.revisions]
        if self.no_change:
            who = self.no_change.decided_by.username if self.no_change.decided_by else "—"
            parts.append(f"no change needed ({who}): {self.no_change.reason}")
        return "; ".join(parts) or "no decision yet"


def decisions(learnings: list[Entry]) -> dict[UUID, Decision]:
    """The decision of each learning, in three queries whatever their number."""
    ids = [e.pk for e in learnings]
    found = {pk: Decision() for pk in ids}
    actions = (
        live_entries()
        .filter(kind=Entry.Kind.ACTION, source_entry_id__in=ids)
        .exclude(status=Entry.Status.DROPPED)
        .select_related("owner")
        .order_by("occurred_at")
    )
    for action in actions:
        found[action.source_entry_id].actions.append(action)
    for change in hooks.runbook_changes(ids):
        found[change.entry_id].revisions.append(change)
    for decision in NoChangeDecision.objects.filter(learning_id__in=ids).select_related(
        "decided_by"
    ):
        found[decision.learning_id].no_change = decision
    return found


def event_learnings(event: Event) -> QuerySet[Entry]:
    return live_entries().filter(event=event, kind=Entry.Kind.LEARNING).order_by("occurred_at")


def undecided_learnings(event: Event) -> list[Entry]:
    """The event's learnings that have no action, runbook revision or no-change decision."""
    learnings = list(event_learnings(event))
    found = decisions(learnings)
    return [e for e in learnings if not found[e.pk].decided]


# --- Carry-over -----------------------------------------------------------------


def carried_over_actions(event: Event) -> QuerySet[Entry]:
    """Open actions of the events this one follows (back along the chain): they stay on its
    board until done or dropped. An action older than the followed event was carried
    more than once ("open since <its event>")."""
    earlier = [e.pk for e in event_chain(event)[1:]]
    return (
        open_actions()
        .filter(event_id__in=earlier)
        .select_related("event", "owner")
        .order_by("due", "occurred_at")
    )


def learnings_awaiting_action(event: Event) -> list[Entry]:
    """Learnings of the followed event whose decision was an action that is not done yet."""
    if not event.follows_id:
        return []
    return list(
        event_learnings(event.follows)
        .filter(actions__kind=Entry.Kind.ACTION, actions__status__in=OPEN_STATUSES)
        .filter(actions__deleted_at__isnull=True)
        .select_related("event", "author", "site", "session")
        .distinct()
    )


def changed_since_last_event(event: Event) -> list[hooks.RunbookChange]:
    """Runbook revisions caused by the followed event's learnings (and their actions)."""
    if not event.follows_id:
        return []
    cited = live_entries().filter(event_id=event.follows_id).values_list("pk", flat=True)
    return hooks.runbook_changes(list(cited))


# --- Recurrence -----------------------------------------------------------------


def place_keys(feed: Feed) -> set[tuple]:
    """What makes a feed "the same place" at another event: its slug, or its stage, origin
    and destination sites and transport together."""
    keys = {("slug", feed.slug)}
    if feed.origin_id and feed.destination_id:
        keys.add(("hop", feed.stage, feed.origin_id, feed.destination_id, feed.transport))
    return keys


@dataclass(frozen=True)
class Recurrence:
    """At how many of the chain's events (this one included) a place was flagged."""

    flagged: int
    of: int
    events: tuple[str, ...]  # slugs of the earlier events where it was flagged, newest first

    @property
    def recurred(self) -> bool:
        return self.flagged > 1

    @property
    def label(self) -> str:
        return f"flagged at {self.flagged} of the last {self.of} events"


class RecurrenceIndex:
    """Where learnings and anomalies flagged places at the earlier events of a chain.

    Built once per event (a board, a report) or for a few feeds (one entry: only the
    earlier feeds at the same places are read, so it stays fast on big events).
    """

    def __init__(self, event: Event, feeds: list[Feed] | None = None):
        self.chain = event_chain(event)
        self.flagged: dict[int, set[tuple]] = {e.pk: set() for e in self.chain[1:]}
        if not self.flagged:
            return
        earlier = Feed.objects.filter(event_id__in=list(self.flagged))
        if feeds is not None:
            earlier = earlier.filter(_same_place(feeds))
        learned = Entry.feeds.through.objects.filter(
            feed__in=earlier,
            entry__kind=Entry.Kind.LEARNING,
            entry__deleted_at__isnull=True,
            entry__merged_into__isnull=True,
        ).values_list("feed_id", flat=True)
        ids = set(learned) | hooks.anomaly_feeds(earlier)
        for feed in Feed.objects.filter(pk__in=ids).only(
            "event_id", "slug", "stage", "origin_id", "destination_id", "transport"
        ):
            self.flagged[feed.event_id] |= place_keys(feed)

    def of(self, feeds) -> Recurrence:
        """The recurrence of an item (a learning, an anomaly) on these feeds."""
        if len(self.chain) == 1:
            return Recurrence(flagged=1, of=1, events=())
        keys = set().union(*(place_keys(f) for f in feeds)) if feeds else set()
        hits = tuple(e.slug for e in self.chain[1:] if keys and keys & self.flagged[e.pk])
        return Recurrence(flagged=1 + len(hits), of=len(self.chain), events=hits)


def _same_place(feeds: list[Feed]) -> Q:
    match = Q(slug__in={f.slug for f in feeds})
    for f in feeds:
        if f.origin_id and f.destination_id:
            match |= Q(
                stage=f.stage,
                origin_id=f.origin_id,
                destination_id=f.destination_id,
                transport=f.transport,
            )
    return match


def recurrence_of_feeds(event: Event, feeds: list[Feed]) -> Recurrence:
    """One item's recurrence: reads only the earlier feeds at the same places."""
    return RecurrenceIndex(event, feeds).of(feeds)


# --- Similar learnings across events -------------------------------------------------

# The stored tsvector of an entry's body (migration retro/0006: a generated column, not a
# model field, PostgreSQL only): matching and ranking read it, no body is parsed again.
BODY_SEARCH = RawSQL('"retro_entry"."body_search"', [], output_field=SearchVectorField())
SIMILAR_WORDS = 12
SIMILAR_CANDIDATES = 150
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "from",
        "had",
        "has",
        "have",
        "in",
        "into",
        "is",
        "it",
        "its",
        "no",
        "not",
        "of",
        "on",
        "or",
        "our",
        "so",
        "than",
        "that",
        "the",
        "their",
        "then",
        "there",
        "these",
        "this",
        "to",
        "too",
        "was",
        "we",
        "were",
        "when",
        "which",
        "while",
        "with",
    ]
)


def _words(text: str) -> list[str]:
    """The query words of a text: lower-case, longest first, stop words dropped."""
    found = {w for w in re.findall(r"[a-z0-9]{3,}", text.lower()) if w not in STOPWORDS}
    return sorted(found, key=lambda w: (-len(w), w))[:SIMILAR_WORDS]


def similar_learnings(
    visible: QuerySet[Event], event: Event, text: str, limit: int = 3
) -> list[Entry]:
    """Learnings of the earlier events of the chain (those in `visible`) that read like
    `text`: full-text ranked on PostgreSQL (any of its words, the GIN index of retro_entry),
    word overlap on SQLite. At least two shared words make a suggestion."""
    terms = _words(text)
    chain = [e.pk for e in event_chain(event)[1:]]
    # Plain ids (not a subquery): PostgreSQL then scans the text index once, not per event.
    earlier = list(visible.filter(pk__in=chain).values_list("pk", flat=True)) if chain else []
    if len(terms) < 2 or not earlier:
        return []
    learnings = live_entries().filter(kind=Entry.Kind.LEARNING, event_id__in=earlier)
    if connection.vendor == "postgresql":
        query = SearchQuery(" | ".join(terms), config=SEARCH_CONFIG, search_type="raw")
        # Ids first: the raw column name must not end up inside a subquery's other alias.
        matches = list(
            learnings.annotate(doc=BODY_SEARCH)
            .filter(doc=query)
            .order_by("-occurred_at")
            .values_list("pk", flat=True)[:SIMILAR_CANDIDATES]
        )
        ranked = (
            Entry.objects.filter(pk__in=matches)
            .annotate(score=SearchRank(BODY_SEARCH, query))
            .order_by("-score", "-occurred_at")
        )
    else:
        any_word = Q()
        for term in terms:
            any_word |= Q(body__icontains=term)
        ranked = learnings.filter(any_word).order_by("-occurred_at")[:SIMILAR_CANDIDATES]
    wanted = set(terms)
    scored = []
    for entry in ranked.select_related("event")[: limit * 5]:
        shared = len(_stems(entry.body, wanted))
        if shared >= 2:
            scored.append((shared, entry))
    scored.sort(key=lambda item: -item[0])
    return [entry for _, entry in scored[:limit]]


def _stems(body: str, terms: set[str]) -> set[str]:
    """Query words that appear in the body as a word's beginning (drops, dropped)."""
    low = body.lower()
    return {t for t in terms if re.search(r"\b" + re.escape(t[: max(4, len(t) - 2)]), low)}
