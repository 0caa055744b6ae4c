"""Amazon EventBridge events from MediaLive and MediaConnect (one event, a JSON list, or JSON
lines: one event per line, as EventBridge archives and most tools write; a line that is not
JSON is rejected on its own, record = line number).

Each event becomes one ``Alert``; the time is the event's ``time`` (ISO 8601, zone required).

MediaLive (source ``"{channel id}:{pipeline}"``, the channel id being the last part of
``channel_arn``, or the channel id alone when the event has no pipeline):

- ``MediaLive Channel Alert`` -> kind ``medialive_alert``, state ``set``/``cleared`` from
  ``alarm_state``, ``alarm_id`` from the detail (it pairs SET with CLEARED).
- ``MediaLive Channel State Change`` -> ``medialive_state_change``, state ``info``.
- ``MediaLive Channel Input Change`` -> ``medialive_input_change``, state ``info``.
- ``MediaLive Multiplex Alert`` / ``MediaLive Multiplex State Change`` -> ``medialive_multiplex_*``
  with the multiplex id as source.

MediaConnect (source = the flow ARN from ``resources``):

- ``MediaConnect Alert`` -> ``mediaconnect_alert``: ``errored`` true sets, false clears;
  ``alarm_id`` is the ``error-code``.
- ``MediaConnect Source Health`` / ``Flow Health`` / ``Output Health`` ->
  ``mediaconnect_source_health`` / ``_flow_health`` / ``_output_health``: ``unhealthy`` true sets,
  false clears (Output Health without that flag: DISCONNECTED sets, CONNECTED/SENDING clears);
  ``alarm_id`` is the kind plus the source/output ARN.
- ``MediaConnect Flow Status Change``, ``Output Status Change``, ``Flow Maintenance``,
  ``Flow Content Quality`` -> ``mediaconnect_flow_status`` etc., state ``info`` (Content Quality
  honours an ``unhealthy`` flag when present).

Info events use the EventBridge event ``id`` as ``alarm_id`` (unique, so a redelivery can be
recognised). ``detail`` is the event's detail plus ``event_id``, ``detail_type`` and
``resources``. Unknown detail fields are kept; an unknown ``detail-type`` rejects the event.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

from .base import (
    Alert,
    FormatError,
    ParseResult,
    Rejected,
    decode_text,
    future_reason,
    load_json,
    parse_iso_time,
    require_aware,
    utc_now,
)

KINDS: dict[str, str] = {
    "MediaLive Channel Alert": "medialive_alert",
    "MediaLive Channel State Change": "medialive_state_change",
    "MediaLive Channel Input Change": "medialive_input_change",
    "MediaLive Multiplex Alert": "medialive_multiplex_alert",
    "MediaLive Multiplex State Change": "medialive_multiplex_state_change",
    "MediaConnect Alert": "mediaconnect_alert",
    "MediaConnect Source Health": "mediaconnect_source_health",
    "MediaConnect Flow Health": "mediaconnect_flow_health",
    "MediaConnect Output Health": "mediaconnect_output_health",
    "MediaConnect Flow Status Change": "mediaconnect_flow_status",
    "MediaConnect Output Status Change": "mediaconnect_output_status",
    "MediaConnect Flow Maintenance": "mediaconnect_flow_maintenance",
    "MediaConnect Flow Content Quality": "mediaconnect_content_quality",
}

# (state, alarm_id, message) derived from one event, or a rejection reason
_Outcome = tuple[str, str, str] | str


def parse(data: bytes | str, *, now: datetime | None = None) -> ParseResult:
    """Parse one EventBridge event, a JSON list of them, or JSON lines (one event per line)."""
    now = require_aware(now, "now") or utc_now()
    text = decode_text(data)
    result = ParseResult(samples=[], alerts=[], rejected=[])
    try:
        payload = load_json(text)
    except FormatError:
        if not text.lstrip().startswith("{"):
            raise
        numbered = _json_lines(text, result)  # an archive: one event per line
    else:
        if not isinstance(payload, list | dict):
            raise FormatError("expected an event object or a list of events", line=1)
        numbered = enumerate(payload if isinstance(payload, list) else [payload], 1)
    for number, event in numbered:
        alert = _alert(event, now)
        if isinstance(alert, Alert):
            result.alerts.append(alert)
        else:
            result.rejected.append(Rejected(number, alert[0], alert[1]))
    return result


def _json_lines(text: str, result: ParseResult) -> list[tuple[int, object]]:
    """(line number, event) per non-blank line; a line that is not JSON is rejected on its
    own. When no line is JSON, the payload as a whole is not: the first error is raised."""
    events, first_error = [], None
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            events.append((number, load_json(line, line_offset=number - 1)))
        except FormatError as err:
            first_error = first_error or err
            result.rejected.append(Rejected(number, None, err.message))
    if not events and first_error is not None:
        raise first_error
    return events


def _alert(event: object, now: datetime) -> Alert | tuple[str | None, str]:
    """Turn one event into an Alert, or return (field, reason) for a rejection."""
    if not isinstance(event, dict):
        return None, "event is not a JSON object"
    detail_type = event.get("detail-type")
    kind = KINDS.get(detail_type) if isinstance(detail_type, str) else None
    if kind is None:
        return "detail-type", f"unknown detail-type: {detail_type!r:.80}"
    detail = event.get("detail")
    if not isinstance(detail, dict):
        return "detail", "missing detail object"
    moment = _event_time(event.get("time"), now)
    if isinstance(moment, str):
        return "time", moment
    source = _source(kind, detail, event.get("resources"))
    outcome = _OUTCOMES[kind](kind, detail, event, source)
    if isinstance(outcome, str):
        return "detail", outcome
    state, alarm_id, message = outcome
    full = {
        **detail,
        "event_id": event.get("id"),
        "detail_type": detail_type,
        "resources": event.get("resources"),
    }
    return Alert(source, alarm_id, state, kind, moment, message, full)


def _event_time(value: object, now: datetime) -> datetime | str:
    """The event time in UTC, or the reason it cannot be used."""
    if not isinstance(value, str):
        return "missing time"
    moment = parse_iso_time(value)
    if isinstance(moment, str):
        return moment
    return future_reason(moment, now) or moment


def _resources(resources: object) -> list[str]:
    """The event's resource ARNs (strings only)."""
    if not isinstance(resources, list):
        return []
    return [item for item in resources if isinstance(item, str)]


