"""Full-text GIN indexes for search (PostgreSQL only; SQLite searches with icontains).

The expressions match what runbooks.search builds with SearchVector(..., config="english"),
so PostgreSQL uses them. retro_entry belongs to the retro app: this migration only adds an
expression index on it (no column, no table change) and drops it when reversed.
"""

from django.db import migrations

INDEXES = [
    ("runbooks_revision_fts", "runbooks_runbookrevision", "body"),
    ("runbooks_entry_fts", "retro_entry", "body"),
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, table, column in INDEXES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} "
            f"USING gin (to_tsvector('english'::regconfig, COALESCE({column}, '')))"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _, _ in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("runbooks", "0001_initial"),
        ("retro", "0001_initial"),
    ]

    operations = [migrations.RunPython(create, drop)]
