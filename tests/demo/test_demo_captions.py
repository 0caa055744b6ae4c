"""The demo's accessibility telemetry: caption, subtitle and audio-translation feeds report
through the generic format, and the German subtitles of keynote 1 drop out for five minutes."""

import random
from datetime import timedelta

from demo.signal_path import SUBTITLE_LANGUAGES, TRANSLATION_LANGUAGES, load_signal_path
from demo.telemetry import accessibility_payloads
from integrations import coverage, services
from integrations.models import Anomaly, FeedTelemetryStatus


def test_the_demo_loses_german_subtitles_for_five_minutes_during_keynote_1(db):
    event = load_signal_path()
    kn1 = event.sessions.get(slug="kn1")
    for number, (fmt, _, body, options) in enumerate(
        accessibility_payloads("kn1", kn1, random.Random(4))
    ):  # as load_telemetry ingests them (the rest of the demo's telemetry is not needed here)
        batch, _ = services.ingest_batch(
            event=event, feed=None, fmt=fmt, body=body, options=options, request_id=f"t{number}"
        )
        services.process_batch(batch_id=batch.pk)
        batch.refresh_from_db()
        assert (batch.state, batch.unmapped, batch.rejected_count) == ("done", {}, 0)

    accessible = event.feeds.filter(
        session=kn1, kind__in=["captions", "subtitles", "audio_translation"]
    )
    assert accessible.count() == 1 + len(SUBTITLE_LANGUAGES) + len(TRANSLATION_LANGUAGES)
    reporting = FeedTelemetryStatus.objects.filter(
        feed__in=accessible, last_sample_at__isnull=False
    )
    assert reporting.count() == accessible.count()

    (gone,) = Anomaly.objects.filter(event=event)
    assert (gone.kind, gone.feed.slug) == ("captions_missing", "kn1-subs-de")
    assert gone.start == kn1.scheduled_start + timedelta(minutes=52)
    assert gone.end == kn1.scheduled_start + timedelta(minutes=57)

    grid = coverage.caption_coverage(event)
    (row,) = grid["rows"]
    assert row["session"] == kn1
    cells = dict(zip(grid["languages"], row["cells"], strict=True))
    assert grid["languages"][0] == "en" and len(cells) == 1 + len(SUBTITLE_LANGUAGES)
    assert (cells["de"].present, cells["de"].on_air, cells["de"].state) == (115, 120, "partial")
    assert {lang for lang, cell in cells.items() if cell.state != "full"} == {"de"}
    assert grid["without_data"] > 0  # the other sessions' caption feeds sent nothing
