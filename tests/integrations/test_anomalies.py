"""Anomaly detection as data arrives, review state, downstream impact, thresholds, the API."""

from datetime import timedelta

import pytest

from integrations import anomalies, onair, review
from integrations.models import Anomaly
from retro import services as retro_services
from retro.models import Feed

from .telemetry_factory import eventbridge, ingest, srt_lines

pytestmark = pytest.mark.django_db


def on_air(event):
    return event.sessions.get(slug="kn1").scheduled_start


def burst(first, last, count=30):
    return lambda t: count if first <= t < last else 0


def test_a_packet_loss_burst_becomes_one_anomaly_with_its_window_and_peak(event):
    feed = event.feeds.get(slug="kn1-contrib-a")
    start = on_air(event) + timedelta(minutes=10)
    ingest(event, "srt-json", srt_lines(start, 120, lost=burst(40, 50)), feed=feed)

    found = list(Anomaly.objects.filter(feed=feed))
    assert [a.kind for a in found] == ["packet_loss"]
    anomaly = found[0]
    assert anomaly.start == start + timedelta(seconds=39)
    assert anomaly.end == start + timedelta(seconds=49)
    assert anomaly.peak == pytest.approx(100 * 30 / 180, rel=1e-3)
    assert anomaly.source == "detector"


def test_reingesting_a_batch_creates_no_duplicate_anomaly(event):
    feed = event.feeds.get(slug="kn1-contrib-a")
    body = srt_lines(on_air(event), 120, lost=burst(40, 50))
    ingest(event, "srt-json", body, feed=feed)
    ingest(event, "srt-json", body, feed=feed)  # a new batch with the same records

    assert Anomaly.objects.filter(feed=feed).count() == 1


def test_adjacent_breaches_merge_and_distant_ones_do_not(event):
    feed = event.feeds.get(slug="kn1-contrib-a")
    start = on_air(event)
    ingest(
        event,
        "srt-json",
        srt_lines(start, 600, lost=lambda t: 40 if t in (10, 11, 40, 41, 400) else 0),
        feed=feed,
    )
    spans = [(a.start - start, a.end - start) for a in Anomaly.objects.filter(feed=feed)]
    assert spans == [
        (timedelta(seconds=9), timedelta(seconds=41)),
        (timedelta(seconds=399), timedelta(seconds=400)),
    ]


def test_breaches_in_consecutive_batches_extend_one_anomaly(event):
    feed = event.feeds.get(slug="kn1-contrib-a")
    start = on_air(event)
    ingest(event, "srt-json", srt_lines(start, 60, lost=burst(50, 60)), feed=feed)
    later = start + timedelta(seconds=60)
    ingest(event, "srt-json", srt_lines(later, 60, lost=burst(0, 5)), feed=feed)

    (anomaly,) = Anomaly.objects.filter(feed=feed)
    assert anomaly.start == start + timedelta(seconds=49)
    assert anomaly.end == later + timedelta(seconds=4)


def test_a_gap_in_stats_while_on_air_is_input_loss_and_off_air_is_not(event):
    feed = event.feeds.get(slug="kn1-contrib-a")
    start = on_air(event)
    ingest(event, "srt-json", srt_lines(start, 300, skip=lambda t: 100 <= t < 160), feed=feed)
    before = on_air(event) - timedelta(minutes=10)  # ends 5 min before air
    ingest(event, "srt-json", srt_lines(before, 300, skip=lambda t: 100 <= t < 160), feed=feed)

    (anomaly,) = Anomaly.objects.filter(feed=feed)
    assert anomaly.kind == "input_loss"
    assert anomaly.start == start + timedelta(seconds=99)
    assert anomaly.end == start + timedelta(seconds=160)


def test_a_gap_between_batches_is_found_whichever_arrives_first(event):
    feed = event.feeds.get(slug="kn1-contrib-a")
    start = on_air(event)
    ingest(event, "srt-json", srt_lines(start + timedelta(seconds=100), 60), feed=feed)
    ingest(event, "srt-json", srt_lines(start, 50), feed=feed)

    (anomaly,) = Anomaly.objects.filter(feed=feed, kind="input_loss")
    assert anomaly.start == start + timedelta(seconds=49)
    assert anomaly.end == start + timedelta(seconds=100)


