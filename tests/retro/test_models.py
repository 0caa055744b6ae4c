"""The signal-path rules, enforced in model validation shared by admin, forms, API and import."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from retro import services
from retro.models import AuditLog, Event, Feed, Session


def test_feed_derived_from_itself_is_refused(event, lead):
    feed = event.feeds.get(slug="kn1-program")
    with pytest.raises(ValidationError) as err:
        services.update_feed(feed=feed, actor=lead, derived_from=[feed])
    assert "itself" in err.value.message_dict["derived_from"][0]
    assert list(feed.derived_from.values_list("slug", flat=True)) == ["kn1-contrib-a"]


def test_feed_loop_through_other_feeds_is_refused(event, lead):
    contrib = event.feeds.get(slug="kn1-contrib-a")
    asl = event.feeds.get(slug="kn1-asl")  # asl <- program <- contrib
    with pytest.raises(ValidationError) as err:
        services.update_feed(feed=contrib, actor=lead, derived_from=[asl])
    assert "itself" in err.value.message_dict["derived_from"][0]
    assert not contrib.derived_from.exists()


def test_a_loop_through_one_of_several_upstreams_is_refused(event, lead):
    program = event.feeds.get(slug="kn1-program")
    spare = Feed.objects.create(event=event, slug="kn1-spare", name="Spare", stage="contribution")
    services.update_feed(feed=spare, actor=lead, derived_from=[program])
    with pytest.raises(ValidationError) as err:
        services.update_feed(
            feed=program, actor=lead, derived_from=[event.feeds.get(slug="kn1-contrib-a"), spare]
        )
    assert "itself" in err.value.message_dict["derived_from"][0]


def test_a_feed_derives_from_two_upstream_paths_with_one_audit_line(event, lead):
    contrib_a = event.feeds.get(slug="kn1-contrib-a")
    contrib_b = Feed.objects.create(
        event=event, slug="kn1-contrib-b", name="KN1 contribution B", stage="contribution"
    )
    program = event.feeds.get(slug="kn1-program")
    services.update_feed(feed=program, actor=lead, derived_from=[contrib_a, contrib_b])
    assert sorted(program.derived_from.values_list("slug", flat=True)) == [
        "kn1-contrib-a",
        "kn1-contrib-b",
    ]
    log = AuditLog.objects.get(action="feed.update", object_id=str(program.pk))
    assert log.changes == {
        "derived_from": ["KN1 contribution A", ["KN1 contribution A", "KN1 contribution B"]]
    }
    services.update_feed(feed=program, actor=lead, derived_from=[contrib_b, contrib_a])
    assert AuditLog.objects.filter(action="feed.update").count() == 1  # same set: no change


def test_feed_of_one_event_cannot_use_another_events_session(event, other_event):
    session = Session.objects.create(
        event=other_event,
        title="Other talk",
        slug="t1",
        day=other_event.start.date(),
        scheduled_start=other_event.start,
        scheduled_end=other_event.start + timedelta(hours=1),
    )
    feed = event.feeds.get(slug="kn1-asl")
    feed.session = session
    with pytest.raises(ValidationError) as err:
        feed.full_clean()
    assert "another event" in err.value.message_dict["session"][0]


def test_feed_upstream_from_another_event_is_refused(event, other_event, lead):
    foreign = Feed.objects.create(event=other_event, slug="x", name="X", stage="contribution")
    feed = event.feeds.get(slug="kn1-asl")
    with pytest.raises(ValidationError) as err:
        services.update_feed(feed=feed, actor=lead, derived_from=[foreign])
    assert "another event" in err.value.message_dict["derived_from"][0]
    with pytest.raises(ValidationError) as err:
        services.create_feed(
            event=event, actor=lead, slug="y", name="Y", stage="handoff", derived_from=[foreign]
        )
    assert "another event" in err.value.message_dict["derived_from"][0]
    assert not event.feeds.filter(slug="y").exists()


def test_feed_slug_clash_in_one_event_is_refused(event):
    clash = Feed(event=event, slug="kn1-program", name="dup", stage="distribution")
    with pytest.raises(ValidationError) as err:
        clash.full_clean()
    assert "__all__" in err.value.message_dict
    with pytest.raises(IntegrityError):
        Feed.objects.create(event=event, slug="kn1-program", name="dup", stage="distribution")


def test_same_feed_slug_in_two_events_is_fine(event, other_event):
    feed = Feed(event=other_event, slug="kn1-program", name="fine", stage="distribution")
    feed.full_clean()


def test_session_ending_before_it_starts_is_refused(event):
    s = event.sessions.first()
    s.scheduled_end = s.scheduled_start - timedelta(minutes=1)
    with pytest.raises(ValidationError) as err:
        s.full_clean()
    assert "scheduled_end" in err.value.message_dict


def test_event_with_unknown_time_zone_is_refused(event):
    event.time_zone = "Mars/Olympus_Mons"
    with pytest.raises(ValidationError) as err:
        event.full_clean()
    assert "time_zone" in err.value.message_dict


def test_event_must_end_after_start(event):
    event.end = event.start
    with pytest.raises(ValidationError):
        event.full_clean()


def test_source_ids_must_be_a_list_of_identifiers(event):
    feed = event.feeds.get(slug="kn1-program")
    feed.source_ids = ["ok", ""]
    with pytest.raises(ValidationError) as err:
        feed.full_clean()
    assert "source_ids" in err.value.message_dict


def test_event_slug_is_unique(event):
    with pytest.raises(IntegrityError):
        Event.objects.create(name="dup", slug=event.slug, start=event.start, end=event.end)
