"""schemathesis over /api/schema/: no request makes the API answer 5xx, and no response
breaks the schema. Bounded examples per operation, so CI stays fast."""

from datetime import timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token

from retro import services
from tally.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.response_schema_conformance,
]
# Real identifiers for path parameters, so fuzzing reaches the views and not only 404s.
KNOWN = {"slug": "summit", "event": "summit", "feed": "kn1-program"}


@pytest.fixture
def keep_test_connection():
    """Calls go straight to the WSGI app: keep Django from closing the test's connection
    after each request (the test client does the same)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_token(event, lead, operator, keep_test_connection):
    services.log_entry(
        event=event,
        author=operator,
        kind="learning",
        body="loss on ASL",
        occurred_at=event.start + timedelta(hours=3),
    )
    return Token.objects.create(user=lead).key


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=8, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_api_never_answers_5xx_nor_breaks_its_schema(case, fuzz_token):
    for name, value in KNOWN.items():
        if case.path_parameters and name in case.path_parameters:
            case.path_parameters[name] = value
    response = case.call(headers={"Authorization": f"Token {fuzz_token}"})
    case.validate_response(response, checks=CHECKS)
