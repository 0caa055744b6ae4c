"""The report's one-page summary stays one page (WeasyPrint's page count), its action
tracker flags overdue actions, and the appendix shows scheduled against actual on-air times."""

import io
from datetime import timedelta

import pytest
from django.utils import timezone
from pypdf import PdfReader

from reports import content, pdf, services
from retro import showclock
from retro.models import Entry

from .helpers import add_entry, normalized, pdf_text, retro_entries

pytestmark = pytest.mark.django_db


def options(event, *sections):
    return content.parse_options(event, format="pdf", options={"sections": list(sections)})


def summary_pages(data: bytes) -> int:
    """Pages whose running header names the Summary section (not the contents page)."""
    reader = PdfReader(io.BytesIO(data))
    texts = [page.extract_text() or "" for page in reader.pages]
    return sum(1 for text in texts if "Summary" in text and "Contents" not in text)


def busy_retro(event, lead, operator):
    """Entries on every stage, actions in every status, a long override reason."""
    retro_entries(event, lead, operator)
    for n, stage in enumerate(["contribution", "transmission", "distribution", "handoff", ""]):
        for kind in ("win", "learning", "action"):
            extra = {"owner": operator, "due": timezone.localdate() + timedelta(days=3)}
            add_entry(
                event,
                operator,
                kind,
                f"{kind} {n} on {stage or 'no stage'}",
                stage=stage,
                **(extra if kind == "action" else {}),
            )
    event.retro_override_reason = "Learnings are tracked in the vendor's ticket INC-4411. " * 8
    event.save(update_fields=["retro_override_reason"])


def test_the_summary_of_a_busy_retro_is_one_page(event, lead, operator):
    busy_retro(event, lead, operator)
    data = services.generate(event, options(event, "summary"))
    text, pages = pdf_text(data)
    assert "Entries by stage" in normalized(text)
    assert pages == 2  # the contents page and the summary
    assert summary_pages(data) == 1


def test_the_summary_stays_one_page_with_the_longest_impact_lists(event, lead, operator):
    """However many outputs, paths and failovers an event has, the summary shows the
    largest few and counts the rest (content.capped), so it still fits one page."""
    busy_retro(event, lead, operator)
    data = content.build_report(event, options(event, "summary"))
    many = {
        "available": True,
        "rows": [
            {"label": f"kn{i}-subs-{i:02d}-with-a-long-name", "minutes": i} for i in range(60)
        ],
        "redundancy": [{"label": f"kn{i}-contrib-b", "minutes": i / 2} for i in range(40)],
        "failovers": [
            {
                "at": "Wed 02 Dec 09:14 PST",
                "text": f"kn{i}-tx: kn{i}-contrib-a -> kn{i}-contrib-b",
                "how": "inferred from telemetry",
            }
            for i in range(30)
        ],
    }
    data["summary"]["impact_minutes"] = content.capped(many)
    rendered = pdf.render_pdf(data)
    text, pages = pdf_text(rendered)
    flat = normalized(text)
    assert pages == 2 and summary_pages(rendered) == 1
    assert "kn59-subs-59" in flat and "kn54-subs" not in flat  # the largest five
    assert "and 55 more outputs with less" in flat and "and 25 more failovers" in flat


def test_the_action_tracker_flags_overdue_actions_with_their_days(event, lead, operator):
    entries = retro_entries(event, lead, operator)
    late = entries["action"]
    # Time has passed since it was logged: its due date is now five days ago.
    due = timezone.localdate(timezone=event.tz) - timedelta(days=5)
    Entry.objects.filter(pk=late.pk).update(due=due)
    Entry.objects.filter(pk=entries["private_action"].pk).update(
        due=timezone.localdate(timezone=event.tz) + timedelta(days=5)
    )
    data = content.build_report(event, options(event, "summary", "actions"))
    rows = {r["ref"]: r for g in data["actions"]["owners"] for r in g["actions"]}
    assert rows[str(late.pk)[:8]]["overdue_days"] == 5
    assert not rows[str(entries["private_action"].pk)[:8]]["overdue"]
    assert data["actions"]["overdue_count"] == 1 and data["summary"]["actions_overdue"] == 1
    text = normalized(pdf_text(pdf.render_pdf(data))[0])
    assert "Overdue 5 days" in text and "1 overdue as of" in text


def test_a_done_action_past_its_date_is_not_overdue(event, lead, operator):
    entries = retro_entries(event, lead, operator)
    past = timezone.localdate(timezone=event.tz) - timedelta(days=2)
    Entry.objects.filter(pk=entries["action"].pk).update(due=past, status=Entry.Status.DONE)
    data = content.build_report(event, options(event, "summary", "actions"))
    assert data["summary"]["actions_overdue"] == 0 and data["actions"]["overdue_count"] == 0


def test_the_appendix_shows_scheduled_against_actual_on_air(event, lead, operator):
    retro_entries(event, lead, operator)
    keynote = event.sessions.get(slug="kn1")
    start = timezone.now().replace(microsecond=0) - timedelta(hours=1)
    keynote.scheduled_start, keynote.scheduled_end = start, start + timedelta(minutes=50)
    keynote.save()
    showclock.mark_on_air(session=keynote, actor=lead, at=start + timedelta(minutes=4))
    showclock.mark_off_air(session=keynote, actor=lead, at=start + timedelta(minutes=52))
    text = normalized(pdf_text(services.generate(event, options(event, "summary", "timeline")))[0])
    assert "Sessions on air: scheduled and actual" in text
    assert "(+4 min)" in text and "(+2 min)" in text
    assert "1 of 1 session marked on air, on average 4.0 min after schedule" in text
