"""Every bad input Tally must refuse, listed in one place.

Each case sends one bad request through the real API and expects a clear 4xx with a JSON
error, and nothing stored: the row counts of every table that could have been written
are the same before and after.
"""

import gzip
import json
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.apps import apps
from rest_framework.test import APIClient

from integrations import services as ingest_services
from retro import services
from runbooks import services as runbook_services
from tests.conftest import EVENT_START, iso

NAIVE_IN_EVENT = (EVENT_START + timedelta(hours=3)).replace(tzinfo=None).isoformat()

WATCHED = [
    "retro.Entry",
    "retro.EntryRevision",
    "retro.Feed",
    "retro.Event",
    "reports.Report",
    "integrations.IngestBatch",
    "integrations.TelemetryRollup",
    "runbooks.Runbook",
    "runbooks.RunbookRevision",
    "runbooks.RunStep",
]


@dataclass
class Case:
    """One bad request: who sends it, what, and the status expected."""

    name: str
    method: str
    url: str
    body: object = None
    status: int = 400
    who: str = "operator"
    content_type: str = "application/json"
    headers: dict = field(default_factory=dict)
    mentions: str = ""  # a word the error must contain (the field or the problem)


@pytest.fixture
def world(event, operator, lead, viewer, outsider):
    """An entry, a runbook with a finished run, and an ingest key to aim bad input at."""
    entry, _ = services.log_entry(
        event=event,
        author=operator,
        kind="learning",
        body="loss on ASL return",
        occurred_at=event.start + timedelta(hours=3),
    )
    services.edit_entry(entry=entry, editor=operator, version=1, body="loss on the ASL return")
    runbook = runbook_services.create_runbook(
        title="Failover", stage="contribution", author=lead, body="# Path B\n- [ ] switch to B\n"
    )
    run = runbook_services.start_run(runbook=runbook, event=event, started_by=operator)
    runbook_services.finish_run(run=run, actor=operator)
    _, key = ingest_services.create_ingest_key(event=event, name="firehose", actor=lead)
    return {"entry": entry, "runbook": runbook, "run": run, "key": key}


def entry(event, **overrides):
    body = {
        "id": str(uuid.uuid4()),
        "kind": "learning",
        "body": "SRT latency too low",
        "occurred_at": (event.start + timedelta(hours=2)).isoformat(),
    }
    body.update(overrides)
    return body


def deep_json(depth: int) -> bytes:
    return ("[" * depth + "]" * depth).encode()


