"""The live board page, its polling endpoint, the timeline and the entry page."""

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from retro import services
from retro.models import Entry, Event, Membership
from tests.conftest import TODAY

BOARD = "/events/summit/board/"


def log(event, author, **fields):
    fields.setdefault("kind", "learning")
    fields.setdefault("body", "Packet loss on the ASL return")
    fields.setdefault("occurred_at", event.start + timedelta(hours=3))
    return services.log_entry(event=event, author=author, **fields)[0]


def bulk_entries(event, author, n):
    """Many entries fast (the services are tested elsewhere), each with a feed."""
    feed = event.feeds.get(slug="kn1-asl")
    kinds = ["win", "learning", "action"]
    entries = Entry.objects.bulk_create(
        Entry(
            event=event,
            author=author,
            kind=kinds[i % 3],
            body=f"entry {i}",
            body_html=f"<p>entry {i}</p>",
            status="open" if i % 3 == 2 else "",
            occurred_at=event.start + timedelta(minutes=i),
        )
        for i in range(n)
    )
    Entry.feeds.through.objects.bulk_create(
        Entry.feeds.through(entry_id=e.pk, feed_id=feed.pk) for e in entries
    )


def board_queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(BOARD).status_code == 200
    return len(ctx.captured_queries)


def test_board_query_count_does_not_grow_with_entries(
    operator_client, operator, event, django_assert_max_num_queries
):
    bulk_entries(event, operator, 30)
    few = board_queries(operator_client)
    bulk_entries(event, operator, 2000)
    with django_assert_max_num_queries(few):
        response = operator_client.get(BOARD)
    assert response.status_code == 200
    columns = response.context["columns"]
    assert [c["count"] for c in columns] == [677, 677, 676]
    assert all(len(c["entries"]) == 25 for c in columns)
    assert "Load more" in response.content.decode()


def test_board_shows_three_columns_and_the_entry_form(operator_client, operator, event):
    log(event, operator, kind="win", body="Clean failover to the **B path**")
    log(event, operator, kind="action", body="Raise SRT latency", owner=operator)
    response = operator_client.get(BOARD)
    page = response.content.decode()
    assert [c["kind"] for c in response.context["columns"]] == ["win", "learning", "action"]
    assert "<strong>B path</strong>" in page
    assert 'id="entry-form"' in page and "waiting to send" not in page.split("<main")[0]
    assert 'href="/events/summit/board/"' in page  # the board link in its own header


def test_operator_site_is_preselected(operator_client, operator, event):
    Membership.objects.filter(user=operator).update(
        site=event.feeds.get(slug="kn1-contrib-a").origin
    )
    page = operator_client.get(BOARD).content.decode()
    assert '<option value="venue" selected>' in page


@pytest.mark.parametrize(
    "query,expected",
    [
        ("kind=win", {"Clean failover"}),
        ("feed=kn1-asl", {"ASL packet loss"}),
        ("session=kn1", {"ASL packet loss"}),
        ("stage=distribution", {"ASL packet loss"}),
        ("site=bcr", {"Clean failover"}),
        ("author=lead1", {"Captions drift"}),
        ("q=drift", {"Captions drift"}),
    ],
)
def test_filters_are_get_parameters(viewer_client, operator, lead, event, query, expected):
    from retro.models import Site

    log(event, operator, kind="win", body="Clean failover", site=Site.objects.get(slug="bcr"))
    log(
        event,
        operator,
        body="ASL packet loss",
        feeds=[event.feeds.get(slug="kn1-asl")],
        session=event.sessions.get(),
    )
    log(event, lead, body="Captions drift")
    response = viewer_client.get(f"{BOARD}?{query}")
    shown = {e.body for c in response.context["columns"] for e in c["entries"]}
    assert shown == expected


def test_bad_time_filter_is_explained_not_a_crash(viewer_client, event):
    response = viewer_client.get(f"{BOARD}?since=tomorrow")
    assert response.status_code == 200
    assert "since:" in response.content.decode()


