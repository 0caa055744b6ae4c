"""The on-air path: which upstream carried the signal, failovers, viewer impact on outputs
versus redundancy lost on paths. Telemetry goes in through the ingest services, in the
gear's own formats."""

import json
from datetime import UTC, timedelta

import pytest

from integrations import onair
from integrations.models import Anomaly
from reports import content
from retro import services as retro_services
from retro.models import Feed

from .telemetry_factory import eventbridge, ingest, srt_lines

pytestmark = pytest.mark.django_db


def on_air(event):
    return event.sessions.get(slug="kn1").scheduled_start


def burst(first, last, count=30):
    return lambda t: count if first <= t < last else 0


@pytest.fixture
def paths(event, lead):
    """kn1-program made from contribution paths A and B (SRT both); ASL made from program."""
    contrib_b = retro_services.create_feed(
        event=event,
        actor=lead,
        slug="kn1-contrib-b",
        name="KN1 contribution B",
        stage="contribution",
        session=event.sessions.get(slug="kn1"),
        transport="srt",
        path="B",
        source_ids=["srt://kn1-contrib-b"],
    )
    program = event.feeds.get(slug="kn1-program")
    retro_services.update_feed(
        feed=program, actor=lead, derived_from=[event.feeds.get(slug="kn1-contrib-a"), contrib_b]
    )
    return event


def srt(event, slug, *, lost=None, offset=timedelta(minutes=10), seconds=120, sid=4242):
    """Two minutes of SRT stats on a path, from `offset` into the keynote."""
    feed = event.feeds.get(slug=slug)
    ingest(
        event, "srt-json", srt_lines(on_air(event) + offset, seconds, lost=lost, sid=sid), feed=feed
    )


def impact(event) -> dict:
    return {row["feed"]: row["minutes"] for row in onair.viewer_impact(event)}


def redundancy(event) -> dict:
    return {row["feed"]: row for row in onair.redundancy_lost(event)}


def test_loss_on_the_standby_path_is_redundancy_lost_not_viewer_impact(paths):
    srt(paths, "kn1-contrib-a")
    srt(paths, "kn1-contrib-b", lost=burst(40, 70))
    assert Anomaly.objects.filter(feed__slug="kn1-contrib-b").exists()
    assert impact(paths) == {}
    lost = redundancy(paths)
    assert lost["kn1-contrib-b"]["minutes"] == 0.5
    assert lost["kn1-contrib-b"]["covered_by"] == ["kn1-contrib-a"]
    assert onair.failovers(paths) == []  # A carried all along


def test_loss_on_the_path_on_air_fails_over_to_the_healthy_one_and_back(paths):
    srt(paths, "kn1-contrib-a", lost=burst(40, 70))
    srt(paths, "kn1-contrib-b")
    assert impact(paths) == {}
    assert redundancy(paths)["kn1-contrib-a"]["minutes"] == 0.5
    switches = onair.failovers(paths)
    assert [(s.feed, s.previous, s.to) for s in switches] == [
        ("kn1-program", "kn1-contrib-a", "kn1-contrib-b"),
        ("kn1-program", "kn1-contrib-b", "kn1-contrib-a"),
    ]
    assert (switches[1].at - switches[0].at).total_seconds() == 30
    assert switches[0].how == "inferred from telemetry"


def test_viewer_impact_counts_only_while_no_healthy_path_remained_on_outputs_only(paths):
    srt(paths, "kn1-contrib-a", lost=burst(40, 70))  # 30 s
    srt(paths, "kn1-contrib-b", lost=burst(55, 100))  # overlaps A for 15 s
    minutes = impact(paths)
    assert minutes == {"kn1-program": 0.2, "kn1-asl": 0.2}  # 15 s, rounded to 0.1 min
    assert "kn1-contrib-a" not in minutes and "kn1-contrib-b" not in minutes
    rows = {r["feed"]: r for r in onair.viewer_impact(paths)}
    assert rows["kn1-asl"]["kinds"] == ["packet_loss"]


def test_an_operator_switch_to_b_makes_b_the_carrier_and_its_loss_viewer_impact(paths, operator):
    srt(paths, "kn1-contrib-a")
    srt(paths, "kn1-contrib-b", lost=burst(60, 90))
    retro_services.log_entry(
        event=paths,
        author=operator,
        kind="learning",
        body="Switched to B for the encoder swap on A",
        feeds=[paths.feeds.get(slug="kn1-program")],
        occurred_at=on_air(paths) + timedelta(minutes=10, seconds=30),
    )
    assert impact(paths) == {"kn1-program": 0.5, "kn1-asl": 0.5}
    (switch,) = onair.failovers(paths)
    assert (switch.previous, switch.to, switch.how) == (
        "kn1-contrib-a",
        "kn1-contrib-b",
        "operator entry",
    )
    assert "Switched to B" in switch.detail


