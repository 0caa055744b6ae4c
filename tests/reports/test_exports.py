"""Markdown, CSV and JSON exports of the report content, and the export_report command."""

import csv
import io
import json

import pytest
from django.core.management import call_command

from reports import content, exports, services

from .helpers import ACTION_DUE, add_entry, retro_entries

pytestmark = pytest.mark.django_db


def generate(event, fmt, **options):
    variant = options.pop("variant", "internal")
    return services.generate(
        event, content.parse_options(event, format=fmt, variant=variant, options=options)
    )


@pytest.mark.parametrize(
    "value", ['=HYPERLINK("http://x")', "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]
)
def test_cells_a_spreadsheet_would_run_get_a_leading_quote(value):
    assert exports.neutralize(value) == "'" + value
    assert exports.neutralize("plain text") == "plain text"


def test_entries_csv_lists_every_entry_with_formulas_neutralized(event, lead, operator):
    retro_entries(event, lead, operator)
    add_entry(event, operator, "win", "=cmd|' /C calc'!A0 was harmless")
    rows = list(csv.DictReader(io.StringIO(generate(event, "csv").decode("utf-8-sig"))))
    assert len(rows) == 6
    bodies = {row["body"] for row in rows}
    assert "'=cmd|' /C calc'!A0 was harmless" in bodies
    assert "Raise SRT latency to 4x RTT" in bodies


def test_actions_csv_lists_open_actions_with_owner_and_due(event, lead, operator):
    retro_entries(event, lead, operator)
    data = generate(event, "csv", table="actions").decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(data)))
    assert {row["body"] for row in rows} == {
        "Raise SRT latency to 4x RTT",
        "Renegotiate the encoder support contract",
    }
    raise_latency = next(r for r in rows if r["body"].startswith("Raise"))
    assert raise_latency["owner"] == "operator1" and raise_latency["due"] == ACTION_DUE.isoformat()


def test_markdown_has_the_sections_and_the_external_variant_hides_names(event, lead, operator):
    retro_entries(event, lead, operator)
    internal = generate(event, "md").decode()
    assert internal.startswith("# Test Summit: post-event report")
    for heading in ("## Summary", "## Entries by stage and session", "## Action tracker"):
        assert heading in internal
    assert "operator1" in internal
    external = generate(event, "md", variant="external").decode()
    assert "operator1" not in external and "lead1" not in external
    assert "vendor contract dispute" not in external
    assert "Failover to path B was seamless" in external


def test_json_export_is_the_same_content_as_data(event, lead, operator):
    retro_entries(event, lead, operator)
    data = json.loads(generate(event, "json"))
    assert data["event"]["slug"] == "summit"
    assert data["summary"]["totals"] == {"win": 1, "learning": 2, "action": 2}
    assert len(data["timeline"]["rows"]) == 5
    assert data["runbooks"]["runs"] == []
    assert data["anomalies"] == {"available": True, "items": []}  # wired to integrations.review


def test_export_report_command_writes_the_file_and_a_progress_line(event, lead, operator, tmp_path):
    retro_entries(event, lead, operator)
    out, err = io.StringIO(), io.StringIO()
    target = tmp_path / "summit.pdf"
    call_command(
        "export_report",
        "summit",
        "--format",
        "pdf",
        "--sections",
        "cover",
        "summary",
        "--output",
        str(target),
        stdout=out,
        stderr=err,
    )
    assert target.read_bytes().startswith(b"%PDF")
    assert "100%" in err.getvalue() and "rendering [" in err.getvalue()
    assert "summit.pdf" in out.getvalue()


def test_export_report_command_names_an_unknown_format(event, tmp_path):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="docx"):
        call_command("export_report", "summit", "--format", "docx", "--output", str(tmp_path / "x"))


def test_markdown_writes_names_as_text_not_markup(event, lead, operator):
    import markdown

    from retro.models import Site

    event.name = "Summit <script>alert(1)</script>"
    event.venue = "[Hall](javascript:alert(1)) **A**"
    event.save()
    Site.objects.filter(slug="venue").update(name="# <img src=x onerror=alert(1)>")
    retro_entries(event, lead, operator)
    text = generate(event, "md").decode()
    html = markdown.markdown(text, extensions=["tables"])
    assert "<script" not in html and "<img" not in html and "<a " not in html
    assert "<strong>A</strong>" not in html and "<h1>&lt;img" not in html
    assert "Summit &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "[Hall](javascript:alert(1)) **A**" in html


DAY_LABELS = ("dates", "as_of")  # the cover's days as words, beside start and end as times


def _strings(value, key=""):
    if isinstance(value, dict):
        for name, item in value.items():
            yield from _strings(item, name)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item, key)
    elif isinstance(value, str) and key not in DAY_LABELS:
        yield value


def test_every_time_in_the_json_and_markdown_is_iso_8601_with_the_offset(event, lead, operator):
    from datetime import datetime
    from re import compile

    from runbooks import services as runbook_services

    retro_entries(event, lead, operator)
    runbook = runbook_services.create_runbook(
        title="Fail over to B", stage="contribution", author=lead, body="- [ ] switch\n"
    )
    runbook_services.start_run(runbook=runbook, event=event, started_by=operator)
    data = json.loads(generate(event, "json"))
    run = data["runbooks"]["runs"][0]
    started = datetime.fromisoformat(run["started"])
    assert started.utcoffset() is not None and run["started"][10] == "T"
    assert data["timeline"]["rows"][0]["occurred_local"][10] == "T"
    written_out = compile(
        r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
    )
    assert not [s for s in _strings(data) if written_out.search(s)]
    assert datetime.fromisoformat(data["cover"]["start"]).utcoffset() is not None
    markdown = generate(event, "md").decode()
    assert not written_out.search(markdown.split("\n", 3)[-1])  # past the title and cover dates


def test_exports_flag_overdue_actions_and_show_marked_on_air_times(event, lead, operator):
    from datetime import timedelta

    from django.utils import timezone

    from retro import showclock
    from retro.models import Entry

    entries = retro_entries(event, lead, operator)
    past = timezone.localdate(timezone=event.tz) - timedelta(days=3)
    Entry.objects.filter(pk=entries["action"].pk).update(due=past)
    keynote = event.sessions.get(slug="kn1")
    start = timezone.now().replace(microsecond=0) - timedelta(hours=1)
    keynote.scheduled_start, keynote.scheduled_end = start, start + timedelta(minutes=50)
    keynote.save()
    showclock.mark_on_air(session=keynote, actor=lead, at=start + timedelta(minutes=4))

    rows = list(
        csv.DictReader(io.StringIO(generate(event, "csv", table="actions").decode("utf-8-sig")))
    )
    late = next(r for r in rows if r["id"] == str(entries["action"].pk))
    assert late["overdue_days"] == "3" and late["due"] == past.isoformat()
    assert {r["overdue_days"] for r in rows if r is not late} == {"0"}
    markdown = generate(event, "md").decode()
    assert "**1 overdue**" in markdown and "**overdue 3 d**" in markdown
    on_air = (start + timedelta(minutes=4)).astimezone(event.tz).isoformat()
    assert f"{on_air} (+4 min) | not marked |" in markdown
