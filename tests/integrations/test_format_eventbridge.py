"""EventBridge events from MediaLive and MediaConnect, in the documented event shapes."""

import json
from datetime import UTC, datetime

import pytest

from integrations.formats import FormatError, eventbridge, parse

NOW = datetime(2026, 11, 27, tzinfo=UTC)
CHANNEL = "arn:aws:medialive:us-west-2:111122223333:channel:4816235"
FLOW = (
    "arn:aws:mediaconnect:us-west-2:111122223333:flow:1-AbCdEfGhIjKlMnOp-abcdef123455:venue-feed-a"
)
SOURCE = (
    "arn:aws:mediaconnect:us-west-2:111122223333:source:"
    "1-AbCdEfGhIjKlMnOp-abcdef123455:venue-encoder-a"
)
OUTPUT = (
    "arn:aws:mediaconnect:us-west-2:111122223333:output:"
    "1-AbCdEfGhIjKlMnOp-abcdef123455:to-control-room"
)


def event(detail_type: str, detail: dict, *, time: str = "2026-11-26T19:02:10Z", **extra) -> dict:
    """An EventBridge envelope as AWS delivers it."""
    service = "medialive" if detail_type.startswith("MediaLive") else "mediaconnect"
    resources = [CHANNEL] if service == "medialive" else [FLOW]
    return {
        "version": "0",
        "id": extra.pop("id", f"evt-{detail_type.lower().replace(' ', '-')}"),
        "detail-type": detail_type,
        "source": f"aws.{service}",
        "account": "111122223333",
        "time": time,
        "region": "us-west-2",
        "resources": extra.pop("resources", resources),
        "detail": detail,
    }


def channel_alert(state: str, *, time: str) -> dict:
    """A MediaLive channel alert on pipeline 0."""
    detail = {
        "alarm_state": state,
        "alarm_id": "4e912d7ea6bc8d4e7ed1d4a5b6b8c3b7c6a1e2f0",
        "alert_type": "Video Not Detected",
        "pipeline": "0",
        "channel_arn": CHANNEL,
        "message": "Video not detected in input for 1000 ms",
    }
    return event("MediaLive Channel Alert", detail, time=time, id=f"alert-{state}")


def test_channel_alert_set_and_cleared_pair_on_alarm_id():
    events = [
        channel_alert("SET", time="2026-11-26T19:02:10Z"),
        channel_alert("CLEARED", time="2026-11-26T19:02:41Z"),
    ]

    result = eventbridge.parse(json.dumps(events), now=NOW)

    assert result.rejected == []
    set_, cleared = result.alerts
    assert (set_.state, cleared.state) == ("set", "cleared")
    assert set_.alarm_id == cleared.alarm_id == "4e912d7ea6bc8d4e7ed1d4a5b6b8c3b7c6a1e2f0"
    assert set_.source == cleared.source == "4816235:0"
    assert set_.kind == "medialive_alert"
    assert set_.message == "Video Not Detected: Video not detected in input for 1000 ms"
    assert set_.time == datetime(2026, 11, 26, 19, 2, 10, tzinfo=UTC)
    assert set_.detail["event_id"] == "alert-SET"


def test_channel_state_change_without_pipeline_is_info_for_the_whole_channel():
    detail = {
        "channel_arn": CHANNEL,
        "state": "RUNNING",
        "message": "Running channel",
        "pipelines_running_count": 2,
    }

    [alert] = eventbridge.parse(
        json.dumps(event("MediaLive Channel State Change", detail, id="e-run")), now=NOW
    ).alerts

    assert (alert.source, alert.state, alert.kind) == ("4816235", "info", "medialive_state_change")
    assert alert.alarm_id == "e-run"
    assert alert.message == "Running channel"
    assert alert.detail["pipelines_running_count"] == 2


def test_channel_input_change_names_the_active_input():
    detail = {
        "channel_arn": CHANNEL,
        "pipeline": "1",
        "active_input_attachment_name": "venue-backup-srt",
        "active_input_switch_action_name": "failover-to-backup",
    }

    [alert] = eventbridge.parse(
        json.dumps(event("MediaLive Channel Input Change", detail)), now=NOW
    ).alerts

    assert (alert.source, alert.kind) == ("4816235:1", "medialive_input_change")
    assert alert.message == "active input: venue-backup-srt"


