"""schemathesis over /api/schema/: no request makes the API answer 5xx, and no response
breaks the schema. Bounded examples per operation, so CI stays fast."""

from datetime import timedelta

import pytest
import schemathesis
from rest_framework.authtoken.models import Token

from retro import services
from tally.wsgi import application
from tests.fuzz import each_operation, fuzz

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
# Real identifiers for path parameters, so fuzzing reaches the views and not only 404s.
KNOWN = {"slug": "summit", "event": "summit", "feed": "kn1-program"}


@pytest.fixture
def fuzz_token(event, lead, operator):
    services.log_entry(
        event=event,
        author=operator,
        kind="learning",
        body="loss on ASL",
        occurred_at=event.start + timedelta(hours=3),
    )
    return Token.objects.create(user=lead).key


@pytest.mark.django_db
@each_operation(schema)
def test_api_never_answers_5xx_nor_breaks_its_schema(operation, fuzz_token):
    fuzz(operation, token=fuzz_token, path=KNOWN, max_examples=8)