def test_a_medialive_input_change_names_the_upstream_on_air(paths):
    srt(paths, "kn1-contrib-a")
    srt(paths, "kn1-contrib-b")
    moment = on_air(paths) + timedelta(minutes=20)
    change = {
        "version": "0",
        "id": "ev-input-change-1",
        "detail-type": "MediaLive Channel Input Change",
        "source": "aws.medialive",
        "account": "111122223333",
        "time": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-west-2",
        "resources": ["arn:aws:medialive:us-west-2:111122223333:channel:ch-kn1"],
        "detail": {
            "channel_arn": "arn:aws:medialive:us-west-2:111122223333:channel:ch-kn1",
            "pipeline": "0",
            "active_input_attachment_name": "kn1-contrib-b",
        },
    }
    ingest(paths, "eventbridge", json.dumps(change).encode())
    report = onair.path_report(paths)
    program = paths.feeds.get(slug="kn1-program")
    (switch,) = onair.failovers(paths, report)
    assert (switch.at, switch.to, switch.how) == (moment, "kn1-contrib-b", "MediaLive input change")
    carrier = report.carrier_at(program.pk, moment + timedelta(minutes=1))
    assert carrier == paths.feeds.get(slug="kn1-contrib-b").pk
    feed_a = paths.feeds.get(slug="kn1-contrib-a")
    assert [s.to for s in onair.failovers(paths, report, feed_a)] == ["kn1-contrib-b"]


def test_one_medialive_pipeline_down_is_redundancy_lost_both_down_is_viewer_impact(event, lead):
    program = event.feeds.get(slug="kn1-program")
    retro_services.update_feed(feed=program, actor=lead, source_ids=["ch-kn1:0", "ch-kn1:1"])
    start = on_air(event) + timedelta(minutes=5)

    def alarm(alarm_id, pipeline, state, moment):
        body = json.loads(eventbridge(alarm_id, state, moment))
        body["detail"]["pipeline"] = pipeline
        body["id"] += pipeline
        ingest(event, "eventbridge", json.dumps(body).encode())

    alarm("loss-1", "1", "SET", start)
    alarm("loss-1", "1", "CLEARED", start + timedelta(minutes=2))
    assert impact(event) == {}
    assert redundancy(event)["kn1-program"]["minutes"] == 2.0
    assert redundancy(event)["kn1-program"]["covered_by"] == ["pipeline 0"]
    alarm("loss-0", "0", "SET", start + timedelta(minutes=1))
    alarm("loss-0", "0", "CLEARED", start + timedelta(minutes=4))
    assert impact(event) == {"kn1-program": 1.0, "kn1-asl": 1.0}  # both down for a minute
    assert redundancy(event)["kn1-program"]["minutes"] == 3.0


def test_the_event_page_lists_outputs_and_paths_apart(paths, viewer_client):
    srt(paths, "kn1-contrib-a", lost=burst(40, 70))
    srt(paths, "kn1-contrib-b")
    Feed.objects.filter(slug="kn1-contrib-b").update(name="KN1 contribution B")
    page = viewer_client.get(f"/events/{paths.slug}/").content.decode()
    viewer = page[page.index("Viewer impact by output") : page.index("Redundancy lost")]
    lost = page[page.index("Redundancy lost") :]
    assert "No on-air viewer impact recorded." in viewer
    assert "kn1-contrib-a" not in viewer
    assert '<code>kn1-contrib-a</code></a></td><td class="num">&lt; 1 min</td>' in lost
    assert "Failovers" in lost and "inferred from telemetry" in lost


def test_the_feed_page_overlays_paths_a_and_b_and_lists_failovers(paths, viewer_client):
    srt(paths, "kn1-contrib-a", lost=burst(40, 70))
    srt(paths, "kn1-contrib-b", sid=4343)
    start = on_air(paths) + timedelta(minutes=9)
    query = {
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=5)).isoformat(),
    }
    response = viewer_client.get(f"/events/{paths.slug}/telemetry/kn1-contrib-a/", query)
    assert response.status_code == 200
    page = response.content.decode()
    assert "kn1-contrib-a (path A)" in page and "kn1-contrib-b (path B)" in page
    assert page.count('class="span span-failover"') >= 2  # A -> B and back, in every chart
    assert "overlaid with the other path" in page
    failovers = page[page.index('id="feed-failovers-h"') :]
    assert "<code>kn1-contrib-b</code> <span" in failovers


def test_the_board_timeline_and_the_report_show_failovers(paths, viewer_client):
    srt(paths, "kn1-contrib-a", lost=burst(40, 70))
    srt(paths, "kn1-contrib-b")
    day = on_air(paths).astimezone(paths.tz).date().isoformat()
    board = viewer_client.get(f"/events/{paths.slug}/board/", {"view": "timeline", "day": day})
    assert board.content.decode().count('class="failover-mark"') == 2
    summary = content.impact_minutes(paths)
    assert [f["text"] for f in summary["failovers"]] == [
        "kn1-program: kn1-contrib-a -> kn1-contrib-b",
        "kn1-program: kn1-contrib-b -> kn1-contrib-a",
    ]
    assert summary["rows"] == []
    assert [r["label"] for r in summary["redundancy"]] == ["kn1-contrib-a"]