def test_an_on_air_feed_that_stops_reporting_gets_an_open_input_loss(event):
    feed = event.feeds.get(slug="kn1-contrib-a")
    start = on_air(event)
    ingest(event, "srt-json", srt_lines(start, 60), feed=feed)

    opened = anomalies.detect_silent_feeds(now=start + timedelta(minutes=3))
    assert opened == 1
    (anomaly,) = Anomaly.objects.filter(feed=feed, kind="input_loss")
    assert anomaly.start == start + timedelta(seconds=59)
    assert anomaly.end is None
    # data comes back: the same anomaly closes at the first new sample
    ingest(event, "srt-json", srt_lines(start + timedelta(minutes=4), 30), feed=feed)
    (anomaly,) = Anomaly.objects.filter(feed=feed, kind="input_loss")
    assert anomaly.end == start + timedelta(minutes=4)


def test_alert_set_then_cleared_is_one_alert_anomaly_in_any_arrival_order(event):
    program = event.feeds.get(slug="kn1-program")
    at = on_air(event) + timedelta(minutes=41)
    ingest(event, "eventbridge", eventbridge("alarm-1", "CLEARED", at + timedelta(seconds=35)))
    ingest(event, "eventbridge", eventbridge("alarm-1", "SET", at))
    ingest(event, "eventbridge", eventbridge("alarm-1", "SET", at))  # redelivered

    (anomaly,) = Anomaly.objects.filter(feed=program)
    assert (anomaly.kind, anomaly.source, anomaly.key) == ("alert", "alert", "alarm-1")
    assert (anomaly.start, anomaly.end) == (at, at + timedelta(seconds=35))


def test_an_alert_not_yet_cleared_stays_open_until_its_clear_arrives(event):
    program = event.feeds.get(slug="kn1-program")
    at = on_air(event) + timedelta(minutes=41)
    ingest(event, "eventbridge", eventbridge("alarm-2", "SET", at))
    assert Anomaly.objects.get(feed=program).end is None
    ingest(event, "eventbridge", eventbridge("alarm-2", "CLEARED", at + timedelta(seconds=9)))
    assert Anomaly.objects.get(feed=program).end == at + timedelta(seconds=9)


def test_thresholds_per_event_change_what_counts(event, lead):
    feed = event.feeds.get(slug="kn1-contrib-a")
    anomalies.set_thresholds(event=event, actor=lead, values={"packet_loss_pct": 50})
    ingest(event, "srt-json", srt_lines(on_air(event), 60, lost=burst(10, 20)), feed=feed)
    assert not Anomaly.objects.exists()


# --- Review state and downstream impact ------------------------------------------------


def loss_on(event, slug, offset=timedelta(minutes=10)):
    feed = event.feeds.get(slug=slug)
    start = on_air(event) + offset
    ingest(event, "srt-json", srt_lines(start, 120, lost=burst(40, 70)), feed=feed)
    return Anomaly.objects.get(feed=feed)


def reviewed(event, anomaly):
    return review.annotate_anomalies(event, [anomaly])[0].reviewed


def test_an_anomaly_nobody_wrote_about_is_unreviewed_until_an_entry_covers_it(event, operator):
    anomaly = loss_on(event, "kn1-contrib-a")
    assert not reviewed(event, anomaly)
    entry, _ = retro_services.log_entry(
        event=event,
        author=operator,
        kind="learning",
        body="Loss on contribution A",
        feeds=[event.feeds.get(slug="kn1-contrib-a")],
        occurred_at=anomaly.start + timedelta(minutes=4),  # window ± 5 min overlaps
    )
    assert reviewed(event, anomaly)
    retro_services.delete_entry(entry=entry, actor=operator)
    assert not reviewed(event, anomaly)


def test_an_entry_about_an_upstream_feed_reviews_a_downstream_anomaly_not_the_reverse(
    event, operator
):
    program_feed = event.feeds.get(slug="kn1-program")
    asl = event.feeds.get(slug="kn1-asl")
    program_feed.source_ids = []
    program_feed.save()
    anomaly = loss_on(event, "kn1-contrib-a")
    retro_services.log_entry(
        event=event,
        author=operator,
        kind="learning",
        body="ASL dropped",
        feeds=[asl],
        occurred_at=anomaly.start,
    )
    assert not reviewed(event, anomaly)  # asl derives from contrib-a, not the other way
    retro_services.log_entry(
        event=event,
        author=operator,
        kind="learning",
        body="contribution A lossy",
        feeds=[event.feeds.get(slug="kn1-contrib-a")],
        occurred_at=anomaly.start + timedelta(minutes=20),  # window misses it
    )
    assert not reviewed(event, anomaly)


