"""Accessibility feeds are telemetry too: caption presence and latency through the generic
format, `captions_missing` and `caption_lag` anomalies, coverage per session and language."""

import json
from datetime import UTC, timedelta

import pytest

from integrations import anomalies, coverage
from integrations.models import Anomaly
from retro.models import Feed
from tests.conftest import KEYNOTE_START

from .telemetry_factory import ingest

pytestmark = pytest.mark.django_db

STEP = 10  # seconds between a caption service's reports


@pytest.fixture
def caption_feeds(event):
    """English captions and German subtitles of keynote 1 (on air 2 h from KEYNOTE_START)."""
    program = event.feeds.get(slug="kn1-program")
    feeds = {}
    for slug, kind, lang in (("captions-en", "captions", "en"), ("subs-de", "subtitles", "de")):
        feed = Feed.objects.create(
            event=event,
            session=program.session,
            slug=f"kn1-{slug}",
            name=f"KN1 {kind} {lang}",
            kind=kind,
            stage="distribution",
            language=lang,
            transport="other",
            source_ids=[f"{kind}:kn1:{lang}"],
        )
        feeds[lang] = feed
    return feeds


def report(start, seconds, *, missing=lambda t: False, lag=lambda t: 3.0, langs=("en", "de")):
    """A caption service's generic-format report: presence and latency per language."""
    samples = []
    for t in range(0, seconds, STEP):
        stamp = (start + timedelta(seconds=t)).astimezone(UTC).isoformat()
        for lang in langs:
            source = f"{'captions' if lang == 'en' else 'subtitles'}:kn1:{lang}"
            gone = lang == "de" and missing(t)
            samples.append(
                {
                    "source": source,
                    "metric": "captions.present",
                    "time": stamp,
                    "value": 0 if gone else 1,
                }
            )
            if not gone:
                samples.append(
                    {"source": source, "metric": "captions.latency", "time": stamp, "value": lag(t)}
                )
    return json.dumps({"samples": samples}).encode()


def found(feed, kind=None):
    rows = Anomaly.objects.filter(feed=feed)
    return list(rows.filter(kind=kind) if kind else rows)


def test_subtitles_missing_for_three_minutes_on_air_is_one_captions_missing_anomaly(
    event, caption_feeds
):
    start = KEYNOTE_START + timedelta(minutes=30)
    batch = ingest(event, "generic-json", report(start, 600, missing=lambda t: 200 <= t < 380))

    assert batch.unmapped == {}
    (gone,) = found(caption_feeds["de"])
    assert gone.kind == "captions_missing"
    assert gone.start == start + timedelta(seconds=190)  # the first empty report's interval
    assert gone.end == start + timedelta(seconds=370)
    assert gone.detail["language"] == "de"
    assert found(caption_feeds["en"]) == []


def test_a_pause_shorter_than_the_threshold_is_not_missing_unless_the_event_says_so(
    event, caption_feeds, lead
):
    start = KEYNOTE_START + timedelta(minutes=30)
    pause = report(start, 300, missing=lambda t: 100 <= t < 120)  # 20 s without subtitles
    ingest(event, "generic-json", pause)
    assert found(caption_feeds["de"]) == []

    anomalies.set_thresholds(event=event, actor=lead, values={"captions_missing_seconds": 15})
    later = start + timedelta(minutes=5)
    ingest(event, "generic-json", report(later, 300, missing=lambda t: 100 <= t < 120))
    (gone,) = found(caption_feeds["de"])
    assert gone.start == later + timedelta(seconds=90)


def test_an_outage_posted_in_ten_second_batches_is_still_found_once(event, caption_feeds):
    start = KEYNOTE_START + timedelta(minutes=10)
    for t in range(0, 180, STEP):  # a collector posting every report as it comes
        gone = 40 <= t < 120
        ingest(
            event,
            "generic-json",
            report(start + timedelta(seconds=t), STEP, missing=lambda _, g=gone: g),
        )

    (anomaly,) = found(caption_feeds["de"])
    assert anomaly.kind == "captions_missing"
    assert (anomaly.start - start, anomaly.end - start) == (
        timedelta(seconds=30),
        timedelta(seconds=110),
    )


