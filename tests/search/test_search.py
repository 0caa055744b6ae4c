"""Search covers runbook titles and slugs, feed slugs and names, session titles, tags and
entry text; it pages through every hit; snippets are plain text; every hit opens a page."""

from datetime import timedelta

from retro import services as retro_services
from runbooks import services as runbook_services

RUNBOOK_BODY = """# Steps

- [ ] Confirm the **partner** platform has the `HLS` ladder
- [ ] Check the [player](https://example.test/player) plays the stream
"""


def _entry(event, author, body, **fields):
    entry, _ = retro_services.log_entry(
        event=event,
        author=author,
        kind=fields.pop("kind", "learning"),
        body=body,
        occurred_at=fields.pop("occurred_at", event.start + timedelta(hours=3)),
        **fields,
    )
    return entry


def _runbook(lead, title="Handoff to the OTT partner", slug="ott-partner-handoff"):
    return runbook_services.create_runbook(
        title=title, slug=slug, stage="handoff", body=RUNBOOK_BODY, author=lead
    )


def _hits(client, **params):
    response = client.get("/api/v1/search/", params)
    assert response.status_code == 200, response.content
    return response.json()


def test_a_word_only_in_a_runbook_title_finds_the_runbook(search_mode, viewer_api, lead):
    _runbook(lead)
    found = _hits(viewer_api, q="OTT")["results"]
    assert [(h["type"], h["slug"]) for h in found] == [("runbook", "ott-partner-handoff")]
    by_slug = _hits(viewer_api, q="ott-partner-handoff")["results"]
    assert [h["slug"] for h in by_slug if h["type"] == "runbook"] == ["ott-partner-handoff"]


def test_feeds_are_found_by_slug_and_name_and_open_their_page(
    search_mode, viewer_api, viewer_client, event
):
    by_slug = _hits(viewer_api, q="kn1-asl")["results"]
    feeds = [h for h in by_slug if h["type"] == "feed"]
    assert [h["slug"] for h in feeds] == ["kn1-asl"]
    assert feeds[0]["url"] == f"/events/{event.slug}/telemetry/kn1-asl/"
    by_name = _hits(viewer_api, q="contribution A", type="feed")["results"]
    assert [h["slug"] for h in by_name] == ["kn1-contrib-a"]
    assert "KN1 contribution A" in by_name[0]["title"]
    assert viewer_client.get(feeds[0]["url"]).status_code == 200


def test_sessions_are_found_by_title(search_mode, viewer_api, viewer_client, event):
    found = _hits(viewer_api, q="opening keynote")["results"]
    sessions = [h for h in found if h["type"] == "session"]
    assert [h["slug"] for h in sessions] == ["kn1"]
    assert sessions[0]["url"] == f"/events/{event.slug}/board/?session=kn1"
    assert viewer_client.get(sessions[0]["url"]).status_code == 200


def test_entries_are_found_by_their_tags(search_mode, viewer_api, event, lead):
    tagged = _entry(event, lead, "Late start of the second language", tags=["subtitles"])
    _entry(event, lead, "Nothing to see here", tags=["asl"])
    found = _hits(viewer_api, q="subtitles", type="entry")
    assert [h["id"] for h in found["results"]] == [str(tagged.pk)]
    assert found["results"][0]["tags"] == ["subtitles"]


def test_outsiders_find_no_feed_session_or_entry_of_the_event(search_mode, outsider_api, event):
    assert _hits(outsider_api, q="kn1")["count"] == 0
    assert _hits(outsider_api, q="opening keynote")["count"] == 0


def test_pages_walk_through_every_hit_once(search_mode, viewer_api, viewer_client, event, lead):
    made = {
        str(_entry(event, lead, f"Encoder restart number {i} on the venue rack").pk)
        for i in range(70)
    }
    first = _hits(viewer_api, q="encoder restart")
    assert first["count"] == 70 and first["pages"] == 3
    seen, page = [], 1
    while True:
        found = _hits(viewer_api, q="encoder restart", page=page)
        seen += [h["id"] for h in found["results"]]
        if not found["next"]:
            break
        assert f"page={page + 1}" in found["next"]
        page += 1
    assert page == 3
    assert len(seen) == len(set(seen)) == 70
    assert set(seen) == made
    html = viewer_client.get("/search/", {"q": "encoder restart", "page": 2}).content.decode()
    assert "70 results" in html and "page 2 of 3" in html
    assert 'rel="next"' in html and 'rel="prev"' in html
    assert viewer_client.get("/search/", {"q": "encoder", "page": "x"}).status_code == 400


def test_snippets_are_plain_text_not_markdown(search_mode, viewer_api, event, lead):
    _runbook(lead)
    _entry(
        event,
        lead,
        "## Lesson\n- [ ] **Partner** ladder had *no* `1080p` rung, see [notes](https://x.test)",
    )
    found = _hits(viewer_api, q="partner ladder")["results"]
    assert {h["type"] for h in found} == {"runbook", "entry"}
    for hit in found:
        text = hit["snippet"].replace("<mark>", "").replace("</mark>", "")
        for syntax in ("**", "`", "- [ ]", "## ", "](", "https://"):
            assert syntax not in text, (syntax, hit["snippet"])
        assert "<mark>" in hit["snippet"]
    entry = next(h for h in found if h["type"] == "entry")
    assert "1080p" in entry["snippet"] and "notes" in entry["snippet"]


def test_every_link_of_a_broad_search_opens_a_page(
    search_mode, viewer_api, viewer_client, event, lead
):
    runbook = _runbook(lead, title="Keynote handoff", slug="keynote-handoff")
    runbook_services.save_revision(
        runbook=runbook,
        author=lead,
        body=RUNBOOK_BODY + "- [ ] Tell the keynote producer\n",
        base_revision=1,
    )
    for i in range(40):
        _entry(event, lead, f"Keynote note {i}", tags=["keynote"] if i % 2 else [])
    urls, page = [], 1
    while page:
        found = _hits(viewer_api, q="keynote", all_revisions="1", page=page)
        urls += [h["url"] for h in found["results"]]
        page = page + 1 if found["next"] else 0
    assert len(urls) == found["count"] >= 40 + 1 + 1  # entries, the runbook, the session
    for url in urls:
        assert viewer_client.get(url).status_code == 200, url


def test_a_short_entry_is_its_own_snippet(search_mode, viewer_api, event, lead):
    _entry(event, lead, "Routine learning about the venue rack 12")
    hit = _hits(viewer_api, q="learning")["results"][0]
    assert hit["snippet"] == "Routine <mark>learning</mark> about the venue rack 12"


def test_past_the_count_cap_pages_still_reach_every_hit(
    search_mode, monkeypatch, viewer_api, event, lead
):
    from search import selectors

    monkeypatch.setattr(selectors, "COUNT_CAP", 40)
    made = {str(_entry(event, lead, f"Decoder reboot {i}").pk) for i in range(70)}
    first = _hits(viewer_api, q="decoder reboot")
    seen, page = [], 1
    while True:
        found = _hits(viewer_api, q="decoder reboot", page=page)
        seen += [h["id"] for h in found["results"]]
        if not found["next"]:
            break
        page += 1
    assert set(seen) == made and len(seen) == 70
    assert first["count"] == 40 and first["more"] is True  # "40+"
    assert found["more"] is False  # the last page is not full
