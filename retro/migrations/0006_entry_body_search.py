"""A stored, GIN-indexed tsvector of every entry's body (PostgreSQL only; SQLite compares
words): retro.loop.similar_learnings reads it instead of parsing each candidate body again,
so "seen before" over a chain of events stays fast.

A generated column, so every writer (services, bulk loaders, archive imports) keeps it right;
it is not a model field (the model stays portable to SQLite), and only retro.loop reads it.
"""

from django.db import migrations

COLUMN = (
    "ALTER TABLE retro_entry ADD COLUMN IF NOT EXISTS body_search tsvector "
    "GENERATED ALWAYS AS (to_tsvector('english'::regconfig, COALESCE(body, ''))) STORED"
)
INDEX = "CREATE INDEX IF NOT EXISTS retro_entry_body_search ON retro_entry USING gin (body_search)"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(COLUMN)
    schema_editor.execute(INDEX)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS retro_entry_body_search")
    schema_editor.execute("ALTER TABLE retro_entry DROP COLUMN IF EXISTS body_search")


class Migration(migrations.Migration):
    dependencies = [("retro", "0005_learning_loop")]

    operations = [migrations.RunPython(create, drop)]
