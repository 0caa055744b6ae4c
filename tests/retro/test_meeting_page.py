"""The retro meeting at scale: a page at a time in group order, a fixed number of queries
whatever the number of entries, votes and merges answered as JSON for fetch, and the entry
to keep found by searching as you type."""

import math
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from retro import loop, meeting, meeting_page, services
from retro.models import Entry, Vote
from tally.markdown import render_markdown

JSON = {"HTTP_ACCEPT": "application/json"}
STAGES = ["contribution", "transmission", "distribution", "handoff", ""]


def many_entries(event, author, n: int, start: int = 0) -> list[Entry]:
    """n entries over stages, kinds and (for some) the keynote, written in bulk: the page is
    measured here, not the logging path; each has a feed, some have tags and votes."""
    session = event.sessions.get()
    feeds = list(event.feeds.all())
    entries = []
    for i in range(start, start + n):
        body = f"Entry {i}: packet loss on path A"
        entries.append(
            Entry(
                id=uuid.uuid4(),
                event=event,
                author=author,
                kind=["win", "learning", "action"][i % 3],
                body=body,
                body_html=render_markdown(body),
                occurred_at=event.start + timedelta(minutes=i),
                stage=STAGES[i % 5],
                session=session if i % 2 else None,
                tags=["srt"] if i % 4 == 0 else [],
            )
        )
    Entry.objects.bulk_create(entries)
    Entry.feeds.through.objects.bulk_create(
        [Entry.feeds.through(entry=e, feed=feeds[i % len(feeds)]) for i, e in enumerate(entries)]
    )
    Vote.objects.bulk_create([Vote(entry=e, user=author) for e in entries[::7]])
    return entries