def _source(kind: str, detail: dict, resources: object) -> str | None:
    """Channel id:pipeline for MediaLive, the flow ARN for MediaConnect."""
    arns = _resources(resources)
    if kind.startswith("mediaconnect"):
        flows = [arn for arn in arns if ":flow:" in arn]
        return (flows or arns or [None])[0]
    arn = detail.get("multiplex_arn") if "multiplex" in kind else detail.get("channel_arn")
    if not isinstance(arn, str) or not arn:
        arn = arns[0] if arns else None
    if arn is None:
        return None
    resource_id = arn.rsplit(":", 1)[-1]
    pipeline = detail.get("pipeline")
    if isinstance(pipeline, bool) or not isinstance(pipeline, str | int):
        return resource_id
    return f"{resource_id}:{pipeline}"


def _text(value: object) -> str:
    """A detail value as display text."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


def _medialive_alert(kind: str, detail: dict, event: dict, source: str | None) -> _Outcome:
    """SET/CLEARED alarms of a channel or multiplex."""
    state = {"SET": "set", "CLEARED": "cleared"}.get(str(detail.get("alarm_state", "")).upper())
    alarm_id = detail.get("alarm_id")
    if state is None:
        return f"alarm_state is not SET or CLEARED: {detail.get('alarm_state')!r:.40}"
    if not isinstance(alarm_id, str) or not alarm_id:
        return "missing alarm_id"
    message = detail.get("message") or detail.get("alert_type") or ""
    alert_type = detail.get("alert_type")
    if alert_type and detail.get("message"):
        message = f"{alert_type}: {detail['message']}"
    return state, alarm_id, _text(message)


def _info(kind: str, detail: dict, event: dict, source: str | None) -> _Outcome:
    """State and input changes: informational, keyed by the event id."""
    message = detail.get("message")
    if not message and "active_input_attachment_name" in detail:
        message = f"active input: {detail['active_input_attachment_name']}"
    if not message and "currentStatus" in detail:
        message = f"{detail.get('previousStatus', '?')} -> {detail['currentStatus']}"
    if not message and "state" in detail:
        message = f"state: {detail['state']}"
    if not message and isinstance(detail.get("current"), dict):
        message = _describe_health(detail)
    event_id = event.get("id")
    alarm_id = event_id if isinstance(event_id, str) and event_id else f"{kind}:{event.get('time')}"
    state = "info"
    if kind == "mediaconnect_content_quality" and isinstance(detail.get("unhealthy"), bool):
        state = "set" if detail["unhealthy"] else "cleared"
        alarm_id = f"{kind}:{source}"
    return state, alarm_id, _text(message or json.dumps(detail, sort_keys=True, default=str))


def _mediaconnect_alert(kind: str, detail: dict, event: dict, source: str | None) -> _Outcome:
    """Flow errors: errored true sets the alarm named by the error code, false clears it."""
    errored = detail.get("errored")
    if not isinstance(errored, bool):
        return "errored is not true or false"
    code = detail.get("error-code") or "error"
    message = detail.get("error-message") or code
    return ("set" if errored else "cleared"), _text(code), _text(message)


def _health(kind: str, detail: dict, event: dict, source: str | None) -> _Outcome:
    """Source, flow and output health: unhealthy sets, healthy clears."""
    unhealthy = detail.get("unhealthy")
    if not isinstance(unhealthy, bool):
        unhealthy = _UNHEALTHY_STATES.get(str(_current(detail).get("state", "")).upper())
    if unhealthy is None:
        return _info(kind, detail, event, source)
    part = [arn for arn in _resources(event.get("resources")) if ":flow:" not in arn]
    alarm_id = f"{kind}:{part[0] if part else source}"
    return ("set" if unhealthy else "cleared"), alarm_id, _describe_health(detail)


_UNHEALTHY_STATES = {"DISCONNECTED": True, "CONNECTED": False, "SENDING": False}


def _current(detail: dict) -> dict:
    """The ``current`` part of a health detail, or an empty dict."""
    current = detail.get("current")
    return current if isinstance(current, dict) else {}


def _describe_health(detail: dict) -> str:
    """Summarise a health detail: state and the TR 101 290 indicators that are true."""
    current = _current(detail)
    state = current.get("source_state") or current.get("state") or "unknown"
    tr101 = current.get("tr101") if isinstance(current.get("tr101"), dict) else {}
    errors = sorted(name for name, value in tr101.items() if value is True)
    parts = [f"state {state}", *errors]
    if "failover_switch" in current:
        parts.append(f"failover switch {current['failover_switch']}")
    return "; ".join(parts)


_OUTCOMES: dict[str, Callable[[str, dict, dict, str | None], _Outcome]] = {
    "medialive_alert": _medialive_alert,
    "medialive_multiplex_alert": _medialive_alert,
    "medialive_state_change": _info,
    "medialive_input_change": _info,
    "medialive_multiplex_state_change": _info,
    "mediaconnect_alert": _mediaconnect_alert,
    "mediaconnect_source_health": _health,
    "mediaconnect_flow_health": _health,
    "mediaconnect_output_health": _health,
    "mediaconnect_flow_status": _info,
    "mediaconnect_output_status": _info,
    "mediaconnect_flow_maintenance": _info,
    "mediaconnect_content_quality": _info,
}
