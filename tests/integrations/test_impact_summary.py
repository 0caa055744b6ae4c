"""The event page's viewer impact, readable: names, grouped by session, the worst first,
minutes written out, the rest behind "show all"."""

import pytest

from integrations.impact_summary import format_minutes, summarize
from retro.models import Feed


@pytest.mark.parametrize(
    ("minutes", "text"),
    [(0.4, "< 1 min"), (4.5, "4.5 min"), (12.0, "12 min"), (42.3, "42 min"), (65, "1 h 05 min")],
)
def test_minutes_are_written_as_a_person_reads_them(minutes, text):
    assert format_minutes(minutes) == text


def test_outputs_have_names_groups_and_a_top_list(event):
    keynote = event.sessions.get(slug="kn1")
    for n in range(12):
        Feed.objects.create(
            event=event,
            session=keynote if n % 2 else None,
            slug=f"kn1-sub-{n:02d}",
            name=f"KN1 subtitles {n:02d}",
            kind="subtitles",
            stage="distribution",
        )
    rows = [
        {"feed": f"kn1-sub-{n:02d}", "minutes": float(30 - n), "kinds": ["captions_missing"]}
        for n in range(12)
    ]
    summary = summarize(event, rows, top=8)
    assert summary["count"] == 12 and summary["more"] == 4
    assert [r["name"] for r in summary["top"][:2]] == ["KN1 subtitles 00", "KN1 subtitles 01"]
    assert summary["top"][0]["duration"] == "30 min"
    assert summary["top"][0]["kinds_label"] == "captions missing"
    assert [g.title for g in summary["groups"]] == ["No session", "Opening keynote"]
    assert [len(g.rows) for g in summary["groups"]] == [6, 6]
    assert summary["groups"][1].worst == "29 min"
    assert summary["total"] == format_minutes(sum(30 - n for n in range(12)))