def test_a_wide_window_far_from_the_anomaly_still_reviews_it(event, operator):
    anomaly = loss_on(event, "kn1-contrib-a")
    contrib = event.feeds.get(slug="kn1-contrib-a")
    log = dict(event=event, author=operator, kind="learning", body="x", feeds=[contrib])
    retro_services.log_entry(**log, occurred_at=anomaly.start - timedelta(hours=3))
    assert not reviewed(event, anomaly)
    retro_services.log_entry(
        **log,
        occurred_at=anomaly.end + timedelta(hours=10),  # its window reaches back 11 h
        window_before=11 * 3600,
        window_after=60,
    )
    assert reviewed(event, anomaly)


def test_review_state_takes_the_same_queries_whatever_the_number_of_entries(
    event, operator, django_assert_num_queries
):
    from retro.models import Entry

    anomaly = loss_on(event, "kn1-contrib-a")
    contrib = event.feeds.get(slug="kn1-contrib-a")
    graph = review.feed_graph(event)

    def entries(n, at):
        made = Entry.objects.bulk_create(
            Entry(event=event, author=operator, kind="win", body="x", occurred_at=at)
            for _ in range(n)
        )
        Entry.feeds.through.objects.bulk_create(
            Entry.feeds.through(entry_id=e.pk, feed_id=contrib.pk) for e in made
        )

    entries(3, anomaly.start - timedelta(hours=2))
    with django_assert_num_queries(2):  # the widest window, the candidate entries
        assert not review.annotate_anomalies(event, [anomaly], graph)[0].reviewed
    entries(300, anomaly.start - timedelta(hours=2))
    entries(1, anomaly.start)
    with django_assert_num_queries(2):
        assert review.annotate_anomalies(event, [anomaly], graph)[0].reviewed
    with django_assert_num_queries(0):
        assert review.annotate_anomalies(event, [], graph) == []


def test_a_dismissed_anomaly_counts_as_reviewed_and_the_dismissal_is_audited(event, lead):
    from retro.models import AuditLog

    anomaly = loss_on(event, "kn1-contrib-a")
    anomalies.dismiss_anomaly(anomaly=anomaly, actor=lead, reason="planned reroute test")
    assert reviewed(event, Anomaly.objects.get(pk=anomaly.pk))
    assert AuditLog.objects.filter(action="anomaly.dismiss").count() == 1


def test_upstream_anomaly_marks_every_derived_feed_with_on_air_impact_minutes(event):
    anomaly = loss_on(event, "kn1-contrib-a")
    (annotated,) = review.annotate_anomalies(event, [anomaly])
    assert annotated.affected == ["kn1-asl", "kn1-program"]
    minutes = {row["feed"]: row for row in onair.viewer_impact(event)}
    expected = round((anomaly.end - anomaly.start).total_seconds() / 60, 1)
    assert minutes["kn1-asl"]["minutes"] == minutes["kn1-program"]["minutes"] == expected
    assert "kn1-contrib-a" not in minutes  # outputs only: a single path has no backup


def test_overlapping_anomalies_count_once_per_output(event):
    loss_on(event, "kn1-contrib-a")
    program = event.feeds.get(slug="kn1-program")
    program.source_ids = ["srt://kn1-program"]
    program.save()
    start = on_air(event) + timedelta(minutes=10)
    ingest(event, "srt-json", srt_lines(start, 120, lost=burst(40, 70)), feed=program)
    minutes = {row["feed"]: row["minutes"] for row in onair.viewer_impact(event)}
    assert minutes["kn1-asl"] == minutes["kn1-program"] == 0.5


def test_impact_outside_the_session_on_air_window_is_not_counted(event):
    loss_on(event, "kn1-contrib-a", offset=-timedelta(minutes=30))
    assert Anomaly.objects.count() == 1
    assert onair.viewer_impact(event) == []


# --- API ---------------------------------------------------------------------------------


