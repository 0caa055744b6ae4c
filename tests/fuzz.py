"""schemathesis over the API, one plain pytest item per operation.

`schema.parametrize()` gives every operation's item the same node id, and a parallel run
schedules by node id, so it would fuzz one operation and drop the rest; a parametrize with
the operation's label as id keeps each operation its own test.
"""

from contextlib import contextmanager

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.response_schema_conformance,
]


def each_operation(schema):
    """A pytest parametrize over every operation of the schema, named by its label."""
    operations = [result.ok() for result in schema.get_all_operations()]
    return pytest.mark.parametrize("operation", operations, ids=[op.label for op in operations])


def fuzz(operation, *, token: str, path: dict, max_examples: int) -> None:
    """Generated requests to one operation, with real identifiers where the path names them:
    none may answer 5xx, and every response, errors included, must fit the schema."""

    @given(case=operation.as_strategy())
    @settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def run(case):
        for name, value in path.items():
            if case.path_parameters and name in case.path_parameters:
                case.path_parameters[name] = value
        response = case.call(headers={"Authorization": f"Token {token}"})
        case.validate_response(response, checks=CHECKS)

    with test_connection_kept():
        run()


@contextmanager
def test_connection_kept():
    """Calls go straight to the WSGI app: keep Django from closing the test's connection
    after each request (the test client does the same)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
