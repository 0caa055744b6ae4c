"""Markdown, CSV and JSON exports of the same report content the PDF shows.

Times are ISO 8601 with the offset of the event's zone (2026-11-30T10:00:00-08:00): a
spreadsheet or a script reads them without guessing the year or the zone.
"""

import csv
import io
import json
import re
from datetime import date, datetime

from django.core.serializers.json import DjangoJSONEncoder

from reports.content import LocalTime
from tally.times import in_zone

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ENTRY_COLUMNS = [
    ("id", "id"),
    ("time", "occurred_at"),
    ("kind", "kind"),
    ("stage", "stage"),
    ("session", "session"),
    ("author", "author"),
    ("site", "site"),
    ("feeds", "feeds"),
    ("tags", "tags"),
    ("impact", "impact"),
    ("shareable", "shareable"),
    ("owner", "owner"),
    ("due", "due"),
    ("status", "status"),
    ("body", "body"),
]
ACTION_COLUMNS = [
    ("id", "id"),
    ("owner", "owner"),
    ("due", "due"),
    ("overdue_days", "overdue_days"),
    ("status", "status"),
    ("carried_from", "carried_from"),
    ("session", "session"),
    ("stage", "stage"),
    ("body", "body"),
]


def neutralize(value) -> str:
    """A cell a spreadsheet shows as text: a leading ' defuses =, +, -, @, tab and CR."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        value = "; ".join(str(v) for v in value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def iso(value, content: dict):
    """A time as ISO 8601 with the offset of the event's zone; a date as YYYY-MM-DD; any
    other value unchanged."""
    if isinstance(value, LocalTime):
        return value.iso()
    if isinstance(value, datetime):
        return in_zone(value, content["event"]["time_zone"], "iso")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _csv(rows: list[dict], columns: list[tuple[str, str]], content: dict) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([name for name, _ in columns])
    for row in rows:
        writer.writerow([neutralize(iso(row.get(key), content)) for _, key in columns])
    return out.getvalue().encode("utf-8-sig")  # the BOM makes spreadsheets read UTF-8


def entries_csv(content: dict) -> bytes:
    """One line per entry of the report, in time order."""
    return _csv(content["timeline"]["rows"], ENTRY_COLUMNS, content)


def actions_csv(content: dict) -> bytes:
    """One line per open action of the tracker, carried-over ones included."""
    rows = [row for group in content["actions"]["owners"] for row in group["actions"]]
    return _csv(rows, ACTION_COLUMNS, content)


DRAWN_ONLY = ("charts", "body_html", "text")  # the PDF's renderings of `body`


def to_json(content: dict) -> bytes:
    """Every section as data; charts are left out (they are drawings, not data)."""

    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in DRAWN_ONLY}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return iso(value, content)

    return json.dumps(strip(content), cls=DjangoJSONEncoder, indent=2, ensure_ascii=False).encode()


def _md_escape(text: str) -> str:
    """Markdown (an entry's body) on one line of a table cell."""
    return (text or "").replace("|", "\\|").replace("\n", " ")


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")


def _md_text(text) -> str:
    """Plain text (a name, a title, a city) that must not turn into Markdown or HTML: its
    Markdown characters escaped, < and & as entities, on one line."""
    text = str(text or "").replace("&", "&amp;").replace("<", "&lt;")
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _md_entry(row: dict, content: dict) -> list[str]:
    head = f"- **{row['kind_label']}** `#{row['ref']}` {iso(row['occurred_at'], content)}"
    if row["author"]:
        head += f" · {row['author']}"
    if row["impact_label"]:
        head += f" · impact: {row['impact_label']}"
    lines = [head]
    if row["kind"] == "learning" and "decision" in row:
        lines.append(f"  - decision: {_md_text(row['decision'])}")
        if row.get("recurrence"):
            lines.append(f"  - {row['recurrence']}")
    if row["kind"] == "action":
        due = row["due"].isoformat() if row["due"] else "—"
        status = row["status_label"] or "Open"
        lines.append(f"  - owner: {row['owner'] or 'none'} · due: {due} · status: {status}")
    lines += [f"  {line}" if line else "" for line in row["body"].splitlines()]
    if row.get("charts"):
        lines.append(f"  - {len(row['charts'])} telemetry chart(s) in the PDF report")
    return lines


def to_markdown(content: dict) -> bytes:
    """The report as Markdown for a wiki, section by section."""
    lines = [f"# {_md_text(content['event']['name'])}: post-event report", ""]
    if content["external"]:
        lines += ["_Partner edition: shareable entries only._", ""]
    for name in content["sections"]:
        lines += MARKDOWN_SECTIONS[name](content[name], content)
        lines.append("")
    return ("\n".join(lines).rstrip() + "\n").encode()


def _md_cover(cover: dict, content: dict) -> list[str]:
    venue = f" · {_md_text(cover['venue'])}" if cover["venue"] else ""
    lines = [f"**{cover['dates']}**{venue}", ""]
    lines += [
        f"- {_md_text(s['name'])} ({_md_text(s['role'])}"
        f"{', ' + _md_text(s['city']) if s['city'] else ''})"
        for s in cover["sites"]
    ]
    lines += ["", f"Generated {iso(content['generated_at'], content)}."]
    if not content["entry_count"]:
        lines += ["", "This event has no entries to report."]
    return lines


def _md_summary(summary: dict, content: dict) -> list[str]:
    t = summary["totals"]
    lines = [
        "## Summary",
        "",
        f"{t['win']} wins · {t['learning']} learnings · {t['action']} actions "
        f"({summary['actions_open']} open, {summary['actions_done']} done)",
        "",
        "| Stage | Wins | Learnings | Actions |",
        "|---|---:|---:|---:|",
    ]
    lines += [
        f"| {r['label']} | {r['win']} | {r['learning']} | {r['action']} |"
        for r in summary["by_stage"]
    ]
    if summary.get("retro_override_reason"):
        reason = _md_text(summary["retro_override_reason"])
        lines += ["", f"Finalized with a lead's override. Reason given: {reason}"]
    if not summary["anomalies"]["available"]:
        lines += ["", "Anomalies: no data."]
    if not summary["impact_minutes"]["available"]:
        lines += ["Impact minutes: no data."]
    return lines + _md_impact(summary["impact_minutes"], content)


def _md_impact(impact: dict, content: dict) -> list[str]:
    """Viewer impact per output, redundancy lost per path, failovers on air."""
    lines = []
    for key, title in (("rows", "Viewer impact by output"), ("redundancy", "Redundancy lost")):
        if impact.get(key):
            lines += ["", f"**{title}** (minutes on air)", ""]
            lines += [f"- `{_md_text(r['feed'])}`: {r['minutes']}" for r in impact[key]]
    if impact.get("failovers"):
        lines += ["", "**Failovers**", ""]
        lines += [
            f"- {iso(f['at'], content)} {_md_text(f['text'])} ({_md_text(f['how'])})"
            for f in impact["failovers"]
        ]
    return lines


def _md_since(since: dict, content: dict) -> list[str]:
    lines = ["## Since last event", ""]
    if not since["available"]:
        return [*lines, "This event does not follow an earlier one."]
    lines += [f"What {_md_text(since['last']['name'])} left for this event.", "", "### Changed"]
    lines += [
        f"- {_md_text(c['runbook'])} r{c['number']}: {_md_text(c['summary'])}"
        for c in since["changes"]
    ] or ["- No runbook revision cites its learnings."]
    lines += ["", f"### Its actions: {len(since['done'])} done, {len(since['open'])} open"]
    lines += [f"- #{a['ref']} done: {_md_escape(a['body'])}" for a in since["done"]]
    lines += [f"- #{a['ref']} open: {_md_escape(a['body'])}" for a in since["open"]]
    lines += ["", "### Recurred"]
    lines += [f"- {_md_text(item['what'])}: {item['label']}" for item in since["recurred"]] or [
        "- Nothing recurred."
    ]
    return lines


def _md_stages(stages: dict, content: dict) -> list[str]:
    lines = ["## Entries by stage and session"]
    if not stages["stages"]:
        lines += ["", "No entries."]
    for stage in stages["stages"]:
        lines += ["", f"### {stage['label']}"]
        for session in stage["sessions"]:
            lines += ["", f"#### {_md_text(session['title'])}", ""]
            for kind in ("win", "learning", "action"):
                for row in session[kind]:
                    lines += _md_entry(row, content)
    return lines


def _md_actions(actions: dict, content: dict) -> list[str]:
    lines = ["## Action tracker", ""]
    if not actions["owners"]:
        return [*lines, "No open actions."]
    if actions.get("overdue_count"):
        lines += [f"**{actions['overdue_count']} overdue** as of {actions['as_of']}.", ""]
    for group in actions["owners"]:
        lines += [
            f"### {_md_text(group['owner'])}",
            "",
            "| Ref | Action | Due | Status |",
            "|---|---|---|---|",
        ]
        for a in group["actions"]:
            body = _md_escape(a["body"])
            if a["carried_from"]:
                body += f" _(carried over from {_md_text(a['carried_from'])})_"
            due = a["due"].isoformat() if a["due"] else "—"
            if a.get("overdue_days"):
                due += f" **overdue {a['overdue_days']} d**"
            lines.append(f"| #{a['ref']} | {body} | {due} | {a['status_label'] or 'Open'} |")
        lines.append("")
    return lines


def _md_runbooks(runbooks: dict, content: dict) -> list[str]:
    lines = ["## Runbook runs and revisions", ""]
    if not runbooks["runs"]:
        lines.append("Runs: no data.")
    for run in runbooks["runs"]:
        lines.append(
            f"- {_md_text(run['runbook'])} r{run['revision']} · {iso(run['started'], content)} · "
            f"{_md_text(run['by'])} · "
            f"{run['done']}/{run['steps']} steps done"
        )
    lines.append("")
    if not runbooks["revisions"]:
        lines.append("Revisions from this event's learnings: no data.")
    for rev in runbooks["revisions"]:
        refs = ", ".join(f"#{item['ref']}" for item in rev["learnings"])
        summary = _md_text(rev["summary"])
        lines.append(f"- {_md_text(rev['runbook'])} r{rev['number']}: {summary} (from {refs})")
    return lines


def _md_anomalies(anomalies: dict, content: dict) -> list[str]:
    lines = ["## Unreviewed anomalies", ""]
    if not anomalies["items"]:
        return [*lines, "No data." if not anomalies["available"] else "Every anomaly was reviewed."]
    return lines + [
        f"- {_md_text(a['feed'])} · {_md_text(a['metric'])} · "
        f"{iso(a['start'], content)} to {iso(a['end'], content)}"
        for a in anomalies["items"]
    ]


def _md_timeline(timeline: dict, content: dict) -> list[str]:
    lines = ["## Appendix: timeline", ""]
    if timeline.get("sessions"):
        lines += ["| Session | Scheduled | On air | Off air |", "|---|---|---|---|"]
        lines += [
            f"| {_md_text(s['title'])} | {iso(s['scheduled_start'], content)} to "
            f"{iso(s['scheduled_end'], content)} | {_md_mark(s, 'start', content)} | "
            f"{_md_mark(s, 'end', content)} |"
            for s in timeline["sessions"]
        ]
        lines.append("")
    if not timeline["rows"]:
        return [*lines, "No entries."]
    lines += ["| Time | Kind | Entry |", "|---|---|---|"]
    lines += [
        f"| {iso(r['occurred_at'], content)} | {r['kind_label']} | {_md_escape(r['body'])} |"
        for r in timeline["rows"]
    ]
    return lines


def _md_mark(session: dict, which: str, content: dict) -> str:
    """A marked on-air or off-air time with how late or early it was; "not marked"."""
    moment = session[f"actual_{which}"]
    if not moment:
        return "not marked"
    return f"{iso(moment, content)} ({session[f'{which}_delta']})"


MARKDOWN_SECTIONS = {
    "cover": _md_cover,
    "summary": _md_summary,
    "since": _md_since,
    "stages": _md_stages,
    "actions": _md_actions,
    "runbooks": _md_runbooks,
    "anomalies": _md_anomalies,
    "timeline": _md_timeline,
}
