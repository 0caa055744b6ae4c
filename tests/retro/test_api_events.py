"""Event API basics."""


def test_event_list_shows_only_my_events(viewer_api, event, other_event):
    response = viewer_api.get("/api/v1/events/")
    assert response.status_code == 200
    slugs = [e["slug"] for e in response.json()["results"]]
    assert slugs == [event.slug]


def test_event_detail_fields(viewer_api, event):
    data = viewer_api.get(f"/api/v1/events/{event.slug}/").json()
    assert set(data) == {"slug", "name", "venue", "time_zone", "start", "end", "state", "follows"}
    assert data["time_zone"] == "America/Los_Angeles"
    assert data["follows"] is None


def test_outsider_gets_404_and_anonymous_401(outsider_api, anon_api, event):
    assert outsider_api.get(f"/api/v1/events/{event.slug}/").status_code == 404
    assert anon_api.get(f"/api/v1/events/{event.slug}/").status_code == 401


def test_schema_is_served_without_cdn(viewer_client):
    schema = viewer_client.get("/api/schema/")
    assert schema.status_code == 200
    docs = viewer_client.get("/api/docs/").content.decode()
    assert "cdn" not in docs.lower() and "/static/" in docs
