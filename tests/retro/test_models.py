"""The signal-path rules, enforced in model validation shared by admin, forms, API and import."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from retro.models import Event, Feed, Session


def test_feed_derived_from_itself_is_refused(event):
    feed = event.feeds.get(slug="kn1-program")
    feed.derived_from = feed
    with pytest.raises(ValidationError) as err:
        feed.full_clean()
    assert "derived_from" in err.value.message_dict


def test_feed_loop_through_other_feeds_is_refused(event):
    contrib = event.feeds.get(slug="kn1-contrib-a")
    contrib.derived_from = event.feeds.get(slug="kn1-asl")  # asl <- program <- contrib
    with pytest.raises(ValidationError) as err:
        contrib.full_clean()
    assert "itself" in err.value.message_dict["derived_from"][0]


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


def test_feed_upstream_from_another_event_is_refused(event, other_event):
    foreign = Feed.objects.create(event=other_event, slug="x", name="X", stage="contribution")
    feed = event.feeds.get(slug="kn1-asl")
    feed.derived_from = foreign
    with pytest.raises(ValidationError) as err:
        feed.full_clean()
    assert "another event" in err.value.message_dict["derived_from"][0]


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
