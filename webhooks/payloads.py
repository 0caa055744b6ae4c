"""What a delivery says: the JSON document, or a Slack/Mattermost incoming-webhook message.

A payload is built once per announcement and format, stored in the delivery and sent byte
for byte on every attempt, so the signature a receiver checks never changes.
"""

from dataclasses import dataclass, field
from datetime import datetime

import orjson
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from integrations.models import Anomaly
from reports.models import Report
from retro.models import Entry, Event
from tally.times import in_zone

from .models import PING


@dataclass
class Subject:
    """What an announcement is about, in the words both formats use."""

    title: str
    text: str = ""
    kind: str = ""
    feed: str = ""
    session: str = ""
    at: datetime | None = None
    url: str = ""
    data: dict = field(default_factory=dict)


def _link(path: str) -> str:
    return f"{settings.TALLY_BASE_URL}{path}"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def _entry(entry: Entry, name: str, details: dict) -> Subject:
    feeds = list(entry.feeds.all())
    verb = {
        "entry.created": "logged",
        "entry.changed": "edited",
        "action.due": "falls due today",
        "action.overdue": "is overdue",
    }.get(name, "")
    data = {
        "id": str(entry.pk),
        "kind": entry.kind,
        "body": entry.body,
        "occurred_at": _iso(entry.occurred_at),
        "feeds": [f.slug for f in feeds],
        "session": entry.session.slug if entry.session else None,
        "stage": entry.stage or None,
        "tags": entry.tags,
        "impact": entry.impact or None,
        "author": entry.author.username if entry.author else None,
        "version": entry.version,
    }
    if entry.kind == Entry.Kind.ACTION:
        data |= {
            "owner": entry.owner.username if entry.owner else None,
            "due": entry.due.isoformat() if entry.due else None,
            "status": entry.status,
        }
    if details.get("changes"):
        data["changes"] = details["changes"]
    return Subject(
        title=f"{entry.get_kind_display()} {verb}",
        text=entry.body,
        kind=entry.get_kind_display(),
        feed=", ".join(f.name for f in feeds),
        session=entry.session.title if entry.session else "",
        at=entry.occurred_at,
        url=_link(entry.get_absolute_url()),
        data=data,
    )


def _anomaly(anomaly: Anomaly, name: str, details: dict) -> Subject:
    feed = anomaly.feed
    closed = name == "anomaly.closed"
    data = {
        "id": anomaly.pk,
        "kind": anomaly.kind,
        "feed": feed.slug,
        "session": feed.session.slug if feed.session else None,
        "start": _iso(anomaly.start),
        "end": _iso(anomaly.end),
        "peak": anomaly.peak,
        "unit": anomaly.unit,
        "source": anomaly.source,
    }
    return Subject(
        title=f"Anomaly {'closed' if closed else 'opened'}: {anomaly.get_kind_display()}",
        text=anomaly.detail.get("message") or anomaly.detail.get("reason") or "",
        kind=anomaly.get_kind_display(),
        feed=feed.name,
        session=feed.session.title if feed.session else "",
        at=anomaly.end if closed else anomaly.start,
        url=_link(reverse("feed-page", kwargs={"slug": feed.event.slug, "feed": feed.slug})),
        data=data,
    )


def _retro(event: Event, name: str, details: dict) -> Subject:
    return Subject(
        title=f"Retro of {event.name} finalized",
        text=event.retro_override_reason,
        kind="Retro",
        at=event.retro_finalized_at,
        url=_link(reverse("meeting-page", kwargs={"slug": event.slug})),
        data={"finalized_at": _iso(event.retro_finalized_at)},
    )


def _report(report: Report, name: str, details: dict) -> Subject:
    return Subject(
        title=f"{report.get_format_display()} report of {report.event.name} ready",
        kind="Report",
        at=report.finished_at,
        url=_link(reverse("event-reports", kwargs={"slug": report.event.slug})),
        data={
            "id": report.pk,
            "format": report.format,
            "variant": report.variant,
            "size": report.size,
            "finished_at": _iso(report.finished_at),
        },
    )


def _ping(event: Event, name: str, details: dict) -> Subject:
    return Subject(
        title=f"Tally webhook of {event.name} connected",
        text="Deliveries will follow for the events this webhook listens to.",
        at=timezone.now(),
        url=_link(reverse("event-settings", kwargs={"slug": event.slug})),
    )


BUILDERS = {Entry: _entry, Anomaly: _anomaly, Report: _report}


def subject_of(name: str, obj, details: dict) -> Subject:
    if name == PING:
        return _ping(obj, name, details)
    if isinstance(obj, Event):
        return _retro(obj, name, details)
    return BUILDERS[type(obj)](obj, name, details)


def as_json(name: str, event: Event, subject: Subject, delivery_id: str) -> bytes:
    """The JSON format: the event name, the Tally event, and the subject's fields."""
    document = {
        "event": name,
        "delivery": delivery_id,
        "tally_event": {"slug": event.slug, "name": event.name, "time_zone": event.time_zone},
        "title": subject.title,
        "at": _iso(subject.at),
        "at_event_zone": in_zone(subject.at, event, "iso") if subject.at else None,
        "url": subject.url,
        "data": subject.data,
    }
    return orjson.dumps(document)


def _escape(text: str) -> str:
    """Slack's mrkdwn treats &, < and > as markup: a body cannot forge a link or a mention."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def as_slack(name: str, event: Event, subject: Subject) -> bytes:
    """An incoming-webhook message: `text` (all Mattermost shows) plus Slack blocks."""
    when = in_zone(subject.at, event, "date") if subject.at else ""
    facts = [
        ("Kind", subject.kind),
        ("Feed", subject.feed),
        ("Session", subject.session),
        ("Time", f"{when} ({event.time_zone})" if when else ""),
    ]
    facts = [(label, value) for label, value in facts if value]
    headline = f"*{_escape(subject.title)}* · {_escape(event.name)}"
    body = _escape(subject.text[:2500])
    lines = [headline, *(f"{label}: {_escape(value)}" for label, value in facts)]
    if body:
        lines.append(f"> {body}")
    lines.append(f"<{subject.url}|Open in Tally>")
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": headline}}]
    if body:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": body}})
    if facts:
        blocks.append(
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*{label}*\n{_escape(value)}"}
                    for label, value in facts
                ],
            }
        )
    blocks.append(
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": f"<{subject.url}|Open in Tally>"}],
        }
    )
    return orjson.dumps({"text": "\n".join(lines), "blocks": blocks})