def test_times_are_shown_in_viewer_and_event_zone(viewer_client, operator, event):
    log(event, operator, occurred_at=event.start + timedelta(hours=2))  # 17:00 UTC
    viewer_client.cookies["tally_tz"] = "Europe/Dublin"
    page = viewer_client.get(BOARD).content.decode()
    assert "17:00 GMT" in page and "09:00 PST" in page


def test_changes_since_cursor_returns_new_entries_rendered_by_the_partial(
    viewer_client, operator, event
):
    cursor = timezone.now().isoformat()
    entry = log(event, operator, body="Late **learning**")
    data = viewer_client.get(f"{BOARD}changes/", {"cursor": cursor}).json()
    assert [e["id"] for e in data["entries"]] == [str(entry.pk)]
    item = data["entries"][0]
    assert item["version"] == 1 and item["kind"] == "learning"
    assert 'id="entry-' in item["html"] and "<strong>learning</strong>" in item["html"]
    assert data["cursor"] > cursor


def test_changes_report_edits_and_deletions(viewer_client, operator, event):
    entry = log(event, operator)
    cursor = timezone.now().isoformat()
    services.edit_entry(entry=entry, editor=operator, version=1, body="edited")
    data = viewer_client.get(f"{BOARD}changes/", {"cursor": cursor}).json()
    assert data["entries"][0]["version"] == 2 and "edited" in data["entries"][0]["html"]
    services.delete_entry(entry=Entry.objects.get(pk=entry.pk), actor=operator)
    data = viewer_client.get(f"{BOARD}changes/", {"cursor": data["cursor"]}).json()
    assert data["entries"] == [] and data["removed"] == [{"id": str(entry.pk), "version": 3}]


def test_changes_overlap_catches_a_commit_stamped_before_the_cursor(viewer_client, operator, event):
    # A transaction stamps updated_at, then commits after a poll already moved the cursor.
    entry = log(event, operator)
    Entry.objects.filter(pk=entry.pk).update(updated_at=timezone.now() - timedelta(seconds=3))
    data = viewer_client.get(f"{BOARD}changes/", {"cursor": timezone.now().isoformat()}).json()
    assert [e["id"] for e in data["entries"]] == [str(entry.pk)]


def test_changes_respect_the_boards_filters(viewer_client, operator, event):
    cursor = timezone.now().isoformat()
    win = log(event, operator, kind="win", body="w")
    log(event, operator, kind="learning", body="l")
    data = viewer_client.get(f"{BOARD}changes/", {"cursor": cursor, "kind": "win"}).json()
    assert [e["id"] for e in data["entries"]] == [str(win.pk)]
    assert len(data["removed"]) == 1  # the learning is not for this board


def test_timeline_shows_session_windows_and_entries(viewer_client, operator, event):
    on_air = log(
        event, operator, body="During the keynote", occurred_at=event.start + timedelta(hours=3)
    )
    response = viewer_client.get(BOARD, {"view": "timeline", "day": event.start.date().isoformat()})
    page = response.content.decode()
    assert response.context["bands"][0]["session"].slug == "kn1"
    assert 0 < response.context["bands"][0]["w"] <= 100
    assert "on air: Opening keynote" in page
    assert f'href="/entries/{on_air.pk}/"' in page and "<svg" in page


def test_carried_over_actions_only_from_events_the_viewer_may_see(
    viewer_client, viewer, lead, event
):
    def closed_event(slug):
        return Event.objects.create(
            name=slug,
            slug=slug,
            start=event.start - timedelta(days=370),
            end=event.start - timedelta(days=366),
            state=Event.State.LIVE,
        )

    mine, hidden = closed_event("last-year"), closed_event("secret")
    for ev in (mine, hidden):
        services.set_membership(event=ev, user=lead, role="lead", actor=None)
        services.log_entry(
            event=ev,
            author=lead,
            kind="action",
            body=f"Carry {ev.slug}",
            occurred_at=ev.start + timedelta(hours=1),
        )
        Event.objects.filter(pk=ev.pk).update(state=Event.State.CLOSED)
    services.set_membership(event=mine, user=viewer, role="viewer", actor=None)
    # The chain: this event follows last-year, which follows secret.
    Event.objects.filter(pk=event.pk).update(follows=mine)
    Event.objects.filter(pk=mine.pk).update(follows=hidden)
    page = viewer_client.get(BOARD).content.decode()
    assert "Carry last-year" in page and "carried over from last-year" in page
    assert "Carry secret" not in page


