"""schemathesis over the runbooks part of /api/schema/, with real runbook, revision and run
identifiers, so generated requests reach the views (the suite-wide fuzz uses the event's
slug, which is no runbook): no 5xx, and every response, errors included, fits the schema."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token

from runbooks import services
from tally.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/schema/", application).include(
    path_regex=r"^/api/v1/(runbooks|runs|search)/"
)
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.response_schema_conformance,
]


@pytest.fixture
def keep_test_connection():
    """Calls go straight to the WSGI app: keep Django from closing the test's connection."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def known(runbook, event, lead, operator, keep_test_connection):
    run = services.start_run(runbook=runbook, event=event, started_by=operator)
    return {
        "token": Token.objects.create(user=lead).key,
        "path": {"slug": runbook.slug, "run_id": run.pk, "number": 1},
    }


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=10, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_runbooks_api_never_answers_5xx_nor_breaks_its_schema(case, known):
    for name, value in known["path"].items():
        if case.path_parameters and name in case.path_parameters:
            case.path_parameters[name] = value
    response = case.call(headers={"Authorization": f"Token {known['token']}"})
    case.validate_response(response, checks=CHECKS)
