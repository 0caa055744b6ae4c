"""The feed page, the anomalies page with its thresholds form, and telemetry on board and event."""

from datetime import timedelta

import pytest

from integrations import tasks
from integrations.models import Anomaly
from retro import services as retro_services
from retro.models import AuditLog, Event, Feed
from tests.conftest import iso

pytestmark = pytest.mark.django_db


@pytest.fixture
def loss(loss_burst):
    return loss_burst


def test_the_feed_page_draws_key_metrics_with_on_air_anomalies_and_entries(
    event, operator, viewer_client, loss
):
    feed, start = loss
    retro_services.log_entry(
        event=event,
        author=operator,
        kind="learning",
        body="Loss seen on A",
        feeds=[feed],
        occurred_at=start + timedelta(minutes=5),
    )
    page = viewer_client.get("/events/summit/telemetry/kn1-contrib-a/")
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('class="chart"') >= 5  # bitrate, loss, dropped, retransmitted, rtt
    assert "10s rollups" in html  # the on-air window with data (30 min) reads 10 s rollups
    assert 'class="span span-onair"' in html and 'class="span span-entry"' in html
    assert "Packet loss" in html and "Loss seen on A" in html
    assert "Whole event" in html and "On air ± 30 min" in html


def test_zooming_in_reads_raw_samples(viewer_client, loss):
    _, start = loss
    page = viewer_client.get(
        "/events/summit/telemetry/kn1-contrib-a/",
        {
            "start": (start + timedelta(minutes=4)).isoformat(),
            "end": (start + timedelta(minutes=6)).isoformat(),
        },
    )
    assert page.status_code == 200
    assert "raw samples" in page.content.decode()


def test_the_feed_page_refuses_bad_times_and_other_events_feeds(event, other_event, viewer_client):
    Feed.objects.create(event=other_event, slug="elsewhere", name="x", stage="contribution")
    url = "/events/summit/telemetry/kn1-contrib-a/"
    assert viewer_client.get(url, {"start": "noon"}).status_code == 400
    later = event.start + timedelta(days=1)
    bad_order = viewer_client.get(url, {"start": iso(later), "end": iso(event.start)})
    assert bad_order.status_code == 400
    assert viewer_client.get("/events/summit/telemetry/elsewhere/").status_code == 404


def test_the_feed_page_is_404_for_outsiders(event, outsider_client):
    assert outsider_client.get("/events/summit/telemetry/kn1-contrib-a/").status_code == 404


def test_the_thresholds_form_refuses_bad_numbers_with_400_and_saves_good_ones_audited(
    event, lead_client
):
    url = "/events/summit/anomalies/"
    bad = lead_client.post(url, {"do": "thresholds", "packet_loss_pct": "-2", "gap_seconds": "x"})
    assert bad.status_code == 400
    assert "Must not be negative." in bad.content.decode()
    assert "Not a number." in bad.content.decode()
    event.refresh_from_db()
    assert event.thresholds == {}
    form = {
        "do": "thresholds",
        "packet_loss_pct": "2.5",
        "unrecovered_packets": "0",
        "bitrate_drop_pct": "50",
        "gap_seconds": "5",
        "dropped_frames": "5",
        "cc_errors": "0",
        "merge_seconds": "60",
        "captions_missing_seconds": "30",
        "caption_lag_seconds": "10",
    }
    assert lead_client.post(url, form).status_code == 302
    event.refresh_from_db()
    assert event.thresholds["packet_loss_pct"] == 2.5
    assert AuditLog.objects.get(action="thresholds.update").changes == {
        "packet_loss_pct": [1.0, 2.5]
    }


def test_only_leads_post_on_the_anomalies_page(event, operator_client, loss):
    anomaly = Anomaly.objects.get()
    url = "/events/summit/anomalies/"
    assert operator_client.get(url).status_code == 200
    response = operator_client.post(url, {"do": "dismiss", "anomaly": anomaly.pk, "reason": "x"})
    assert response.status_code == 403
    assert Anomaly.objects.get().dismissed_at is None


