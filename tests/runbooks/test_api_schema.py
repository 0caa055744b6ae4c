"""Every runbooks API response, errors included, matches the published OpenAPI schema."""

import pytest
import requests
import schemathesis
from schemathesis.core.transport import Response

from retro import services as retro_services
from runbooks import services

from .conftest import BODY


@pytest.fixture
def schema(viewer_api):
    raw = viewer_api.get("/api/schema/?format=json")
    assert raw.status_code == 200
    return schemathesis.openapi.from_dict(raw.json())


def _conforms(schema, template: str, method: str, response, status: int) -> None:
    assert response.status_code == status, response.content[:400]
    prepared = requests.Request(method, "http://testserver" + template).prepare()
    converted = Response(
        status_code=response.status_code,
        headers={k.lower(): [v] for k, v in response.headers.items()},
        content=response.content,
        request=prepared,
        elapsed=0.0,
        verify=False,
    )
    schema[template][method].validate_response(converted)


def test_every_operation_and_its_errors_match_the_schema(
    schema, runbook, event, lead, lead_api, operator_api, viewer_api, outsider_api, anon_api
):
    rb = f"/api/v1/runbooks/{runbook.slug}/"
    learning, _ = retro_services.log_entry(
        event=event, author=lead, kind="learning", body="SRT latency 120 ms too low"
    )
    services.save_revision(
        runbook=runbook, author=lead, body=BODY + "- [ ] Extra\n", base_revision=1
    )
    calls = [
        (anon_api, "GET", "/api/v1/runbooks/", "/api/v1/runbooks/", None, 401),
        (viewer_api, "GET", "/api/v1/runbooks/", "/api/v1/runbooks/?stage=contribution", None, 200),
        (viewer_api, "POST", "/api/v1/runbooks/", "/api/v1/runbooks/", {"title": "x"}, 403),
        (lead_api, "POST", "/api/v1/runbooks/", "/api/v1/runbooks/", {"title": "x"}, 400),
        (
            lead_api,
            "POST",
            "/api/v1/runbooks/",
            "/api/v1/runbooks/",
            {
                "title": "Fail over to B",
                "stage": "contribution",
                "body": "- [ ] go",
                "applies_to": {"feed_kinds": ["program"], "sites": []},
            },
            201,
        ),
        (viewer_api, "GET", "/api/v1/runbooks/{slug}/", rb, None, 200),
        (viewer_api, "GET", "/api/v1/runbooks/{slug}/", "/api/v1/runbooks/nope/", None, 404),
        (lead_api, "PUT", "/api/v1/runbooks/{slug}/", rb, {"body": "- [ ] a"}, 400),
        (viewer_api, "PUT", "/api/v1/runbooks/{slug}/", rb, {"base_revision": 2}, 403),
        (lead_api, "PUT", "/api/v1/runbooks/{slug}/", rb, {"base_revision": 1}, 409),
        (
            lead_api,
            "PUT",
            "/api/v1/runbooks/{slug}/",
            rb,
            {"base_revision": 2, "body": BODY + "- [ ] Two\n"},
            200,
        ),
        (viewer_api, "GET", "/api/v1/runbooks/{slug}/revisions/", rb + "revisions/", None, 200),
        (
            viewer_api,
            "GET",
            "/api/v1/runbooks/{slug}/revisions/{number}/",
            rb + "revisions/1/",
            None,
            200,
        ),
        (
            viewer_api,
            "GET",
            "/api/v1/runbooks/{slug}/revisions/{number}/",
            rb + "revisions/99/",
            None,
            404,
        ),
        (viewer_api, "GET", "/api/v1/runbooks/{slug}/diff/", rb + "diff/?from=1&to=2", None, 200),
        (viewer_api, "GET", "/api/v1/runbooks/{slug}/diff/", rb + "diff/?from=x", None, 400),
        (viewer_api, "GET", "/api/v1/runbooks/{slug}/diff/", rb + "diff/?from=7", None, 404),
        (
            operator_api,
            "POST",
            "/api/v1/runbooks/{slug}/links/",
            rb + "links/",
            {"entry": str(learning.pk), "step": "Set SRT latency"},
            201,
        ),
        (
            outsider_api,
            "POST",
            "/api/v1/runbooks/{slug}/links/",
            rb + "links/",
            {"entry": str(learning.pk)},
            404,
        ),
        (viewer_api, "GET", "/api/v1/search/", "/api/v1/search/?q=SRT+latency", None, 200),
        (viewer_api, "GET", "/api/v1/search/", "/api/v1/search/?q=" + "a" * 501, None, 400),
        (
            viewer_api,
            "POST",
            "/api/v1/runbooks/{slug}/runs/",
            rb + "runs/",
            {"event": "summit"},
            403,
        ),
        (operator_api, "POST", "/api/v1/runbooks/{slug}/runs/", rb + "runs/", {"feed": "x"}, 400),
    ]
    for client, method, template, url, body, status in calls:
        send = getattr(client, method.lower())
        response = send(url, body, format="json") if body else send(url)
        _conforms(schema, template, method, response, status)

    started = operator_api.post(rb + "runs/", {"event": event.slug}, format="json")
    _conforms(schema, "/api/v1/runbooks/{slug}/runs/", "POST", started, 201)
    run = f"/api/v1/runs/{started.json()['id']}/"
    step = "/api/v1/runs/{run_id}/steps/{number}/"
    finish = "/api/v1/runs/{run_id}/finish/"
    _conforms(schema, "/api/v1/runs/{run_id}/", "GET", viewer_api.get(run), 200)
    _conforms(schema, "/api/v1/runs/{run_id}/", "GET", outsider_api.get(run), 404)
    done = operator_api.post(run + "steps/1/", {"state": "done", "note": "ok"}, format="json")
    _conforms(schema, step, "POST", done, 200)
    bad = operator_api.post(run + "steps/2/", {"state": "skipped"}, format="json")
    _conforms(schema, step, "POST", bad, 400)
    _conforms(schema, step, "POST", operator_api.post(run + "steps/99/", {"state": "done"}), 404)
    _conforms(schema, step, "POST", viewer_api.post(run + "steps/2/", {"state": "done"}), 403)
    _conforms(schema, finish, "POST", viewer_api.post(run + "finish/"), 403)
    _conforms(schema, finish, "POST", operator_api.post(run + "finish/"), 200)
    late = operator_api.post(run + "steps/2/", {"state": "done"}, format="json")
    _conforms(schema, step, "POST", late, 409)


def test_operation_ids_are_distinct(schema):
    ids = [
        op["operationId"]
        for path, item in schema.raw_schema["paths"].items()
        if path.startswith(("/api/v1/runbooks/", "/api/v1/runs/", "/api/v1/search/"))
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    ]
    assert len(ids) == len(set(ids)) == 13
