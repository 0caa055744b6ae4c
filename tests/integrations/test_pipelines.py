"""Two pipelines of one MediaLive channel on one feed keep both series: a feed listing
``ch:0`` and ``ch:1`` stores every sample of each (the metric name carries the pipeline),
charts them together, keeps its rollups exact and stores a resend once; a pipeline's trouble
is that pipeline's, so one pipeline down is redundancy lost, both down viewer impact.
Payloads are the shared real-format Firehose delivery (CloudWatch Metric Streams JSON,
``ChannelId`` + ``Pipeline`` 0 and 1) and EventBridge alerts."""

import base64
import json
import re
from datetime import timedelta

import pytest

from integrations import onair, pipelines
from integrations.formats import parse
from integrations.models import Anomaly, TelemetrySample
from retro import services as retro_services

from .conftest import capture_on_air
from .telemetry_factory import eventbridge, ingest
from .test_dedup import assert_rollups_exact, process_all

pytestmark = pytest.mark.django_db

CHANNEL = "4816235"  # the MediaLive channel of the shared Firehose sample


def firehose_body() -> bytes:
    """The shared Firehose delivery, moved to the keynote's air time."""
    return capture_on_air("firehose-metric-stream-clean.http").partition(b"\r\n\r\n")[2]


def with_input_loss(body: bytes, pipelines_lost: set[str], minute: int) -> bytes:
    """The delivery with `medialive.InputLossSeconds` at 35 s in its `minute`-th minute on
    the named pipelines (the datapoints keep the Metric Streams layout)."""
    envelope = json.loads(body)
    first = min(
        json.loads(line)["timestamp"]
        for record in envelope["records"]
        for line in base64.b64decode(record["data"]).decode().splitlines()
    )
    for record in envelope["records"]:
        points = [json.loads(line) for line in base64.b64decode(record["data"]).decode().split()]
        for point in points:
            lost = point["dimensions"].get("Pipeline") in pipelines_lost
            at_minute = point["timestamp"] == first + minute * 60_000
            if point["metric_name"] == "InputLossSeconds" and lost and at_minute:
                point["value"] = {"count": 1, "sum": 35.0, "max": 35.0, "min": 35.0}
        text = "".join(json.dumps(p) + "\n" for p in points)
        record["data"] = base64.b64encode(text.encode()).decode()
    return json.dumps(envelope).encode()


@pytest.fixture
def program(event, lead):
    """kn1-program lists both pipelines of the sample's channel (a standard channel)."""
    feed = event.feeds.get(slug="kn1-program")
    retro_services.update_feed(feed=feed, actor=lead, source_ids=[f"{CHANNEL}:0", f"{CHANNEL}:1"])
    return feed


def post_firehose(anon_api, ingest_key, body: bytes, request_id: str) -> None:
    response = anon_api.post(
        "/api/v1/ingest/firehose/",
        body,
        content_type="application/json",
        HTTP_X_AMZ_FIREHOSE_ACCESS_KEY=ingest_key[1],
        HTTP_X_AMZ_FIREHOSE_REQUEST_ID=request_id,
    )
    assert response.status_code == 200, response.content


def medialive_samples(body: bytes) -> list:
    return [s for s in parse("firehose", body).samples if s.source.startswith(f"{CHANNEL}:")]


def test_both_pipelines_of_a_channel_on_one_feed_are_stored(anon_api, ingest_key, program):
    body = firehose_body()
    post_firehose(anon_api, ingest_key, body, "delivery-1")
    (batch,) = process_all()
    sent = medialive_samples(body)
    assert batch.state == "quarantined"  # the MediaConnect flow maps to no feed here
    assert (batch.samples, batch.replaced, batch.duplicates) == (len(sent), 0, 0)
    stored = TelemetrySample.objects.filter(feed=program)
    assert stored.count() == len(sent) == 2 * 11 * 5  # 2 pipelines x 11 series x 5 minutes
    by_name = {}
    for name, value in stored.values_list("metric__name", "value"):
        by_name.setdefault(name, []).append(value)
    expected = {}
    for s in sent:
        name = pipelines.qualify(s.metric, s.source.rsplit(":", 1)[1])
        expected.setdefault(name, []).append(s.value)
    assert {k: sorted(v) for k, v in by_name.items()} == {k: sorted(v) for k, v in expected.items()}
    assert "medialive.NetworkIn/pipeline-0" in by_name
    assert "medialive.NetworkIn/pipeline-1" in by_name
    assert by_name["medialive.NetworkIn/pipeline-0"] != by_name["medialive.NetworkIn/pipeline-1"]
    assert_rollups_exact()


def test_a_resent_delivery_of_two_pipelines_adds_nothing(anon_api, ingest_key, program):
    body = firehose_body()
    post_firehose(anon_api, ingest_key, body, "delivery-1")
    post_firehose(anon_api, ingest_key, body, "delivery-1-again-as-new")
    first, again = process_all()
    assert first.samples == len(medialive_samples(body))
    assert (again.samples, again.replaced, again.duplicates) == (0, 0, first.samples)
    assert TelemetrySample.objects.filter(feed=program).count() == first.samples
    assert_rollups_exact()