def cases(event, world) -> list[Case]:
    e = f"/api/v1/events/{event.slug}"
    entry_url = f"/api/v1/entries/{world['entry'].pk}/"
    srt = f"/api/v1/ingest/srt/{event.slug}/kn1-contrib-a/"
    firehose_headers = {
        "HTTP_X_AMZ_FIREHOSE_ACCESS_KEY": world["key"],
        "HTTP_X_AMZ_FIREHOSE_REQUEST_ID": str(uuid.uuid4()),
    }
    rb = f"/api/v1/runbooks/{world['runbook'].slug}"
    later = (event.end + timedelta(days=3)).isoformat()
    hour, day = timedelta(hours=1), timedelta(days=1)
    on_air = event.start + 2 * hour
    return [
        Case("empty body", "post", f"{e}/entries/", entry(event, body="   "), mentions="body"),
        Case(
            "body over 20,000 characters",
            "post",
            f"{e}/entries/",
            entry(event, body="x" * 20_001),
            mentions="body",
        ),
        Case(
            "NUL character", "post", f"{e}/entries/", entry(event, body="a\x00b"), mentions="body"
        ),
        Case("unknown kind", "post", f"{e}/entries/", entry(event, kind="rant"), mentions="kind"),
        Case(
            "time without zone",
            "post",
            f"{e}/entries/",
            entry(event, occurred_at=NAIVE_IN_EVENT),
            mentions="occurred_at",
        ),
        Case(
            "unparseable time",
            "post",
            f"{e}/entries/",
            entry(event, occurred_at="yesterday-ish"),
            mentions="occurred_at",
        ),
        Case(
            "more than 2 days outside the event",
            "post",
            f"{e}/entries/",
            entry(event, occurred_at=later),
            mentions="occurred_at",
        ),
        Case(
            "feed of another event",
            "post",
            f"{e}/entries/",
            entry(event, feeds=["x-feed"]),
            mentions="feeds",
        ),
        Case(
            "session of another event",
            "post",
            f"{e}/entries/",
            entry(event, session="t1"),
            mentions="session",
        ),
        Case(
            "owner not a member",
            "post",
            f"{e}/entries/",
            entry(event, kind="action", owner="outsider1"),
            mentions="owner",
        ),
        Case(
            "due date in the past",
            "post",
            f"{e}/entries/",
            entry(event, kind="action", due=(event.start - timedelta(days=365)).date().isoformat()),
            mentions="due",
        ),
        Case(
            "action fields on a win",
            "post",
            f"{e}/entries/",
            entry(event, kind="win", status="open"),
            mentions="status",
        ),
        Case(
            "not JSON", "post", f"{e}/entries/", "{kind: learning", content_type="application/json"
        ),
        Case("viewer may not log", "post", f"{e}/entries/", entry(event), status=403, who="viewer"),
        Case(
            "outsider sees nothing",
            "post",
            f"{e}/entries/",
            entry(event),
            status=404,
            who="outsider",
        ),
        Case("anonymous", "post", f"{e}/entries/", entry(event), status=401, who="anonymous"),
        Case(
            "stale version",
            "patch",
            entry_url,
            {"version": 1, "body": "overwrite"},
            status=409,
            who="lead",
            mentions="version",
        ),
        Case(
            "patch without version",
            "patch",
            entry_url,
            {"body": "overwrite"},
            who="lead",
            mentions="version",
        ),
        Case(
            "feed derived from itself",
            "patch",
            f"{e}/feeds/kn1-program/",
            {"derived_from": "kn1-program"},
            who="lead",
            mentions="derived_from",
        ),
        Case(
            "feed loop",
            "patch",
            f"{e}/feeds/kn1-contrib-a/",
            {"derived_from": "kn1-asl"},
            who="lead",
            mentions="derived_from",
        ),
        Case(
            "feed upstream list naming itself",
            "patch",
            f"{e}/feeds/kn1-program/",
            {"derived_from": ["kn1-contrib-a", "kn1-program"]},
            who="lead",
            mentions="derived_from",
        ),
        Case(
            "feed upstream list closing a loop",
            "patch",
            f"{e}/feeds/kn1-contrib-a/",
            {"derived_from": ["kn1-program", "kn1-asl"]},
            who="lead",
            mentions="derived_from",
        ),
        Case(
            "feed upstream list naming a feed of another event",
            "patch",
            f"{e}/feeds/kn1-program/",
            {"derived_from": ["kn1-contrib-a", "x-feed"]},
            who="lead",
            mentions="derived_from",
        ),
        Case(
            "feed upstream list of numbers",
            "patch",
            f"{e}/feeds/kn1-program/",
            {"derived_from": [1, 2]},
            who="lead",
            mentions="derived_from",
        ),
        Case(
            "feeds filter: unknown stage", "get", f"{e}/feeds/?stage=first-mile", mentions="stage"
        ),
        Case("feeds filter: unknown path", "get", f"{e}/feeds/?path=C", mentions="path"),
        Case("feeds filter: unknown session", "get", f"{e}/feeds/?session=kn9", mentions="session"),
        Case(
            "source ids not a list",
            "patch",
            f"{e}/feeds/kn1-program/",
            {"source_ids": "ch-1:0"},
            who="lead",
            mentions="source_ids",
        ),
        Case(
            "unknown event in ingest URL",
            "post",
            "/api/v1/ingest/srt/nope/kn1-contrib-a/",
            "{}",
            status=404,
        ),
        Case(
            "unknown feed in ingest URL",
            "post",
            f"/api/v1/ingest/srt/{event.slug}/nope/",
            "{}",
            status=404,
        ),
        Case(
            "SRT stats that are not JSON", "post", srt, '{"sid": 1, "timepoint": ', mentions="line"
        ),
        Case("JSON nested thousands deep", "post", srt, deep_json(5000).decode()),
        Case(
            "SRT CSV with a missing column",
            "post",
            srt,
            f"Timepoint,Time,SocketID\n{on_air:%Y-%m-%dT%H:%M:%S}.348720+0000,1069\n",
            content_type="text/csv",
            mentions="line",
        ),
        Case(
            "truncated gzip",
            "post",
            srt,
            gzip.compress(b'{"sid": 1}\n' * 50)[:-12],
            headers={"HTTP_CONTENT_ENCODING": "gzip"},
        ),
        Case(
            "gzip bomb past the limit",
            "post",
            srt,
            gzip.compress(b" " * (9 * 1024 * 1024)),
            status=413,
            headers={"HTTP_CONTENT_ENCODING": "gzip"},
        ),
        Case(
            "Firehose without key",
            "post",
            "/api/v1/ingest/firehose/",
            {"requestId": "r", "timestamp": 1, "records": []},
            status=401,
            who="anonymous",
        ),
        Case(
            "Firehose with a wrong key",
            "post",
            "/api/v1/ingest/firehose/",
            {"requestId": "r", "timestamp": 1, "records": []},
            status=401,
            who="anonymous",
            headers={"HTTP_X_AMZ_FIREHOSE_ACCESS_KEY": "wrong"},
        ),
        Case(
            "Firehose body that is not JSON",
            "post",
            "/api/v1/ingest/firehose/",
            '{"requestId": "r", "records": [',
            who="anonymous",
            headers=firehose_headers,
            mentions="errorMessage",
        ),
        Case(
            "telemetry: unknown metric",
            "get",
            f"{e}/feeds/kn1-contrib-a/telemetry/?metric=no.such&start={iso(event.start)}&end={iso(event.start + hour)}",
            mentions="metric",
        ),
        Case(
            "telemetry: non-ISO time",
            "get",
            f"{e}/feeds/kn1-contrib-a/telemetry/?start=monday&end={iso(event.start + hour)}",
            mentions="start",
        ),
        Case(
            "telemetry: 40 days at raw step",
            "get",
            f"{e}/feeds/kn1-contrib-a/telemetry/?start={iso(event.start - 40 * day)}&end={iso(event.start)}&step=raw",
            mentions="step",
        ),
        Case(
            "thresholds negative",
            "patch",
            f"{e}/anomaly-thresholds/",
            {"packet_loss_percent": -1},
            who="lead",
        ),
        Case(
            "thresholds not numbers",
            "patch",
            f"{e}/anomaly-thresholds/",
            {"packet_loss_percent": "lots"},
            who="lead",
        ),
        Case(
            "runbook slug clash",
            "post",
            "/api/v1/runbooks/",
            {
                "title": "Failover",
                "slug": world["runbook"].slug,
                "stage": "contribution",
                "body": "- [ ] x",
            },
            who="lead",
            mentions="slug",
        ),
        Case(
            "runbook unknown stage",
            "post",
            "/api/v1/runbooks/",
            {"title": "New", "stage": "teleport", "body": "- [ ] x"},
            who="lead",
            mentions="stage",
        ),
        Case(
            "runbook stale base revision",
            "put",
            f"{rb}/",
            {"body": "- [ ] y", "base_revision": 0, "summary": "x"},
            status=409,
            who="lead",
        ),
        Case(
            "step that does not exist",
            "post",
            f"/api/v1/runs/{world['run'].pk}/steps/99/",
            {"state": "done"},
            status=404,
        ),
        Case(
            "step of a finished run",
            "post",
            f"/api/v1/runs/{world['run'].pk}/steps/1/",
            {"state": "done"},
            status=409,
        ),
        Case(
            "search query over 500 characters",
            "get",
            "/api/v1/search/?q=" + "s" * 501,
            mentions="q",
        ),
        Case(
            "report: unknown format",
            "post",
            f"{e}/reports/",
            {"format": "docx"},
            who="lead",
            mentions="docx",
        ),
        Case(
            "report: unknown variant",
            "post",
            f"{e}/reports/",
            {"format": "pdf", "variant": "public"},
            who="lead",
            mentions="public",
        ),
        Case(
            "report: unknown section",
            "post",
            f"{e}/reports/",
            {"format": "pdf", "sections": ["gossip"]},
            who="lead",
            mentions="gossip",
        ),
        Case(
            "report: external variant by a viewer",
            "post",
            f"{e}/reports/",
            {"format": "pdf", "variant": "external"},
            status=403,
            who="viewer",
        ),
        Case(
            "report of an unknown event",
            "post",
            "/api/v1/events/nope/reports/",
            {"format": "pdf"},
            status=404,
            who="lead",
        ),
        *hostile_cases(event, world),
    ]