def page_url(event, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"/events/{event.slug}/retro/" + (f"?{query}" if query else "")


def queries_for(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_meeting_query_count_does_not_grow_from_50_to_500_entries(lead_client, event, operator):
    many_entries(event, operator, 50)
    small = queries_for(lead_client, page_url(event))
    small_next = queries_for(lead_client, page_url(event, page=2, fragment=1))
    many_entries(event, operator, 450, start=50)
    assert queries_for(lead_client, page_url(event)) == small
    assert queries_for(lead_client, page_url(event, page=5, fragment=1)) == small_next


def test_the_first_page_is_short_and_every_entry_is_on_exactly_one_page(
    viewer_client, event, operator
):
    entries = many_entries(event, operator, 130)
    first = viewer_client.get(page_url(event)).content.decode()
    assert first.count('class="m-entry ') == meeting_page.PAGE_SIZE
    assert "page=2" in first and "data-next" in first
    seen, number = [], 1
    while True:
        html = viewer_client.get(page_url(event, page=number, fragment=1)).content.decode()
        assert "<html" not in html  # a fragment: the entries only
        seen += [e.pk for e in entries if f'data-entry="{e.pk}"' in html]
        if "data-next" not in html:
            break
        number += 1
    assert number == math.ceil(130 / meeting_page.PAGE_SIZE)
    assert len(seen) == 130 and len(set(seen)) == 130


def test_entries_come_in_stage_order_with_a_heading_where_the_group_changes(
    viewer_client, event, operator
):
    many_entries(event, operator, 20)
    html = viewer_client.get(page_url(event)).content.decode()
    order = [html.index(f">{label}</h2>") for label in ("Contribution", "Transmission")]
    assert order == sorted(order) and html.count(">Contribution</h2>") == 1
    assert html.index(">Handoff</h2>") < html.index(">No stage</h2>")
    by_kind = viewer_client.get(page_url(event, group="kind")).content.decode()
    assert by_kind.index(">Wins</h2>") < by_kind.index(">Learnings</h2>")


def test_the_outline_counts_every_group_and_its_link_shows_that_group_alone(
    viewer_client, event, operator
):
    many_entries(event, operator, 100)
    html = viewer_client.get(page_url(event)).content.decode()
    assert "Contribution · Opening keynote" in html and "No stage · No session" in html
    only = viewer_client.get(page_url(event, stage="handoff", session="kn1")).content.decode()
    expected = Entry.objects.filter(stage="handoff", session__slug="kn1").count()
    assert only.count('class="m-entry ') == expected > 0
    assert ">Contribution</h2>" not in only


def test_a_vote_sent_with_fetch_answers_json_with_the_entry_drawn_again(
    operator_client, event, operator
):
    entry, _ = services.log_entry(event=event, author=operator, kind="learning", body="RTT 400 ms")
    response = operator_client.post(f"/events/{event.slug}/retro/vote/{entry.pk}/", **JSON)
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] and body["votes"] == 1 and body["id"] == str(entry.pk)
    assert f'data-entry="{entry.pk}"' in body["html"] and "Voted · take back" in body["html"]
    assert Vote.objects.filter(entry=entry, user=operator).count() == 1


def test_a_viewer_voting_with_fetch_is_refused(viewer_client, event, operator):
    entry, _ = services.log_entry(event=event, author=operator, kind="learning", body="RTT 400 ms")
    response = viewer_client.post(f"/events/{event.slug}/retro/vote/{entry.pk}/", **JSON)
    assert response.status_code == 403
    assert not Vote.objects.exists()


def test_merge_candidates_match_words_or_reference_of_the_same_kind_only(
    lead_client, event, operator
):
    def log(kind, body):
        return services.log_entry(event=event, author=operator, kind=kind, body=body)[0]

    dup = log("learning", "Captions lag 8 s on the English feed")
    keep = log("learning", "English captions LAG behind the program")
    log("learning", "SRT loss on path B")
    log("win", "Captions lag fixed by the encoder restart")
    url = f"/events/{event.slug}/retro/merge/{dup.pk}/candidates/"
    found = lead_client.get(url, {"q": "captions lag"}).json()["results"]
    assert [r["id"] for r in found] == [str(keep.pk)]  # not itself, not the win
    assert (
        lead_client.get(url, {"q": "path B"}).json()["results"][0]["body"] == "SRT loss on path B"
    )
    by_ref = lead_client.get(url, {"q": f"#{str(keep.pk)[:6]}"}).json()["results"]
    assert [r["id"] for r in by_ref] == [str(keep.pk)]
    assert lead_client.get(url, {"q": ""}).json()["results"]  # focus lists the most voted


def test_operators_cannot_search_merge_candidates(operator_client, event, operator):
    dup, _ = services.log_entry(event=event, author=operator, kind="learning", body="x")
    url = f"/events/{event.slug}/retro/merge/{dup.pk}/candidates/"
    assert operator_client.get(url, {"q": "x"}).status_code == 403


def test_merge_picked_from_the_list_answers_json_and_moves_the_duplicate(
    lead_client, event, operator
):
    keep, _ = services.log_entry(event=event, author=operator, kind="learning", body="Lag 8 s")
    dup, _ = services.log_entry(event=event, author=operator, kind="learning", body="Lag again")
    response = lead_client.post(
        f"/events/{event.slug}/retro/merge/{dup.pk}/",
        {"keep": str(keep.pk), "keep_search": "#whatever shown"},
        **JSON,
    )
    assert response.status_code == 200
    body = response.json()
    assert body["merged"] == str(dup.pk) and body["id"] == str(keep.pk)
    assert "Merged duplicate" in body["html"] and "Lag again" in body["html"]
    dup.refresh_from_db()
    assert dup.merged_into_id == keep.pk


def test_merge_without_a_picked_entry_is_a_400_naming_the_field(lead_client, event, operator):
    dup, _ = services.log_entry(event=event, author=operator, kind="learning", body="Lag")
    response = lead_client.post(
        f"/events/{event.slug}/retro/merge/{dup.pk}/", {"keep_search": "no such words"}, **JSON
    )
    assert response.status_code == 400
    assert "keep" in response.json()["errors"]
    assert not Entry.objects.filter(merged_into__isnull=False).exists()


def test_the_merge_box_has_no_pattern_attribute(lead_client, event, operator):
    services.log_entry(event=event, author=operator, kind="learning", body="Lag")
    html = lead_client.get(page_url(event)).content.decode()
    assert 'name="keep_search"' in html and "pattern=" not in html


def test_a_form_sent_without_js_comes_back_to_its_page_of_the_meeting(
    operator_client, event, operator
):
    entry, _ = services.log_entry(event=event, author=operator, kind="learning", body="Lag")
    here = page_url(event, kind="learning", page=2)
    response = operator_client.post(f"/events/{event.slug}/retro/vote/{entry.pk}/", {"next": here})
    assert response.status_code == 302 and response["Location"] == f"{here}#entry-{entry.pk}"
    elsewhere = operator_client.post(
        f"/events/{event.slug}/retro/vote/{entry.pk}/", {"next": "https://evil.example/"}
    )
    assert elsewhere["Location"].startswith(f"/events/{event.slug}/retro/#entry-")


@pytest.mark.parametrize("page", ["0", "abc", "999999"])
def test_odd_page_numbers_still_draw_a_page(viewer_client, event, operator, page):
    many_entries(event, operator, 5)
    assert viewer_client.get(page_url(event, page=page)).status_code == 200


def test_the_finalize_box_counts_undecided_learnings_as_the_loop_does(event, lead, operator):
    entries = [e for e in many_entries(event, operator, 30) if e.kind == "learning"]
    meeting.decide_no_change(learning=entries[0], actor=lead, reason="Known quirk")
    meeting.promote_learning_to_action(
        learning=entries[1], actor=lead, owner=operator, due=event.end.date()
    )
    shown, count = meeting_page.undecided(event, 3)
    expected = loop.undecided_learnings(event)
    assert count == len(expected) == len(entries) - 2
    assert [e.pk for e in shown] == [e.pk for e in expected[:3]]
