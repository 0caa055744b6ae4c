"""Entries for report tests, logged through the entry service, and PDF text extraction."""

import io
import uuid
from datetime import timedelta

from pypdf import PdfReader

from retro.models import Entry, Site
from retro.services import log_entry
from tests.conftest import EVENT_START

ACTION_DUE = (EVENT_START + timedelta(days=45)).date()


def add_entry(event, author, kind, body, **fields) -> Entry:
    fields.setdefault("occurred_at", EVENT_START + timedelta(hours=2, minutes=10))
    entry, _ = log_entry(
        event=event, author=author, kind=kind, body=body, client_id=uuid.uuid4(), **fields
    )
    return entry


def retro_entries(event, lead, operator) -> dict[str, Entry]:
    """A shareable win, a private learning, a shareable learning and two actions."""
    keynote = event.sessions.get(slug="kn1")
    feed = event.feeds.get(slug="kn1-contrib-a")
    venue = Site.objects.get(slug="venue")
    return {
        "win": add_entry(
            event,
            operator,
            "win",
            "Failover to path B was seamless",
            session=keynote,
            stage="contribution",
            shareable=True,
            site=venue,
        ),
        "private": add_entry(
            event,
            operator,
            "learning",
            "Internal only: vendor contract dispute about encoders",
            session=keynote,
            feeds=[feed],
            impact="on_air",
            site=venue,
        ),
        "learning": add_entry(
            event,
            lead,
            "learning",
            "SRT latency too low on the ASL return",
            session=keynote,
            stage="distribution",
            shareable=True,
        ),
        "action": add_entry(
            event,
            lead,
            "action",
            "Raise SRT latency to 4x RTT",
            session=keynote,
            stage="contribution",
            owner=operator,
            due=ACTION_DUE,
            shareable=True,
        ),
        "private_action": add_entry(
            event,
            lead,
            "action",
            "Renegotiate the encoder support contract",
            owner=lead,
            stage="handoff",
        ),
    }


def pdf_text(data: bytes) -> tuple[str, int]:
    """All text of a PDF (pages joined) and its page count."""
    reader = PdfReader(io.BytesIO(data))
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    return text, len(reader.pages)


def normalized(text: str) -> str:
    return " ".join(text.split())
