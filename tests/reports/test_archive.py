"""Event archive: export, import into an instance without the event, identical result."""

import json

import pytest
from django.core.management import CommandError, call_command

from reports.archive import ArchiveError, export_event, import_event
from retro.models import Entry, Event


@pytest.fixture
def demo(db):
    call_command("load_demo", verbosity=0)
    return Event.objects.get(slug="demo")


def test_round_trip_of_the_demo_event_is_identical(demo, tmp_path):
    from integrations.snapshots import freeze

    # Snapshots are frozen after commit; this test runs inside one transaction.
    for entry in demo.entries.filter(feeds__isnull=False).distinct()[:5]:
        freeze(entry_id=entry.pk)
    before = export_event(demo)
    assert len(before["entries"]) > 250 and before["entry_revisions"] and before["votes"]
    assert before["runbook_runs"] and before["run_steps"] and before["anomalies"]
    assert before["snapshots"] and before["alerts"] and before["feeds"]
    path = tmp_path / "demo.json"
    call_command("export_archive", "demo", "--output", str(path), verbosity=0)
    demo.delete()
    assert not Entry.objects.filter(event__slug="demo").exists()
    call_command("import_archive", str(path), verbosity=0)
    after = export_event(Event.objects.get(slug="demo"))
    assert after == before


def test_import_refuses_an_existing_slug_and_writes_nothing(event):
    data = export_event(event)
    with pytest.raises(ArchiveError, match="already exists"):
        import_event(data)


def test_import_of_garbage_names_the_problem(db, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"format": "something else"}))
    with pytest.raises(CommandError, match="Not a Tally event archive"):
        call_command("import_archive", str(path))
    path.write_text("{not json")
    with pytest.raises(CommandError, match="not a JSON archive"):
        call_command("import_archive", str(path))


def test_broken_reference_imports_nothing(event, operator):
    from datetime import timedelta

    from retro import services

    services.log_entry(
        event=event,
        author=operator,
        kind="win",
        body="clean failover",
        occurred_at=event.start + timedelta(hours=1),
    )
    data = export_event(event)
    event.delete()
    data["entries"][0]["feeds"] = ["no-such-feed"]
    with pytest.raises(ArchiveError, match="no-such-feed"):
        import_event(data)
    assert not Event.objects.filter(slug="summit").exists()


def test_imported_html_is_rendered_again_from_the_markdown(demo):
    """An archive carries no HTML: a hand-edited one cannot bring in unsanitized markup."""
    from runbooks.models import RunStep

    data = export_event(demo)
    entry_row = data["entries"][0]
    assert "body_html" not in entry_row and "html" not in data["run_steps"][0]
    entry_row["body_html"] = "<script>alert(1)</script>"
    entry_row["body"] = "**bold** <script>alert(1)</script>"
    data["run_steps"][0]["html"] = "<img src=x onerror=alert(1)>"
    demo.delete()
    imported = import_event(data)
    entry = Entry.objects.get(pk=entry_row["id"], event=imported)
    assert "<strong>bold</strong>" in entry.body_html and "<script" not in entry.body_html
    step = RunStep.objects.filter(run__event=imported).order_by("run__started_at", "number")
    assert all(s.html and "onerror" not in s.html for s in step)
    assert all(
        "<script" not in rev.body_html
        for rev in imported.runbook_runs.first().runbook.revisions.all()
    )
