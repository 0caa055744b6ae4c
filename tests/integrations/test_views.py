"""The ingest page: leads see batches and keys, create a key once, map an unknown source."""

from datetime import timedelta

import pytest

from integrations import services, tasks
from integrations.models import IngestBatch, IngestKey, TelemetrySample, UnmappedSource
from retro.models import Feed
from tests.conftest import KEYNOTE_START, iso

pytestmark = pytest.mark.django_db

ARN = "arn:aws:mediaconnect:us-west-2:111122223333:flow:1-unknown:spare"


def generic_for(source: str) -> bytes:
    first, second = iso(KEYNOTE_START), iso(KEYNOTE_START + timedelta(minutes=1))
    return (
        "time,source,metric,value,unit\n"
        f"{first},{source},mediaconnect.SourceBitRate,8000000,b/s\n"
        f"{second},{source},mediaconnect.SourceBitRate,8100000,b/s\n"
        f"{second},srt://kn1-contrib-a,recv.mbitRate,1.5,Mb/s\n"
    ).encode()


def test_only_leads_see_the_ingest_page(operator_client, event):
    assert operator_client.get("/events/summit/ingest/").status_code == 403


def test_new_key_is_shown_once_and_can_be_revoked(lead_client, event):
    response = lead_client.post("/events/summit/ingest/keys/", {"name": "firehose"}, follow=True)
    key = IngestKey.objects.get()
    secret = response.context["new_key"]["secret"]
    assert secret.startswith(key.prefix)
    assert services.check_ingest_key(secret) == key
    assert secret not in lead_client.get("/events/summit/ingest/").content.decode()
    lead_client.post(f"/events/summit/ingest/keys/{key.pk}/revoke/")
    assert services.check_ingest_key(secret) is None


def test_mapping_an_unknown_source_stores_only_the_quarantined_part(lead_client, event):
    batch, _ = services.ingest_batch(event=event, fmt="generic-csv", body=generic_for(ARN))
    tasks.process_batch(batch.pk)
    batch.refresh_from_db()
    assert batch.state == "quarantined" and batch.samples == 1
    assert UnmappedSource.objects.get().samples == 2
    page = lead_client.get("/events/summit/ingest/").content.decode()
    assert ARN in page
    feed = Feed.objects.get(slug="kn1-program")
    lead_client.post("/events/summit/ingest/map/", {"source_id": ARN, "feed": feed.pk})
    tasks.reprocess_quarantined(event.pk, ARN)  # what on_commit enqueues
    tasks.reprocess_quarantined(event.pk, ARN)  # twice: nothing stored twice
    batch.refresh_from_db()
    assert batch.state == "done" and batch.samples == 3
    assert TelemetrySample.objects.filter(feed=feed).count() == 2
    assert TelemetrySample.objects.count() == 3
    assert ARN in Feed.objects.get(pk=feed.pk).source_ids
    assert not UnmappedSource.objects.exists()
    assert IngestBatch.objects.count() == 1
