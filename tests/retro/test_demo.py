"""The demo event loader: realistic shape, and a second run changes nothing."""

from django.contrib.auth import get_user_model
from django.core.management import call_command

from retro.models import Event, Feed, Membership, Session


def counts():
    return (
        Event.objects.count(),
        Session.objects.count(),
        Feed.objects.count(),
        Membership.objects.count(),
        get_user_model().objects.count(),
    )


def test_demo_has_the_promised_shape(db):
    call_command("load_demo", verbosity=0)
    event = Event.objects.get(slug="demo")
    sessions = event.sessions.all()
    assert sessions.filter(kind="keynote").count() == 5
    assert sessions.filter(kind="innovation_talk").count() == 17
    assert len({s.day for s in sessions}) == 4
    kn1 = event.feeds.filter(session__slug="kn1")
    assert kn1.filter(kind="subtitles").count() == 15
    assert kn1.filter(kind="audio_translation").count() == 5
    assert kn1.filter(kind="simulcast").count() == 3
    assert kn1.filter(stage="contribution", path__in=["A", "B"]).count() == 2
    assert (
        event.feeds.filter(kind="venue_return", language="").exists()
        or event.feeds.filter(kind="venue_return").exists()
    )
    assert event.feeds.filter(kind="hotel_alternate").exists()
    # every subtitle traces upstream to a contribution feed
    subtitle = kn1.filter(kind="subtitles").first()
    chain = []
    feed = subtitle
    while feed.derived_from_id:
        feed = feed.derived_from
        chain.append(feed.stage)
    assert chain[-1] == "contribution" and "transmission" in chain
    roles = dict(Membership.objects.filter(event=event).values_list("user__username", "role"))
    assert {k: roles[k] for k in ("lead", "operator", "viewer")} == {
        "lead": "lead", "operator": "operator", "viewer": "viewer"}
    assert get_user_model().objects.get(username="admin").is_staff
    sites = {s.origin.city for s in event.feeds.exclude(origin=None).select_related("origin")}
    assert {"Las Vegas", "New York"} <= sites


def test_demo_loaded_twice_gives_the_same_counts(db):
    call_command("load_demo", verbosity=0)
    first = counts()
    call_command("load_demo", verbosity=0)
    assert counts() == first


def test_demo_reload_after_someone_modified_it_duplicates_nothing(db):
    call_command("load_demo", verbosity=0)
    first = counts()
    event = Event.objects.get(slug="demo")
    event.name = "Renamed by a lead"
    event.save()
    event.feeds.filter(slug="kn1-asl").update(name="edited")
    call_command("load_demo", verbosity=0)
    assert counts() == first
    assert Event.objects.get(slug="demo").feeds.get(slug="kn1-asl").name != "edited"


def test_demo_login_works_with_documented_password(client, db, settings):
    call_command("load_demo", verbosity=0)
    assert client.login(username="operator", password=settings.TALLY_DEMO_PASSWORD)
    response = client.get("/")
    assert response.status_code == 200
    assert b"Cloud Summit" in response.content
