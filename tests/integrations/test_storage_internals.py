"""insert_batch is the one place Tally uses Django internals; an upgrade must re-check it."""

import django
import pytest

from integrations import storage
from integrations.models import IngestBatch


def test_the_django_internals_insert_batch_uses_are_still_there():
    assert storage.insert_batch_internals_present(), (
        f"Django {django.get_version()}: re-check integrations.storage.insert_batch against this "
        "version (connection._prepare_cursor, Model._state), then add it to "
        "INSERT_BATCH_CHECKED_ON."
    )


@pytest.mark.django_db
def test_insert_batch_stores_the_body_byte_for_byte_and_marks_the_instance_saved(event):
    body = bytes(range(256)) * 64
    batch = IngestBatch(event=event, format="generic", request_id="internals-1", body=body)
    storage.insert_batch(batch)
    assert batch.pk is not None
    assert not batch._state.adding
    assert bytes(IngestBatch.objects.get(pk=batch.pk).body) == body
