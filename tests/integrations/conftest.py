"""Fixtures for ingestion tests: tokens, ingest keys, capture paths, a clean sample table."""

from datetime import timedelta
from pathlib import Path

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from integrations import services, storage
from tests.conftest import KEYNOTE_START
from tests.retime import retime

CAPTURES = Path(__file__).resolve().parent / "captures"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "telemetry-samples"


def capture(name: str) -> Path:
    """A capture file: the repo copy when present, else the shared sample."""
    path = CAPTURES / name
    return path if path.exists() else SHARED / name


def capture_on_air(name: str, offset: timedelta = timedelta(0)) -> bytes:
    """A capture's bytes with its first timestamp moved to the summit keynote's air time."""
    return retime(capture(name).read_bytes(), KEYNOTE_START + offset)


@pytest.fixture(autouse=True)
def _forget_cached_ids():
    """Metric ids cached by an earlier test's database are not this one's."""
    storage.forget_cached_ids()


@pytest.fixture
def operator_token_api(operator):
    """An API client using a real DRF token of an operator (as senders do)."""
    token, _ = Token.objects.get_or_create(user=operator)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def ingest_key(event, lead):
    """(IngestKey, secret) for the summit event."""
    return services.create_ingest_key(event=event, name="firehose", actor=lead)


@pytest.fixture
def key_api(ingest_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {ingest_key[1]}")
    return client


@pytest.fixture
def loss_burst(event):
    """Ten minutes of SRT stats on kn1-contrib-a from its air time, a loss burst at minute 5;
    (feed, start)."""
    from .telemetry_factory import ingest, srt_lines

    feed = event.feeds.get(slug="kn1-contrib-a")
    start = event.sessions.get(slug="kn1").scheduled_start
    ingest(
        event,
        "srt-json",
        srt_lines(start, 600, lost=lambda t: 40 if 300 <= t < 310 else 0),
        feed=feed,
    )
    return feed, start