NUL = "\x00"
EARLIEST, LATEST = "0001-01-01T00:00:00Z", "9999-12-31T23:59:59-14:00"


def hostile_cases(event, world) -> list[Case]:
    """What an attacker's sweep found: NUL characters, JSON nested thousands deep, times at
    the edges of the calendar, numbers that overflow later arithmetic."""
    e = f"/api/v1/events/{event.slug}"
    telemetry = f"{e}/feeds/kn1-contrib-a/telemetry/"
    rb = f"/api/v1/runbooks/{world['runbook'].slug}/"
    nul_params = [
        ("entries ?q", f"{e}/entries/?q=a%00b", "q"),
        ("entries ?feed", f"{e}/entries/?feed=%00", "feed"),
        ("entries ?since", f"{e}/entries/?since=%00", "since"),
        ("entries ?kind", f"{e}/entries/?kind=win%00", "kind"),
        ("actions ?owner", "/api/v1/actions/?owner=op%00", "owner"),
        ("event actions ?status", f"{e}/actions/?status=open%00", "status"),
        ("search ?q", "/api/v1/search/?q=srt%00", "q"),
        ("telemetry ?metric", f"{telemetry}?metric=recv%00", "metric"),
        ("anomalies ?feed", f"{e}/anomalies/?feed=%00", "feed"),
        ("a NUL in a parameter's name", f"{e}/entries/?q%00=x", "q"),
    ]
    cases = [
        Case(f"NUL in {name}", "get", url, mentions=field, who="viewer")
        for name, url, field in nul_params
    ]
    nul_fields = [
        ("entry tags", "post", f"{e}/entries/", entry(event, tags=[f"a{NUL}"]), "operator", "tags"),
        (
            "entry session",
            "post",
            f"{e}/entries/",
            entry(event, session=NUL),
            "operator",
            "session",
        ),
        (
            "entry feeds",
            "post",
            f"{e}/entries/",
            entry(event, feeds=[f"kn1{NUL}"]),
            "operator",
            "feeds",
        ),
        (
            "action owner",
            "post",
            f"{e}/entries/",
            entry(event, kind="action", owner=f"op{NUL}"),
            "operator",
            "owner",
        ),
        ("entry site", "post", f"{e}/entries/", entry(event, site=f"v{NUL}"), "operator", "site"),
        (
            "feed source_ids",
            "patch",
            f"{e}/feeds/kn1-asl/",
            {"source_ids": [f"srt://{NUL}"]},
            "lead",
            "source_ids",
        ),
        (
            "a threshold's name",
            "patch",
            f"{e}/anomaly-thresholds/",
            {f"gap{NUL}": 1},
            "lead",
            "gap",
        ),
        ("runbook body", "put", rb, {"body": f"- [ ] {NUL}", "base_revision": 1}, "lead", "body"),
        (
            "runbook title",
            "post",
            "/api/v1/runbooks/",
            {"title": f"T{NUL}", "stage": "contribution", "body": "- [ ] x"},
            "lead",
            "title",
        ),
        ("report format", "post", f"{e}/reports/", {"format": f"pdf{NUL}"}, "lead", "format"),
    ]
    cases += [
        Case(f"NUL in {name}", method, url, body, who=who, mentions=field)
        for name, method, url, body, who, field in nul_fields
    ]
    deep = deep_json(5000).decode()
    cases += [
        Case(f"JSON thousands deep: {name}", method, url, deep, who=who, mentions="deep")
        for name, method, url, who in [
            ("entry POST", "post", f"{e}/entries/", "operator"),
            ("entry PATCH", "patch", f"/api/v1/entries/{world['entry'].pk}/", "lead"),
            ("runbook PUT", "put", rb, "lead"),
            ("runbook create", "post", "/api/v1/runbooks/", "lead"),
            ("thresholds", "patch", f"{e}/anomaly-thresholds/", "lead"),
            ("report request", "post", f"{e}/reports/", "lead"),
            ("runbook link", "post", f"{rb}links/", "operator"),
            ("feed PATCH", "patch", f"{e}/feeds/kn1-asl/", "lead"),
        ]
    ]
    edge_times = [
        ("entries ?since", "get", f"{e}/entries/?since={EARLIEST}", None, "since"),
        (
            "entries ?until",
            "get",
            f"{e}/entries/?until={LATEST.replace('+', '%2B')}",
            None,
            "until",
        ),
        ("telemetry ?start", "get", f"{telemetry}?start={EARLIEST}", None, "start"),
        ("telemetry ?end", "get", f"{telemetry}?end={LATEST}", None, "end"),
        (
            "entry time, the first day",
            "post",
            f"{e}/entries/",
            entry(event, occurred_at=EARLIEST),
            "occurred_at",
        ),
        (
            "entry time, the last day",
            "post",
            f"{e}/entries/",
            entry(event, occurred_at=LATEST),
            "occurred_at",
        ),
    ]
    cases += [
        Case(f"edge date: {name}", method, url, body, mentions=field, who="operator")
        for name, method, url, body, field in edge_times
    ]
    cases += [
        Case(
            "edge date: ffmpeg started_at",
            "post",
            f"/api/v1/ingest/ffmpeg/{event.slug}/kn1-contrib-a/?started_at={EARLIEST}",
            "frame=1\nprogress=end\n",
            content_type="text/plain",
            mentions="started_at",
        ),
        Case(
            "threshold that overflows merging",
            "patch",
            f"{e}/anomaly-thresholds/",
            {"merge_seconds": 1e12},
            who="lead",
            mentions="merge_seconds",
        ),
    ]
    return cases