def test_anomalies_api_lists_with_review_state_entries_and_affected_feeds(
    event, operator, viewer_api
):
    anomaly = loss_on(event, "kn1-contrib-a")
    url = "/api/v1/events/summit/anomalies/"
    body = viewer_api.get(url).json()
    assert body["count"] == 1
    item = body["results"][0]
    assert item["id"] == anomaly.pk
    assert item["feed"] == "kn1-contrib-a"
    assert item["kind"] == "packet_loss"
    assert item["reviewed"] is False and item["entries"] == []
    assert item["affected_feeds"] == ["kn1-asl", "kn1-program"]
    assert item["source"]["type"] == "detector"
    entry, _ = retro_services.log_entry(
        event=event,
        author=operator,
        kind="learning",
        body="seen",
        feeds=[event.feeds.get(slug="kn1-contrib-a")],
        occurred_at=anomaly.start,
    )
    assert viewer_api.get(url, {"reviewed": "false"}).json()["count"] == 0
    (item,) = viewer_api.get(url, {"reviewed": "true", "kind": "packet_loss"}).json()["results"]
    assert item["entries"] == [str(entry.pk)]
    assert viewer_api.get(url, {"feed": "kn1-program"}).json()["count"] == 0


def test_anomalies_api_refuses_bad_filters_and_outsiders(event, viewer_api, outsider_api):
    url = "/api/v1/events/summit/anomalies/"
    assert viewer_api.get(url, {"kind": "nonsense"}).status_code == 400
    assert viewer_api.get(url, {"reviewed": "maybe"}).status_code == 400
    assert viewer_api.get(url, {"feed": "not-a-feed"}).status_code == 404
    assert outsider_api.get(url).status_code == 404


def test_feed_of_another_event_is_404_in_the_anomaly_filter(event, other_event, viewer_api):
    Feed.objects.create(event=other_event, slug="elsewhere", name="x", stage="contribution")
    url = "/api/v1/events/summit/anomalies/"
    assert viewer_api.get(url, {"feed": "elsewhere"}).status_code == 404


def test_only_leads_dismiss_and_a_reason_is_required(event, lead_api, operator_api):
    anomaly = loss_on(event, "kn1-contrib-a")
    url = f"/api/v1/events/summit/anomalies/{anomaly.pk}/dismiss/"
    assert operator_api.post(url, {"reason": "x"}, format="json").status_code == 403
    assert lead_api.post(url, {"reason": " "}, format="json").status_code == 400
    response = lead_api.post(url, {"reason": "test pattern"}, format="json")
    assert response.status_code == 200
    assert response.json()["reviewed"] is True and response.json()["dismissed"] is True


@pytest.mark.parametrize(
    "values",
    [
        {"packet_loss_pct": -1},
        {"gap_seconds": "abc"},
        {"merge_seconds": None},
        {"nope": 1},
        {"bitrate_drop_pct": 150},
        {"cc_errors": "nan"},
        {"merge_seconds": 1e12},
        {"gap_seconds": 86400 * 365},
        {"dropped_frames": 1e300},
    ],
)
def test_thresholds_api_refuses_negative_and_non_numbers(event, lead_api, values):
    url = "/api/v1/events/summit/anomaly-thresholds/"
    response = lead_api.patch(url, values, format="json")
    assert response.status_code == 400
    assert set(response.json()) == set(values)
    event.refresh_from_db()
    assert event.thresholds == {}


def test_thresholds_api_saves_for_leads_with_an_audit_record(event, lead_api, operator_api):
    from retro.models import AuditLog

    url = "/api/v1/events/summit/anomaly-thresholds/"
    assert operator_api.patch(url, {"gap_seconds": 10}, format="json").status_code == 403
    response = lead_api.patch(url, {"gap_seconds": "12.5"}, format="json")
    assert response.status_code == 200
    assert response.json()["gap_seconds"] == 12.5
    assert operator_api.get(url).json()["gap_seconds"] == 12.5
    log = AuditLog.objects.get(action="thresholds.update")
    assert log.changes == {"gap_seconds": [5.0, 12.5]}


def test_the_report_lists_unreviewed_anomalies_and_impact_minutes(event):
    from reports import content

    loss_on(event, "kn1-contrib-a")
    assert content.anomaly_counts(event) == {"available": True, "reviewed": 0, "unreviewed": 1}
    rows = content.impact_minutes(event)["rows"]
    assert [r["label"] for r in rows] == ["kn1-asl", "kn1-program"]  # outputs only
    section = content.anomalies_section(event, None, [], None)
    assert section["items"][0]["feed"] == "kn1-contrib-a"
    assert section["items"][0]["metric"].startswith("Packet loss")