def test_a_feed_with_one_pipeline_keeps_the_plain_metric_names(event, lead, anon_api, ingest_key):
    feed = event.feeds.get(slug="kn1-program")
    retro_services.update_feed(feed=feed, actor=lead, source_ids=[f"{CHANNEL}:0"])
    post_firehose(anon_api, ingest_key, firehose_body(), "delivery-1")
    process_all()
    names = set(TelemetrySample.objects.filter(feed=feed).values_list("metric__name", flat=True))
    assert "medialive.NetworkIn" in names
    assert not [n for n in names if pipelines.MARK in n]


def test_generic_samples_under_pipeline_source_ids_keep_both(event, program, operator_token_api):
    moment = event.sessions.get(slug="kn1").scheduled_start
    records = [
        {"source": f"{CHANNEL}:{p}", "metric": "medialive.NetworkIn", "time": t, "value": v}
        for p, v in (("0", 4.5), ("1", 4.25))
        for t in (moment.isoformat(), (moment + timedelta(minutes=1)).isoformat())
    ]
    response = operator_token_api.post("/api/v1/ingest/generic/summit/", records, format="json")
    assert response.status_code == 202, response.content
    response = operator_token_api.post(  # the same, to the feed's own URL
        "/api/v1/ingest/generic/summit/kn1-program/", records, format="json"
    )
    assert response.status_code == 202, response.content
    first, again = process_all()
    assert (first.samples, again.samples, again.duplicates) == (4, 0, 4)
    values = dict(
        TelemetrySample.objects.filter(feed=program, time=moment).values_list(
            "metric__name", "value"
        )
    )
    assert values == {"medialive.NetworkIn/pipeline-0": 4.5, "medialive.NetworkIn/pipeline-1": 4.25}


def redundancy(event) -> dict:
    return {row["feed"]: row for row in onair.redundancy_lost(event)}


def impact(event) -> dict:
    return {row["feed"]: row["minutes"] for row in onair.viewer_impact(event)}


def test_input_loss_on_one_pipeline_is_that_pipelines_and_redundancy_lost(
    anon_api, ingest_key, program
):
    post_firehose(anon_api, ingest_key, with_input_loss(firehose_body(), {"1"}, 2), "loss-1")
    process_all()
    (anomaly,) = Anomaly.objects.filter(feed=program)
    assert (anomaly.kind, anomaly.key) == ("input_loss", "medialive.InputLossSeconds/pipeline-1")
    assert impact(program.event) == {}
    assert redundancy(program.event)["kn1-program"]["covered_by"] == ["pipeline 0"]
    assert redundancy(program.event)["kn1-program"]["minutes"] == 1.0


def test_input_loss_on_both_pipelines_at_once_is_viewer_impact(anon_api, ingest_key, program):
    post_firehose(anon_api, ingest_key, with_input_loss(firehose_body(), {"0", "1"}, 2), "loss")
    process_all()
    keys = sorted(Anomaly.objects.filter(feed=program).values_list("key", flat=True))
    assert keys == [
        "medialive.InputLossSeconds/pipeline-0",
        "medialive.InputLossSeconds/pipeline-1",
    ]
    assert impact(program.event)["kn1-program"] == 1.0


def test_a_pipeline_alarm_and_its_metric_name_the_same_pipeline(event, program):
    start = event.sessions.get(slug="kn1").scheduled_start + timedelta(minutes=5)
    for state, moment in (("SET", start), ("CLEARED", start + timedelta(minutes=2))):
        alert = json.loads(eventbridge("loss-1", state, moment))
        alert["detail"]["pipeline"] = "1"
        alert["detail"]["channel_arn"] = alert["detail"]["channel_arn"].replace("ch-kn1", CHANNEL)
        alert["resources"] = [alert["detail"]["channel_arn"]]
        ingest(event, "eventbridge", json.dumps(alert).encode())
    assert redundancy(event)["kn1-program"]["covered_by"] == ["pipeline 0"]
    assert impact(event) == {}


def test_the_feed_page_charts_both_pipelines_in_one_chart(
    anon_api, ingest_key, program, viewer_client
):
    post_firehose(anon_api, ingest_key, firehose_body(), "delivery-1")
    process_all()
    start = min(TelemetrySample.objects.filter(feed=program).values_list("time", flat=True))
    query = {
        "start": (start - timedelta(minutes=1)).isoformat(),
        "end": (start + timedelta(minutes=6)).isoformat(),
    }
    response = viewer_client.get("/events/summit/telemetry/kn1-program/", query)
    assert response.status_code == 200
    page = response.content.decode()
    titles = re.findall(r"<title>([^<]*)</title>", page)
    network_in = [t for t in titles if t.startswith("medialive.NetworkIn")]
    assert network_in == ["medialive.NetworkIn (Mb/s)"]  # one chart, both pipelines
    chart = page[page.index("medialive.NetworkIn (Mb/s)") :]
    chart = chart[: chart.index("</svg>")]
    assert "pipeline 0" in chart and "pipeline 1" in chart