def counts():
    return {name: apps.get_model(name).objects.count() for name in WATCHED}


def client_for(request, who):
    if who == "anonymous":
        return APIClient()
    client = APIClient()
    client.force_authenticate(request.getfixturevalue(who))
    return client


def send(client, case: Case):
    body = case.body
    if case.content_type == "application/json" and not isinstance(body, str | bytes | None):
        body = json.dumps(body)
    method = getattr(client, case.method)
    if case.method == "get":
        return method(case.url, **case.headers)
    return method(case.url, data=body, content_type=case.content_type, **case.headers)


def test_every_bad_input_is_refused_clearly_and_stores_nothing(request, event, other_event, world):
    from retro.models import Feed, Session

    Feed.objects.create(event=other_event, slug="x-feed", name="X", stage="handoff")
    Session.objects.create(
        event=other_event,
        slug="t1",
        title="T",
        day=other_event.start.date(),
        scheduled_start=other_event.start,
        scheduled_end=other_event.start + timedelta(hours=1),
    )
    all_cases = cases(event, world)
    assert len(all_cases) >= 80
    failures = []
    for case in all_cases:
        before = counts()
        response = send(client_for(request, case.who), case)
        problems = []
        if response.status_code != case.status:
            problems.append(f"status {response.status_code}, expected {case.status}")
        if not response["Content-Type"].startswith("application/json"):
            problems.append(f"content type {response['Content-Type']}")
        else:
            text = json.dumps(response.json())
            if case.mentions and case.mentions not in text:
                problems.append(f"error does not mention {case.mentions!r}: {text[:200]}")
        if counts() != before:
            problems.append(f"something was stored: {before} -> {counts()}")
        if problems:
            failures.append(f"{case.name}: " + "; ".join(problems))
    assert not failures, "\n".join(failures)
    print(f"bad inputs tried: {len(all_cases)}")


def test_firehose_record_that_is_not_base64_is_quarantined_with_its_reason(event, world):
    """Firehose retries anything but 200; a bad record is kept, quarantined and shown."""
    from integrations.models import IngestBatch

    client = APIClient()
    response = client.post(
        "/api/v1/ingest/firehose/",
        data=json.dumps({"requestId": "r1", "timestamp": 1, "records": [{"data": "%%%"}]}),
        content_type="application/json",
        HTTP_X_AMZ_FIREHOSE_ACCESS_KEY=world["key"],
        HTTP_X_AMZ_FIREHOSE_REQUEST_ID="r1",
    )
    assert response.status_code == 200
    batch = IngestBatch.objects.get()
    ingest_services.process_batch(batch_id=batch.pk)
    batch.refresh_from_db()
    assert batch.state == "quarantined"
    assert "record 1" in batch.error and "data" in batch.error
