"""The feeds API: filters on the list, and derived_from as a list of upstream slugs."""

import pytest

from retro.models import Feed

URL = "/api/v1/events/summit/feeds/"


@pytest.fixture
def contrib_b(event):
    return Feed.objects.create(
        event=event,
        session=event.sessions.get(slug="kn1"),
        slug="kn1-contrib-b",
        name="KN1 contribution B",
        stage="contribution",
        transport="srt",
        path="B",
    )


def slugs(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [f["slug"] for f in response.json()["results"]]


def test_the_feed_list_filters_by_stage_session_kind_path_and_words(viewer_api, event, contrib_b):
    Feed.objects.create(event=event, slug="lobby-screen", name="Lobby screen", stage="handoff")
    assert slugs(viewer_api.get(URL, {"stage": "contribution"})) == [
        "kn1-contrib-a",
        "kn1-contrib-b",
    ]
    assert slugs(viewer_api.get(URL, {"session": "kn1", "stage": "distribution"})) == [
        "kn1-asl",
        "kn1-program",
    ]
    assert slugs(viewer_api.get(URL, {"kind": "sign_language"})) == ["kn1-asl"]
    assert slugs(viewer_api.get(URL, {"path": "B"})) == ["kn1-contrib-b"]
    assert slugs(viewer_api.get(URL, {"q": "KN1 contrib-b"})) == ["kn1-contrib-b"]
    assert slugs(viewer_api.get(URL, {"q": "LOBBY"})) == ["lobby-screen"]
    assert len(slugs(viewer_api.get(URL))) == 5


@pytest.mark.parametrize(
    ("param", "value", "says"),
    [
        ("stage", "first-mile", "Use one of contribution"),
        ("kind", "hologram", "Use one of program"),
        ("path", "C", "Use one of A, B, none"),
        ("session", "kn9", "No session 'kn9' in this event."),
    ],
)
def test_a_bad_feed_filter_is_a_400_naming_the_parameter(viewer_api, event, param, value, says):
    response = viewer_api.get(URL, {param: value})
    assert response.status_code == 400
    assert says in response.json()[param][0]


def test_derived_from_is_a_list_and_a_lead_sets_two_upstream_paths(lead_api, event, contrib_b):
    url = f"{URL}kn1-program/"
    response = lead_api.patch(
        url, {"derived_from": ["kn1-contrib-a", "kn1-contrib-b"]}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert sorted(response.json()["derived_from"]) == ["kn1-contrib-a", "kn1-contrib-b"]
    program = event.feeds.get(slug="kn1-program")
    assert program.derived_from.count() == 2
    assert event.audit_log.filter(action="feed.update", object_id=str(program.pk)).count() == 1
    single = lead_api.patch(url, {"derived_from": "kn1-contrib-b"}, format="json")
    assert single.json()["derived_from"] == ["kn1-contrib-b"]  # one slug alone still works
    cleared = lead_api.patch(url, {"derived_from": None}, format="json")
    assert cleared.json()["derived_from"] == []
    assert not program.derived_from.exists()


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"derived_from": ["kn1-contrib-a", "kn1-program"]}, "itself"),
        ({"derived_from": ["kn1-contrib-a", "kn1-asl"]}, "itself"),  # asl derives from program
        ({"derived_from": ["kn1-contrib-a", "x"]}, "No feed 'x' in this event."),
        ({"derived_from": [1, 2]}, "a list of feed slugs"),
        ({"derived_from": {"slug": "kn1-contrib-a"}}, "a list of feed slugs"),
    ],
)
def test_a_bad_upstream_list_is_a_400_and_changes_nothing(lead_api, event, body, says):
    response = lead_api.patch(f"{URL}kn1-program/", body, format="json")
    assert response.status_code == 400
    assert says in response.json()["derived_from"][0]
    program = event.feeds.get(slug="kn1-program")
    assert list(program.derived_from.values_list("slug", flat=True)) == ["kn1-contrib-a"]


def test_an_upstream_of_another_event_is_a_400(lead_api, event, other_event):
    Feed.objects.create(event=other_event, slug="other-contrib", name="X", stage="contribution")
    response = lead_api.patch(
        f"{URL}kn1-program/", {"derived_from": ["kn1-contrib-a", "other-contrib"]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["derived_from"] == ["No feed 'other-contrib' in this event."]
