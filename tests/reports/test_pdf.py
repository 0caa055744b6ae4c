"""The PDF report: real WeasyPrint, text read back with pypdf."""

import re

import pytest

from reports import content, services

from .helpers import normalized, pdf_text, retro_entries

pytestmark = pytest.mark.django_db


def render(event, **options):
    variant = options.pop("variant", "internal")
    opts = content.parse_options(event, format="pdf", variant=variant, options=options)
    return pdf_text(services.generate(event, opts))


def test_pdf_has_every_section_the_entries_and_numbered_pages(event, lead, operator):
    entries = retro_entries(event, lead, operator)
    text, pages = render(event)
    flat = normalized(text)
    for title in (
        "Contents",
        "Summary",
        "Entries by stage and session",
        "Action tracker",
        "Runbook runs and revisions",
        "Unreviewed anomalies",
        "Appendix: timeline of every entry",
    ):
        assert title in flat
    for entry in entries.values():
        assert entry.body in flat
    assert "Test Summit" in flat and "Hall A" in flat
    assert "Broadcast control" in flat and "Venue encode" in flat
    assert f"Page 1 of {pages}" in flat
    assert f"Page {pages} of {pages}" in flat
    assert "operator1" in flat  # internal: authors and owners by name


def test_table_of_contents_gives_the_page_each_section_starts_on(event, lead, operator):
    retro_entries(event, lead, operator)
    opts = content.parse_options(event, format="pdf")
    data = services.generate(event, opts)
    from io import BytesIO

    from pypdf import PdfReader

    reader = PdfReader(BytesIO(data))
    toc = normalized(reader.pages[1].extract_text())
    listed = int(re.search(r"Action tracker[\s.]*(\d+)", toc).group(1))
    page_text = normalized(reader.pages[listed - 1].extract_text())
    assert page_text.startswith("Test Summit") or "Action tracker" in page_text
    assert "open action" in page_text


def test_external_variant_leaves_out_private_entries_and_author_names(event, lead, operator):
    entries = retro_entries(event, lead, operator)
    text, _ = render(event, variant="external")
    flat = normalized(text)
    assert entries["win"].body in flat
    assert entries["action"].body in flat
    assert entries["private"].body not in flat
    assert entries["private_action"].body not in flat
    assert "vendor contract" not in flat
    for name in ("operator1", "lead1"):
        assert name not in flat
    assert "Venue encode operator" in flat  # the author by site and role
    assert "partner edition" in flat.lower()


def test_event_without_entries_gives_a_short_report_that_says_so(event):
    text, pages = render(event)
    flat = normalized(text)
    assert "This event has no entries" in flat
    assert pages < 12
    assert f"Page 1 of {pages}" in flat


def test_options_choose_sections_kinds_and_sessions(event, lead, operator):
    entries = retro_entries(event, lead, operator)
    text, _ = render(event, sections=["timeline"], kinds=["win"])
    flat = normalized(text)
    assert "Appendix: timeline" in flat
    assert "Action tracker" not in flat
    assert entries["win"].body in flat
    assert entries["learning"].body not in flat
    text, _ = render(event, sections=["stages"], stages=["distribution"])
    flat = normalized(text)
    assert entries["learning"].body in flat
    assert entries["win"].body not in flat


def test_hostile_markdown_is_sanitized_and_the_pdf_still_renders(event, lead, operator, caplog):
    from .helpers import add_entry

    add_entry(
        event,
        operator,
        "learning",
        "![x](file:///etc/passwd) <img src='http://169.254.169.254/latest/meta-data/'> "
        "<style>@import 'http://169.254.169.254/a.css'; body { background: url(/dev/urandom) }"
        "</style> [link](http://169.254.169.254/) still readable text",
    )
    caplog.set_level("WARNING", logger="reports.fetch")
    text, pages = render(event)
    assert "still readable text" in normalized(text)
    assert pages >= 3
    logged = caplog.text
    assert "file:///etc/passwd" in logged
    assert "169.254.169.254" in logged
