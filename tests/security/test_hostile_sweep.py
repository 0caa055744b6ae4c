"""A hostile sweep, generated like the authorization matrix: every URL of the URL conf, with
the methods the OpenAPI schema (or the matrix) gives it, for every persona that gets past its
access check, against {NUL in every parameter and body field, JSON nested thousands deep,
times at the calendar's edges, a body over the endpoint's limit, the wrong content type,
non-numeric ids}. Any 5xx fails. A new endpoint joins the sweep by being in the URL conf.
"""

import json
import re

import pytest
from django.conf import settings
from drf_spectacular.generators import SchemaGenerator

from tally.middleware import body_limit
from tests.security.test_authorization_matrix import (
    MATRIX,
    QUERY,
    ROLES,
    client_for,
    fill,
    project_urls,
)
from tests.security.test_authorization_matrix import world as world  # the matrix's objects

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

NUL = "a\x00b"
EARLIEST, LATEST = "0001-01-01T00:00:00Z", "9999-12-31T23:59:59-14:00"
TIME_PARAMS = ("start", "end", "since", "until", "cursor", "started_at", "occurred_at", "day")
HTML_PARAMS = ("q", "kind", "session", "stage", "feed", "site", "author", "view", "limit")
DEEP = "[" * 5000 + "]" * 5000


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _shape(path: str) -> str:
    """A route or an OpenAPI path with every parameter as {}: the two can then be matched."""
    return re.sub(r"<[^>]+>|\{[^}]+\}", "{}", "/" + path.lstrip("/"))


def schema_operations() -> dict[str, dict[str, dict]]:
    """shape -> method -> {"query": [names], "body": {field: openapi schema}} from the schema."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    found: dict[str, dict[str, dict]] = {}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            query = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
            found.setdefault(_shape(path), {})[method] = {
                "query": query,
                "body": _body_fields(operation, components),
            }
    return found


def _body_fields(operation: dict, components: dict) -> dict:
    content = operation.get("requestBody", {}).get("content", {})
    ref = content.get("application/json", {}).get("schema", {}).get("$ref", "")
    return components.get(ref.rsplit("/", 1)[-1], {}).get("properties", {}) if ref else {}


def reaching_roles(name: str) -> list[str]:
    """The personas the matrix lets past the URL's access check, plus an anonymous caller."""
    _, statuses = MATRIX[name]
    past = [r for r, s in zip(ROLES, statuses, strict=True) if s not in (302, 401, 403, 404)]
    return ["anonymous", *[r for r in past if r != "anonymous"]]


def attacks(method: str, query: list[str], body: dict, limit: int) -> list[tuple[str, dict]]:
    """(label, request keyword arguments) of every hostile variant for one operation."""
    params = sorted({*query, *HTML_PARAMS, *TIME_PARAMS})
    out = [("NUL in every parameter", {"data": dict.fromkeys(params, NUL)})]
    out += [
        (f"{edge} in every time parameter", {"data": dict.fromkeys(TIME_PARAMS, edge)})
        for edge in (EARLIEST, LATEST)
    ]
    if method == "get":
        return out
    fields = sorted(body) or ["body", "name", "reason", "entry", "feed", "event", "anomaly"]

    def body_with(value_for) -> dict:
        return {
            "data": json.dumps({f: value_for(f, body.get(f, {})) for f in fields}),
            "content_type": "application/json",
        }

    out += [
        (
            "NUL in every body field",
            body_with(lambda f, s: [NUL] if s.get("type") == "array" else NUL),
        ),
        ("a non-numeric id in every body field", body_with(lambda f, s: "abc")),
        ("edge times in every body field", body_with(lambda f, s: EARLIEST)),
        ("JSON thousands deep", {"data": DEEP, "content_type": "application/json"}),
        ("the wrong content type", {"data": "<x/>", "content_type": "application/xml"}),
        ("a form where JSON is expected", {"data": "a=1&b=\x00", "content_type": "text/plain"}),
        (
            "a body over the endpoint's limit",
            {"data": "{}", "content_type": "application/json", "CONTENT_LENGTH": str(limit + 1)},
        ),
    ]
    return out


def test_no_hostile_request_gets_a_5xx(request, world, rf):
    operations = schema_operations()
    failures, sent = [], 0
    for route, name in project_urls():
        if name == "logout" or name.startswith("admin:"):
            continue
        path = fill(route, name, world) + QUERY.get(name, "")
        shape = _shape(route)
        methods = operations.get(shape) or {MATRIX[name][0]: {"query": [], "body": {}}}
        methods = (
            {"get": {"query": [], "body": {}}, **methods} if shape not in operations else methods
        )
        limit = body_limit(rf.post(path.split("?")[0]))
        for method, spec in methods.items():
            for role in reaching_roles(name):
                client = client_for(request, role)
                client.raise_request_exception = False  # a 500 is a finding, listed below
                for label, kwargs in attacks(method, spec["query"], spec["body"], limit):
                    response = getattr(client, method)(path, **kwargs)
                    sent += 1
                    if response.status_code >= 500:
                        failures.append(
                            f"{method.upper()} {path} as {role}, {label}: {response.status_code}"
                        )
    print(f"hostile sweep: {sent} requests, {len(failures)} answered 5xx")
    assert sent > 1000
    assert not failures, "\n".join(failures[:60])


def test_the_sweep_reads_the_schema_it_generates_from():
    operations = schema_operations()
    entries = operations[_shape("api/v1/events/<slug:slug>/entries/")]
    assert {"get", "post"} <= set(entries)
    assert {"since", "until", "q"} <= set(entries["get"]["query"])
    assert {"kind", "body", "occurred_at"} <= set(entries["post"]["body"])
    assert settings.TALLY_REQUEST_MAX_BYTES < settings.TALLY_FIREHOSE_MAX_BYTES
