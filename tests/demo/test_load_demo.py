"""The demo event loader: realistic shape, and a second run changes nothing."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from integrations import onair
from retro.models import Event, Feed, Membership, Session


def counts():
    return (
        Event.objects.count(),
        Session.objects.count(),
        Feed.objects.count(),
        Membership.objects.count(),
        get_user_model().objects.count(),
    )


def check_shape():
    event = Event.objects.get(slug="demo")
    # Live on the day it is loaded, whatever that day is: today is day three of four.
    assert event.state == "live" and event.start < timezone.now() < event.end
    assert event.sessions.filter(scheduled_end__lt=timezone.now()).exists()
    assert event.sessions.filter(scheduled_start__gt=timezone.now()).exists()
    sessions = event.sessions.all()
    assert sessions.filter(kind="keynote").count() == 5
    assert sessions.filter(kind="innovation_talk").count() == 17
    assert len({s.day for s in sessions}) == 4
    kn1 = event.feeds.filter(session__slug="kn1")
    assert kn1.filter(kind="subtitles").count() == 15
    assert kn1.filter(kind="audio_translation").count() == 5
    assert kn1.filter(kind="simulcast").count() == 3
    assert kn1.filter(stage="contribution", path__in=["A", "B"]).count() == 2
    assert event.feeds.filter(kind="venue_return").exists()
    assert event.feeds.filter(kind="hotel_alternate").exists()
    # every subtitle traces upstream, through transmission, to both contribution paths
    stack, upstream = [kn1.filter(kind="subtitles").first()], []
    while stack:
        parents = list(stack.pop().derived_from.all())
        upstream += parents
        stack += parents
    assert {f.slug for f in upstream if f.stage == "contribution"} == {
        "kn1-contrib-a",
        "kn1-contrib-b",
    }
    assert sorted(kn1.get(stage="transmission").derived_from.values_list("path", flat=True)) == [
        "A",
        "B",
    ]
    hotel = event.feeds.get(kind="hotel_alternate")
    assert sorted(hotel.derived_from.values_list("slug", flat=True)) == [
        "hotel-playout",
        "kn1-program",
    ]
    roles = dict(Membership.objects.filter(event=event).values_list("user__username", "role"))
    assert {k: roles[k] for k in ("lead", "operator", "viewer")} == {
        "lead": "lead",
        "operator": "operator",
        "viewer": "viewer",
    }
    assert get_user_model().objects.get(username="admin").is_staff
    cities = {f.origin.city for f in event.feeds.exclude(origin=None).select_related("origin")}
    assert {"Las Vegas", "New York"} <= cities


def check_impact():
    """The event page's tables read as an operator expects: viewer impact on outputs only
    (the venue return's own loss), the standby and briefly failed paths as redundancy lost."""
    event = Event.objects.get(slug="demo")
    stages = dict(event.feeds.values_list("slug", "stage"))
    viewer = {row["feed"]: row["minutes"] for row in onair.viewer_impact(event)}
    assert viewer["asl-venue-return"] == 1.5
    assert {stages[slug] for slug in viewer} <= {"distribution", "handoff"}
    assert "kn1-program" not in viewer  # pipeline 1 and path B were down, A and pipeline 0 ran
    lost = {row["feed"]: row for row in onair.redundancy_lost(event)}
    assert lost["kn2-contrib-b"]["minutes"] == 6.0
    assert lost["kn2-contrib-b"]["covered_by"] == ["kn2-contrib-a"]
    assert lost["kn1-contrib-b"]["covered_by"] == ["kn1-contrib-a"]
    assert lost["kn1-program"]["covered_by"] == ["pipeline 0"]
    failovers = [(s.feed, s.previous, s.to) for s in onair.failovers(event)]
    assert failovers == [
        ("kn2-tx", "kn2-contrib-a", "kn2-contrib-b"),
        ("kn2-tx", "kn2-contrib-b", "kn2-contrib-a"),
    ]


def test_demo_shape_idempotence_repair_and_login(client, db, settings):
    """One test, two loads: the demo is slow enough that every extra load counts."""
    call_command("load_demo", verbosity=0)
    check_shape()
    check_impact()
    first = counts()
    event = Event.objects.get(slug="demo")
    event.feeds.filter(slug="kn1-asl").update(name="edited by someone")
    call_command("load_demo", verbosity=0)
    assert counts() == first
    assert event.feeds.get(slug="kn1-asl").name != "edited by someone"
    assert client.login(username="operator", password=settings.TALLY_DEMO_PASSWORD)
    response = client.get("/")
    assert response.status_code == 200
    assert b"Cloud Summit" in response.content


def test_a_demo_kept_from_an_earlier_day_says_how_to_get_a_live_one(db):
    from demo import signal_path as demo

    ended = timezone.now() - timedelta(days=3)
    event = Event.objects.create(
        name="Cloud Summit (demo)", slug="demo", start=ended - timedelta(days=4), end=ended
    )
    assert f"ended on {ended:%Y-%m-%d}" in demo.stale_notice()
    Event.objects.filter(pk=event.pk).update(end=timezone.now() + timedelta(days=1))
    assert demo.stale_notice() is None
