"""Each endpoint reads only the body it needs: larger is a 413 before parsing, no length a 411."""

import json
import uuid

from django.conf import settings

from retro.models import Entry


def big_entry(event, size: int) -> str:
    return json.dumps({"id": str(uuid.uuid4()), "kind": "win", "body": "x" * size})


def test_an_entry_body_over_the_request_limit_is_413_and_nothing_is_stored(operator_client, event):
    body = big_entry(event, settings.TALLY_REQUEST_MAX_BYTES + 1)
    response = operator_client.post(
        f"/api/v1/events/{event.slug}/entries/", body, content_type="application/json"
    )
    assert response.status_code == 413
    assert "byte limit" in response.json()["detail"]
    assert not Entry.objects.exists()


def test_ingest_takes_its_own_larger_limit_and_firehose_the_largest(operator_client, event):
    between = settings.TALLY_REQUEST_MAX_BYTES + 1024
    assert between < settings.TALLY_INGEST_MAX_BYTES < settings.TALLY_FIREHOSE_MAX_BYTES
    ingest = operator_client.post(
        f"/api/v1/ingest/generic/{event.slug}/kn1-contrib-a/",
        b"time,metric,value\n" + b"#" * between,
        content_type="text/csv",
    )
    assert ingest.status_code != 413  # read, then refused for what it says
    over = operator_client.post(
        f"/api/v1/ingest/generic/{event.slug}/kn1-contrib-a/",
        b"x" * (settings.TALLY_INGEST_MAX_BYTES + 1),
        content_type="text/csv",
    )
    assert over.status_code == 413
    firehose = operator_client.post(
        "/api/v1/ingest/firehose/",
        b"x" * (settings.TALLY_INGEST_MAX_BYTES + 1),
        content_type="application/json",
    )
    assert firehose.status_code != 413


def test_a_page_form_over_the_limit_is_413(operator_client, event):
    response = operator_client.post(
        f"/events/{event.slug}/settings/", {"username": "x" * (settings.TALLY_REQUEST_MAX_BYTES)}
    )
    assert response.status_code == 413


def test_a_chunked_body_without_a_length_is_411(operator_client, event):
    response = operator_client.generic(
        "POST",
        f"/api/v1/events/{event.slug}/entries/",
        big_entry(event, 10),
        content_type="application/json",
        CONTENT_LENGTH="",
        HTTP_TRANSFER_ENCODING="chunked",
    )
    assert response.status_code == 411
    assert "Content-Length" in response.json()["detail"]
    assert not Entry.objects.exists()