def test_mediaconnect_alert_sets_and_clears_by_error_code_on_the_flow():
    raised = {"errored": True, "error-code": "SourceTimeout", "error-message": "No input"}
    events = [
        event("MediaConnect Alert", raised, id="a1"),
        event("MediaConnect Alert", {**raised, "errored": False}, id="a2"),
    ]

    alerts = eventbridge.parse(json.dumps(events), now=NOW).alerts

    assert [(a.source, a.alarm_id, a.state) for a in alerts] == [
        (FLOW, "SourceTimeout", "set"),
        (FLOW, "SourceTimeout", "cleared"),
    ]
    assert alerts[0].kind == "mediaconnect_alert"
    assert alerts[0].message == "No input"


def test_source_health_reports_tr101_errors_against_the_flow():
    detail = {
        "unhealthy": True,
        "current": {
            "source_state": "CONNECTED",
            "tr101": {
                "ts_sync_loss": False,
                "continuity_count_error": True,
                "transport_error": False,
                "pcr_error": True,
            },
        },
        "previous": {"source_state": "CONNECTED", "tr101": {}},
    }
    health = event("MediaConnect Source Health", detail, resources=[FLOW, SOURCE])

    [alert] = eventbridge.parse(json.dumps(health), now=NOW).alerts

    assert (alert.source, alert.state) == (FLOW, "set")
    assert alert.kind == "mediaconnect_source_health"
    assert alert.alarm_id == f"mediaconnect_source_health:{SOURCE}"
    assert alert.message == "state CONNECTED; continuity_count_error; pcr_error"


def test_output_health_without_a_flag_uses_the_output_state():
    down = event(
        "MediaConnect Output Health",
        {"current": {"state": "DISCONNECTED"}, "previous": {"state": "CONNECTED"}},
        resources=[FLOW, OUTPUT],
    )
    up = {**down, "detail": {"current": {"state": "CONNECTED"}}}

    alerts = eventbridge.parse(json.dumps([down, up]), now=NOW).alerts

    assert [a.state for a in alerts] == ["set", "cleared"]
    assert {a.alarm_id for a in alerts} == {f"mediaconnect_output_health:{OUTPUT}"}


def test_flow_status_change_is_info():
    status = event(
        "MediaConnect Flow Status Change",
        {"currentStatus": "ACTIVE", "previousStatus": "STARTING"},
        id="s1",
    )

    [alert] = parse("eventbridge", json.dumps(status), now=NOW).alerts

    assert (alert.state, alert.kind, alert.alarm_id) == ("info", "mediaconnect_flow_status", "s1")
    assert alert.message == "STARTING -> ACTIVE"


def test_unknown_detail_type_and_bad_events_are_rejected_and_the_rest_kept():
    events = [
        event("MediaLive Multiplex Bogus", {}),
        channel_alert("SET", time="2026-11-26T19:02:10"),
        channel_alert("SET", time="2026-11-29T19:02:10Z"),
        channel_alert("MAYBE", time="2026-11-26T19:02:10Z"),
        "not an event",
        channel_alert("SET", time="2026-11-26T19:02:10+01:00"),
    ]

    result = eventbridge.parse(json.dumps(events), now=NOW)

    assert [(r.record, r.field) for r in result.rejected] == [
        (1, "detail-type"),
        (2, "time"),
        (3, "time"),
        (4, "detail"),
        (5, None),
    ]
    assert "no time zone" in result.rejected[1].reason
    assert "future" in result.rejected[2].reason
    [alert] = result.alerts
    assert alert.time == datetime(2026, 11, 26, 18, 2, 10, tzinfo=UTC)


def test_invalid_json_names_the_line():
    text = json.dumps([channel_alert("SET", time="2026-11-26T19:02:10Z")], indent=2)

    with pytest.raises(FormatError) as err:
        eventbridge.parse(text[:200], now=NOW)

    assert err.value.line == text[:200].count("\n") + 1


def test_a_bare_number_is_not_an_event_payload():
    with pytest.raises(FormatError) as err:
        eventbridge.parse(b"42", now=NOW)

    assert err.value.line == 1
