"""Named hooks through which an upper app supplies facts that retro shows but cannot import.

retro sits below runbooks and integrations (README, Architecture). Where the learning loop
needs their facts (the runbook revisions a learning caused, the feeds that had anomalies),
the upper app provides them in its AppConfig.ready() by name:

    hooks.runbook_changes.provide(fn)   # runbooks.apps
    hooks.anomaly_feeds.provide(fn)     # integrations.apps
    hooks.announce.provide(fn)          # webhooks.apps: entries, anomalies, retros, reports

Without a provider (an app not installed) a hook answers its empty default.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID


@dataclass(frozen=True)
class RunbookChange:
    """A runbook revision that cites an entry (a learning or an action)."""

    entry_id: UUID
    runbook: str
    number: int
    summary: str
    url: str
    at: datetime


class Hook:
    """One named fact an upper app provides; `default` answers until it does."""

    def __init__(self, name: str, default: Callable):
        self.name = name
        self._default = default
        self._provider: Callable | None = None

    def provide(self, fn: Callable) -> Callable:
        self._provider = fn
        return fn

    def __call__(self, *args, **kwargs):
        return (self._provider or self._default)(*args, **kwargs)


def _no_changes(entry_ids: Iterable[UUID]) -> list[RunbookChange]:
    return []


def _no_anomalies(feeds) -> set[int]:
    return set()


# runbook_changes(entry_ids) -> [RunbookChange]: revisions citing any of these entries.
runbook_changes = Hook("runbook_changes", _no_changes)
# anomaly_feeds(feeds: QuerySet[Feed]) -> {feed id}: those of the feeds that had an anomaly.
anomaly_feeds = Hook("anomaly_feeds", _no_anomalies)


def _nobody_listens(name: str, obj, **details) -> None:
    return None


# announce(name, obj, **details): something happened that the team's other tools may want to
# hear about ("entry.created" with the Entry, "anomaly.opened" with the Anomaly, ...; the
# names are webhooks.models.EventName). Called inside the writer's transaction: the listener
# (webhooks.apps) queues its work with transaction.on_commit, so a request never waits on it.
announce = Hook("announce", _nobody_listens)
