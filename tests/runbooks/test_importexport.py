import pytest
from django.core.management import CommandError, call_command

from runbooks.models import Runbook

GOOD = """---
title: Fail a contribution path over to B
stage: contribution
owner: lead1
applies_to: {feed_kinds: [program], sites: [venue]}
review_days: 90
---
# Fail over
- [ ] Switch the flow source to B
"""


def _write(tmp_path, name, text):
    (tmp_path / name).write_text(text, encoding="utf-8")


def test_import_creates_runbooks_and_an_unchanged_reimport_makes_no_revision(
    tmp_path, lead, capsys
):
    _write(tmp_path, "failover-b.md", GOOD)
    call_command("import_runbooks", str(tmp_path))
    runbook = Runbook.objects.get(slug="failover-b")
    assert runbook.owner == lead and runbook.review_days == 90
    assert runbook.applies_to == {"feed_kinds": ["program"], "sites": ["venue"]}
    call_command("import_runbooks", str(tmp_path))
    assert runbook.revisions.count() == 1
    out = capsys.readouterr().out
    assert "[1/1] failover-b.md: unchanged" in out
    _write(tmp_path, "failover-b.md", GOOD + "- [ ] Log a learning\n")
    call_command("import_runbooks", str(tmp_path))
    assert runbook.revisions.count() == 2


def test_bad_files_are_named_and_imported_not_at_all_while_others_import(tmp_path, lead, capsys):
    _write(tmp_path, "a-good.md", GOOD)
    _write(tmp_path, "no-front.md", "# Just markdown\n- [ ] step\n")
    _write(tmp_path, "bad-stage.md", GOOD.replace("stage: contribution", "stage: backstage"))
    with pytest.raises(CommandError, match="2 file"):
        call_command("import_runbooks", str(tmp_path))
    err = capsys.readouterr().err
    assert "no-front.md: no YAML front matter" in err
    assert "bad-stage.md: unknown stage 'backstage'" in err
    assert list(Runbook.objects.values_list("slug", flat=True)) == ["a-good"]


def test_export_then_import_round_trips(tmp_path, lead):
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    _write(src, "failover-b.md", GOOD)
    call_command("import_runbooks", str(src))
    call_command("export_runbooks", str(dst))
    assert (dst / "failover-b.md").read_text() == GOOD.replace(
        "applies_to: {feed_kinds: [program], sites: [venue]}",
        "applies_to:\n  feed_kinds:\n  - program\n  sites:\n  - venue",
    )
    call_command("import_runbooks", str(dst))
    assert Runbook.objects.get(slug="failover-b").revisions.count() == 1
