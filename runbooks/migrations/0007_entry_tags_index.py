"""A GIN index on retro_entry.tags for search's tag matches (`tags @> '["word"]'`),
PostgreSQL only. Like 0002, it adds an index on retro's table and nothing else."""

from django.db import migrations


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS runbooks_entry_tags ON retro_entry USING gin (tags)"
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS runbooks_entry_tags")


class Migration(migrations.Migration):
    dependencies = [
        ("runbooks", "0006_run_live_changes"),
        ("retro", "0001_initial"),
    ]

    operations = [migrations.RunPython(create, drop)]
