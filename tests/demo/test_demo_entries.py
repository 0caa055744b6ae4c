"""Demo retro entries: the promised shape, written through the services, and idempotent."""

from collections import Counter
from datetime import timedelta

from django.contrib.auth import get_user_model

from demo import entries as demo_entries
from demo import signal_path as demo
from retro import loop
from retro.actions import overdue_actions
from retro.loop import carried_over_actions
from retro.models import (
    AuditLog,
    Entry,
    EntryRevision,
    Event,
    Membership,
    NoChangeDecision,
    RecurrenceLink,
    Vote,
)


def load():
    demo.load_signal_path()
    demo.load_users()
    demo_entries.load_entries()


def snapshot():
    return {
        "entries": sorted(
            Entry.objects.values_list("pk", "version", "status", "due", "merged_into_id")
        ),
        "revisions": EntryRevision.objects.count(),
        "votes": Vote.objects.count(),
        "audit": AuditLog.objects.count(),
        "members": Membership.objects.count(),
        "users": get_user_model().objects.count(),
        "events": sorted(Event.objects.values_list("slug", "state", "retro_finalized_at")),
    }


def test_demo_retro_reads_like_an_ops_team_and_carries_last_year_over(db):
    load()
    event = Event.objects.get(slug="demo")
    entries = Entry.objects.filter(event=event)
    assert 250 <= entries.count() <= 350
    assert set(entries.values_list("kind", flat=True)) == {"win", "learning", "action"}
    actions = entries.filter(kind="action")
    assert set(actions.values_list("status", flat=True)) == {
        "open",
        "in_progress",
        "done",
        "dropped",
    }
    assert overdue_actions().filter(event=event).exists()
    assert entries.filter(shareable=True).exists()
    impacts = Counter(entries.filter(kind="learning").values_list("impact", flat=True))
    assert impacts["on_air"] and impacts["caught"] and impacts["none"]
    assert len(set(entries.values_list("site__slug", flat=True))) >= 4
    assert {"dublin-ops", "nyc-ops"} <= set(entries.values_list("author__username", flat=True))
    assert not entries.filter(occurred_at__gt=event.created_at).exists()  # no future entries
    assert entries.filter(source_entry__isnull=False).exists()
    assert entries.filter(merged_into__isnull=False).count() == 1
    assert Vote.objects.filter(entry__event=event).exists()
    bodies = " ".join(entries.values_list("body", flat=True))
    for story in [
        "sign-language return",
        "Clean failover to the **B path**",
        "Raise SRT latency to **2000 ms** on the transatlantic",
        "drifted",
        "subtitles missing",
        "rejected the stream key",
        "Hotel feed playout switched to live",
    ]:
        assert story in bodies, story
    # every feed an entry names belongs to the event, and rendered Markdown is stored
    assert not entries.exclude(feeds__event=event).filter(feeds__isnull=False).exists()
    assert all(e.body_html for e in entries[:20])
    entries_talk_about_the_telemetry_incidents_at_their_times(event)
    last_years_closed_event_carries_its_open_actions_over(event)
    the_demo_closes_the_loop_across_events(event)


def entries_talk_about_the_telemetry_incidents_at_their_times(event):
    from demo.telemetry import incidents

    restart = next(i for i in incidents(event) if i["kind"] == "encoder_restart")
    entry = Entry.objects.get(event=event, body__startswith="Encoder B restarted mid-keynote")
    assert entry.kind == "win"
    assert list(entry.feeds.values_list("slug", flat=True)) == [restart["feed"]]
    assert restart["start"] <= entry.occurred_at <= restart["end"] + timedelta(minutes=5)


def last_years_closed_event_carries_its_open_actions_over(demo_event):
    last_year = Event.objects.get(slug="summit-2025")
    assert last_year.state == "closed" and last_year.retro_finalized
    assert last_year.end <= demo_event.start
    assert timedelta(days=360) < demo_event.start - last_year.start < timedelta(days=370)
    carried = carried_over_actions(demo_event)
    assert carried.count() >= 3
    assert set(carried.values_list("status", flat=True)) == {"open", "in_progress"}
    assert all(a.due < demo_event.start.date() for a in carried)  # overdue since last year
    assert Membership.objects.filter(event=last_year, user__username="operator").exists()


def the_demo_closes_the_loop_across_events(demo_event):
    last_year = Event.objects.get(slug="summit-2025")
    assert demo_event.follows == last_year
    learnings = list(
        loop.event_learnings(demo_event).prefetch_related("feeds").filter(feeds__isnull=False)
    )
    index = loop.RecurrenceIndex(demo_event)
    recurred = [e for e in learnings if index.of(list(e.feeds.all())).recurred]
    assert recurred and index.of(list(recurred[0].feeds.all())).label == (
        "flagged at 2 of the last 2 events"
    )
    assert NoChangeDecision.objects.filter(learning__event=demo_event).count() >= 1
    links = RecurrenceLink.objects.filter(entry__event=demo_event, earlier__event=last_year)
    assert links.count() >= 1


def test_loading_the_demo_twice_changes_nothing(db):
    load()
    before = snapshot()
    load()
    assert snapshot() == before