def test_missing_captions_off_air_are_not_an_anomaly(event, caption_feeds):
    before = KEYNOTE_START - timedelta(minutes=20)  # ends 10 min before air
    ingest(event, "generic-json", report(before, 600, missing=lambda t: True))

    assert found(caption_feeds["de"]) == []


def test_captions_trailing_too_far_are_caption_lag_with_the_event_threshold(
    event, caption_feeds, lead
):
    start = KEYNOTE_START + timedelta(minutes=40)
    ingest(event, "generic-json", report(start, 300, lag=lambda t: 14.0 if 60 <= t < 120 else 3.0))

    lagging = found(caption_feeds["de"], "caption_lag")
    assert [(a.start - start, a.end - start, a.peak) for a in lagging] == [
        (timedelta(seconds=50), timedelta(seconds=110), 14.0)
    ]
    assert len(found(caption_feeds["en"], "caption_lag")) == 1
    assert Anomaly.objects.get(feed=caption_feeds["de"]).get_kind_display() == "Caption lag"

    anomalies.set_thresholds(event=event, actor=lead, values={"caption_lag_seconds": 20})
    later = start + timedelta(minutes=10)
    ingest(event, "generic-json", report(later, 300, lag=lambda t: 14.0))
    assert len(found(caption_feeds["de"], "caption_lag")) == 1  # nothing new above 20 s


def test_coverage_counts_minutes_on_air_with_captions_per_session_and_language(
    event, caption_feeds, viewer_client
):
    # the whole keynote (2 h), German subtitles gone from minute 52 to 57
    ingest(
        event,
        "generic-json",
        report(KEYNOTE_START + timedelta(seconds=STEP), 7200, missing=lambda t: 3110 <= t < 3410),
    )

    grid = coverage.caption_coverage(event, now=KEYNOTE_START + timedelta(hours=3))
    assert grid["languages"] == ["en", "de"]
    (row,) = grid["rows"]
    assert row["session"].slug == "kn1"
    en, de = row["cells"]
    assert (en.present, en.on_air, en.state) == (120, 120, "full")
    assert (de.present, de.on_air, de.missing, de.state) == (115, 120, 5, "partial")

    page = viewer_client.get(f"/events/{event.slug}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Caption coverage" in html
    assert "115/120" in html and "missing 5" in html
    assert "120/120" in html


def test_coverage_of_a_session_on_air_counts_only_the_minutes_so_far(event, caption_feeds):
    ingest(event, "generic-json", report(KEYNOTE_START + timedelta(seconds=STEP), 1800))

    grid = coverage.caption_coverage(event, now=KEYNOTE_START + timedelta(minutes=30))
    en, de = grid["rows"][0]["cells"]
    assert (en.present, en.on_air) == (30, 30)
    assert (de.present, de.on_air) == (30, 30)


def test_the_feed_and_anomalies_pages_name_the_kind(event, caption_feeds, viewer_client):
    start = KEYNOTE_START + timedelta(minutes=30)
    ingest(event, "generic-json", report(start, 600, missing=lambda t: 200 <= t < 380))

    feed_page = viewer_client.get(
        f"/events/{event.slug}/telemetry/kn1-subs-de/",
        {"start": start.isoformat(), "end": (start + timedelta(minutes=10)).isoformat()},
    )
    assert feed_page.status_code == 200
    assert "Captions missing" in feed_page.content.decode()
    assert "language de" in feed_page.content.decode()
    listing = viewer_client.get(f"/events/{event.slug}/anomalies/")
    assert "Captions missing" in listing.content.decode()


def test_an_outage_split_over_batches_arriving_out_of_order_is_one_anomaly(event, caption_feeds):
    start = KEYNOTE_START + timedelta(minutes=20)
    later = start + timedelta(seconds=60)
    # each half is 20 s without subtitles, under the 30 s threshold on its own
    ingest(event, "generic-json", report(later, 60, missing=lambda t: t < 20))
    ingest(event, "generic-json", report(start, 60, missing=lambda t: t >= 40))

    (gone,) = found(caption_feeds["de"])
    assert (gone.start - start, gone.end - start) == (timedelta(seconds=30), timedelta(seconds=70))