def test_entry_page_shows_history_and_restores_a_deleted_entry(operator_client, operator, event):
    entry = log(event, operator, body="first text")
    services.edit_entry(entry=entry, editor=operator, version=1, body="second text")
    services.delete_entry(entry=Entry.objects.get(pk=entry.pk), actor=operator)
    page = operator_client.get(f"/entries/{entry.pk}/").content.decode()
    assert "first text" in page and "second text" in page and "Restore" in page
    response = operator_client.post(f"/entries/{entry.pk}/", {"do": "restore"})
    assert response.status_code == 302
    assert Entry.objects.get(pk=entry.pk).deleted_at is None


def test_unknown_entry_is_404(viewer_client, event):
    assert viewer_client.get(f"/entries/{uuid.uuid4()}/").status_code == 404


def test_a_board_back_from_a_long_sleep_catches_up_in_batches(
    viewer_client, operator, event, monkeypatch
):
    from retro import selectors

    monkeypatch.setattr(selectors, "CHANGES_BATCH", 2)
    cursor = timezone.now().isoformat()
    logged = [log(event, operator, body=f"n{i}") for i in range(3)]
    first = viewer_client.get(f"{BOARD}changes/", {"cursor": cursor}).json()
    assert len(first["entries"]) == 2
    second = viewer_client.get(f"{BOARD}changes/", {"cursor": first["cursor"]}).json()
    seen = {e["id"] for e in first["entries"] + second["entries"]}
    assert seen == {str(e.pk) for e in logged}


def test_the_when_field_shows_the_entry_window(operator_client, event):
    page = operator_client.get(BOARD).content.decode()
    first, last = services.entry_window(event)
    assert f"{first.astimezone(event.tz):%a %d %b %H:%M}" in page
    assert "Within 2 days of the event:" in page
    assert f"{last.astimezone(event.tz):%a %d %b %H:%M}" in page
    assert "(blank: now)" in page and "data-now-outside" not in page


def test_after_the_event_the_board_asks_for_the_time_before_sending(operator_client, event):
    ended = timezone.now() - timedelta(days=7)
    Event.objects.filter(pk=event.pk).update(start=ended - timedelta(days=4), end=ended)
    page = operator_client.get(BOARD).content.decode()
    assert 'data-now-outside="No time was given, so now was used' in page
    assert "(required: the event is over)" in page


@pytest.mark.parametrize(
    "params",
    [
        {"cursor": "0001-01-01T00:00:00Z"},
        {"cursor": "9999-12-31T23:59:59-14:00"},
        {"cursor": f"{TODAY}T00:00:00+99:00"},
        {"cursor": "\x00"},
        {"since": "0001-01-01T00:00:00Z"},
        {"q": "loss\x00"},
    ],
)
def test_hostile_board_parameters_are_refused_or_ignored_never_a_500(viewer_client, event, params):
    """A filter the board cannot use is named on the page; a cursor it cannot read makes the
    poll start over, as a first poll does; a NUL anywhere is a 400 before any view runs."""
    changes = viewer_client.get(f"{BOARD}changes/", params)
    board = viewer_client.get(BOARD, params)
    has_nul = any("\x00" in v for v in params.values())
    if has_nul:
        assert changes.status_code == board.status_code == 400
        return
    assert changes.status_code == 200 and "entries" in changes.json()
    assert board.status_code == 200
    if "since" in params:  # shown as a filter problem, as any unreadable time is
        assert "since:" in board.content.decode() and "year must be from" in board.content.decode()
