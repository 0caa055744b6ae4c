"""schemathesis over the runbooks part of /api/schema/, with real runbook, revision and run
identifiers, so generated requests reach the views (the suite-wide fuzz uses the event's
slug, which is no runbook): no 5xx, and every response, errors included, fits the schema."""

import pytest
import schemathesis
from rest_framework.authtoken.models import Token

from runbooks import services
from tally.wsgi import application
from tests.fuzz import each_operation, fuzz

schema = schemathesis.openapi.from_wsgi("/api/schema/", application).include(
    path_regex=r"^/api/v1/(runbooks|runs|search)/"
)


@pytest.fixture
def known(runbook, event, lead, operator):
    run = services.start_run(runbook=runbook, event=event, started_by=operator)
    return {
        "token": Token.objects.create(user=lead).key,
        "path": {"slug": runbook.slug, "run_id": run.pk, "number": 1},
    }


@pytest.mark.django_db
@each_operation(schema)
def test_runbooks_api_never_answers_5xx_nor_breaks_its_schema(operation, known):
    fuzz(operation, token=known["token"], path=known["path"], max_examples=10)