def test_a_lead_dismisses_an_anomaly_with_a_reason_on_the_page(event, lead_client, loss):
    anomaly = Anomaly.objects.get()
    url = "/events/summit/anomalies/"
    assert (
        lead_client.post(url, {"do": "dismiss", "anomaly": anomaly.pk, "reason": ""}).status_code
        == 400
    )
    assert (
        lead_client.post(
            url, {"do": "dismiss", "anomaly": anomaly.pk, "reason": "drill"}
        ).status_code
        == 302
    )
    assert Anomaly.objects.get().dismissed_reason == "drill"


def test_the_board_lists_unreviewed_anomalies_with_a_prefilled_log_button(
    event, operator_client, loss
):
    html = operator_client.get("/events/summit/board/").content.decode()
    assert "data-unreviewed-count>1<" in html
    assert 'class="link js-log-anomaly" data-kind="learning" data-feed="kn1-contrib-a"' in html
    assert "js/anomaly-log.js" in html


def test_the_board_shows_a_sparkline_on_entries_with_telemetry(
    event, operator, operator_client, loss, django_capture_on_commit_callbacks
):
    feed, start = loss
    with django_capture_on_commit_callbacks():
        entry, _ = retro_services.log_entry(
            event=event,
            author=operator,
            kind="learning",
            body="with telemetry",
            feeds=[feed],
            occurred_at=start + timedelta(minutes=5),
        )
    tasks.snapshot_entry(str(entry.pk))
    html = operator_client.get("/events/summit/board/").content.decode()
    assert html.count('class="sparkline"') == 1
    # the entry covers the anomaly now: nothing unreviewed
    assert "data-unreviewed-count>0<" in html


def test_the_event_page_shows_impact_minutes_per_output_and_feed_links(event, viewer_client, loss):
    html = viewer_client.get("/events/summit/").content.decode()
    assert "Telemetry impact" in html
    viewer = html[html.index("Viewer impact by output") : html.index("Redundancy lost")]
    assert (
        '<a href="/events/summit/telemetry/kn1-asl/">KN1 ASL</a> <code class="muted">kn1-asl'
        in viewer
    )
    assert "kn1-contrib-a" not in viewer  # a contribution path is never an output
    assert "/events/summit/telemetry/kn1-contrib-a/" in html
    assert "/events/summit/anomalies/" in html


def test_a_long_event_opens_on_its_last_31_days(event, viewer_client):
    Event.objects.filter(pk=event.pk).update(end=event.start + timedelta(days=45))
    page = viewer_client.get("/events/summit/telemetry/kn1-contrib-a/")
    assert page.status_code == 200
    assert page.context["end"] - page.context["start"] == timedelta(days=31)
    assert page.context["end"] == event.start + timedelta(days=45)
    given = viewer_client.get(
        "/events/summit/telemetry/kn1-contrib-a/", {"start": iso(event.start)}
    )
    assert given.status_code == 200 and given.context["start"] == event.start


@pytest.mark.parametrize("bad", ["abc", "1.5", "-1", "99999999999999999999", "1\x00"])
def test_non_numeric_ids_in_lead_forms_are_refused_with_a_message(event, lead_client, loss, bad):
    from integrations.models import UnmappedSource

    nul = "\x00" in bad  # refused before any view, naming the field
    dismiss = lead_client.post(
        "/events/summit/anomalies/", {"do": "dismiss", "anomaly": bad, "reason": "noise"}
    )
    assert dismiss.status_code == 400
    expected = "anomaly contains a NUL character." if nul else "Not dismissed: No such anomaly"
    assert expected in dismiss.content.decode()
    assert Anomaly.objects.get().dismissed_at is None
    mapped = lead_client.post(
        "/events/summit/ingest/map/", {"feed": bad, "source_id": "srt://x"}, follow=True
    )
    assert mapped.status_code == (400 if nul else 200)
    expected = "feed contains a NUL character." if nul else "Choose a feed of this event."
    assert expected in mapped.content.decode()
    assert not UnmappedSource.objects.exists()
    assert event.feeds.get(slug="kn1-contrib-a").source_ids == ["srt://kn1-contrib-a"]


def test_threshold_fields_show_their_bounds(event, lead_client):
    page = lead_client.get("/events/summit/anomalies/").content.decode()
    assert "Allowed: 0 to 3,600." in page and "Allowed: 0 to 100." in page
