"""A stored tsvector per revision, so ranking reads it instead of parsing long bodies again.

PostgreSQL: existing rows are filled here (runbooks.services.index_revisions fills new ones),
the column gets a GIN index, and the body expression index of 0002 on this table goes (the
search no longer uses it). retro_entry keeps its expression index from 0002.
SQLite: the column exists but stays empty; the fallback search uses icontains.
"""

import django.contrib.postgres.search
from django.db import migrations

FILL = (
    "UPDATE runbooks_runbookrevision "
    "SET search_vector = to_tsvector('english'::regconfig, COALESCE(body, ''))"
)


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FILL)
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS runbooks_revision_search_vector "
        "ON runbooks_runbookrevision USING gin (search_vector)"
    )
    schema_editor.execute("DROP INDEX IF EXISTS runbooks_revision_fts")


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS runbooks_revision_search_vector")
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS runbooks_revision_fts ON runbooks_runbookrevision "
        "USING gin (to_tsvector('english'::regconfig, COALESCE(body, '')))"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("runbooks", "0002_search_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="runbookrevision",
            name="search_vector",
            field=django.contrib.postgres.search.SearchVectorField(
                blank=True, editable=False, null=True
            ),
        ),
        migrations.RunPython(forward, backward),
    ]
