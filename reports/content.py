"""The content of a post-event report, assembled once and shared by every format.

One function per section. Each takes the event, the parsed options and the entries the
options select, and returns plain data (dicts, lists, strings) that the PDF template, the
Markdown/CSV/JSON exporters and the tests read alike.
"""

import html
import logging
from collections import OrderedDict, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.html import strip_tags

from integrations import onair, pipelines, review, snapshots
from integrations import selectors as telemetry
from retro import loop, showclock
from retro.actions import OPEN_STATUSES
from retro.models import Entry, Event, Feed, Membership, Stage, live_entries
from runbooks.models import RunbookRevision, RunbookRun, revision_text
from tally.charts import Series, line_chart
from tally.times import in_zone

from .models import Report

log = logging.getLogger(__name__)

SECTIONS = (
    "cover",
    "summary",
    "since",
    "stages",
    "actions",
    "runbooks",
    "anomalies",
    "timeline",
)
SECTION_TITLES = {
    "cover": "Cover",
    "summary": "Summary",
    "since": "Since last event",
    "stages": "Entries by stage and session",
    "actions": "Action tracker",
    "runbooks": "Runbook runs and revisions",
    "anomalies": "Unreviewed anomalies",
    "timeline": "Appendix: timeline of every entry",
}
CSV_TABLES = ("entries", "actions")
NO_STAGE = "unassigned"
NO_DATA = "No data"
# Charts per learning: enough to show the evidence, few enough to keep pages readable.
MAX_FEEDS_PER_ENTRY = 2
MAX_METRICS_PER_FEED = 2
# Two charts side by side on A4: this size keeps the axis labels at about 6 pt in print.
CHART_WIDTH, CHART_HEIGHT = 440, 160
# The metrics operators read first, in that order; others follow by name.
KEY_METRICS = [
    "recv.packetsLost",
    "link.rtt",
    "mediaconnect.SourcePacketLossPercent",
    "medialive.InputLossSeconds",
    "medialive.ActiveAlerts",
    "encoder.drop_frames",
    "encoder.fps",
    "recv.mbitRate",
    "mediaconnect.SourceRoundTripTime",
    "medialive.DroppedFrames",
]

Progress = Callable[[int], None]


@dataclass
class ReportOptions:
    """What a report contains, after validation."""

    format: str = Report.Format.PDF
    variant: str = Report.Variant.INTERNAL
    sections: list[str] = field(default_factory=lambda: list(SECTIONS))
    kinds: list[str] = field(default_factory=list)
    stages: list[str] = field(default_factory=list)
    sessions: list[str] = field(default_factory=list)
    table: str = "entries"

    @property
    def external(self) -> bool:
        return self.variant == Report.Variant.EXTERNAL

    def as_json(self) -> dict:
        """The options as stored on the Report row (format and variant have their own columns)."""
        return {
            "sections": self.sections,
            "kinds": self.kinds,
            "stages": self.stages,
            "sessions": self.sessions,
            "table": self.table,
        }


def _as_list(value, name: str) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = [part for part in (p.strip() for p in value.split(",")) if part]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValidationError({name: f"{name} is a list of names."})
    return list(dict.fromkeys(v.strip() for v in value if v.strip()))


def _unknown(name: str, given: list[str], known) -> None:
    unknown = [value for value in given if value not in known]
    if unknown:
        raise ValidationError(
            {name: f"Unknown {name[:-1]}: {', '.join(unknown)}. Use {', '.join(known)}."}
        )


def parse_options(event: Event, *, format: str, variant: str = "", options=None) -> ReportOptions:
    """Validate a report request; a ValidationError names the unknown format, variant or value."""
    options = options or {}
    if not isinstance(options, dict):
        raise ValidationError({"options": "Options are an object."})
    if format not in Report.Format.values:
        raise ValidationError(
            {"format": f"Unknown format: {format}. Use {', '.join(Report.Format.values)}."}
        )
    variant = variant or Report.Variant.INTERNAL
    if variant not in Report.Variant.values:
        raise ValidationError(
            {"variant": f"Unknown variant: {variant}. Use {', '.join(Report.Variant.values)}."}
        )
    extra = set(options) - {"sections", "kinds", "stages", "sessions", "table"}
    if extra:
        raise ValidationError({name: f"Unknown option: {name}." for name in sorted(extra)})
    sections = _as_list(options.get("sections"), "sections")
    _unknown("sections", sections, SECTIONS)
    kinds = _as_list(options.get("kinds"), "kinds")
    _unknown("kinds", kinds, Entry.Kind.values)
    stages = _as_list(options.get("stages"), "stages")
    _unknown("stages", stages, Stage.values)
    sessions = _as_list(options.get("sessions"), "sessions")
    _unknown("sessions", sessions, list(event.sessions.values_list("slug", flat=True)))
    table = options.get("table") or "entries"
    if table not in CSV_TABLES:
        raise ValidationError({"table": f"Unknown table: {table}. Use entries or actions."})
    return ReportOptions(
        format=format,
        variant=variant,
        sections=[s for s in SECTIONS if s in sections] if sections else list(SECTIONS),
        kinds=kinds,
        stages=stages,
        sessions=sessions,
        table=table,
    )


# --- People: names inside, site and role outside --------------------------------------


class People:
    """How a person is named in the report: by name internally, by site/role for partners."""

    def __init__(self, event: Event, external: bool):
        self.external = external
        self.members = {
            m.user_id: m for m in Membership.objects.filter(event=event).select_related("site")
        }

    def name(self, user, site=None) -> str:
        if user is None:
            return ""
        if not self.external:
            return user.get_full_name() or user.username
        member = self.members.get(user.pk)
        role = member.get_role_display().lower() if member else "team member"
        where = site or (member.site if member else None)
        return f"{where.name} {role}" if where else role.capitalize()


# --- Entries ----------------------------------------------------------------------------


def selected_entries(event: Event, opts: ReportOptions) -> list[Entry]:
    """The event's live entries the options select, oldest first, with what rows read."""
    entries = live_entries().filter(event=event)
    if opts.external:
        entries = entries.filter(shareable=True)
    if opts.kinds:
        entries = entries.filter(kind__in=opts.kinds)
    if opts.stages:
        entries = entries.filter(stage__in=opts.stages)
    if opts.sessions:
        entries = entries.filter(session__slug__in=opts.sessions)
    return list(
        entries.select_related("author", "site", "session", "owner", "source_entry")
        .prefetch_related(Prefetch("feeds", queryset=Feed.objects.order_by("slug")))
        .order_by("occurred_at", "logged_at")
    )


class LocalTime:
    """A moment of the report: the PDF prints it in the event's zone with its label
    ("Mon 30 Nov 2026 07:54 PST"), the exports as ISO 8601 with the offset."""

    __slots__ = ("moment", "style", "zone")

    def __init__(self, moment: datetime, zone, style: str = "date"):
        self.moment, self.zone, self.style = moment, zone, style

    def __str__(self) -> str:
        return in_zone(self.moment, self.zone, self.style)

    def iso(self) -> str:
        return in_zone(self.moment, self.zone, "iso")


def local_time(moment: datetime | None, event: Event, style: str = "date") -> LocalTime | str:
    return "" if moment is None else LocalTime(moment, event.tz, style)


def overdue_days(entry: Entry, event: Event) -> int:
    """Days an open action is past its due date, on the event's calendar (0: not overdue)."""
    if not entry.is_action or entry.due is None or entry.status not in OPEN_STATUSES:
        return 0
    today = timezone.localdate(timezone=event.tz)
    return max((today - entry.due).days, 0)


def entry_row(entry: Entry, event: Event, people: People, *, charts: bool = False) -> dict:
    """One entry as every format shows it."""
    late = overdue_days(entry, event)
    return {
        "id": str(entry.pk),
        "ref": str(entry.pk)[:8],
        "kind": entry.kind,
        "kind_label": entry.get_kind_display(),
        "body": entry.body,
        "body_html": entry.body_html,
        "text": html.unescape(strip_tags(entry.body_html)),
        "occurred_at": entry.occurred_at,
        "occurred_local": local_time(entry.occurred_at, event),
        "author": people.name(entry.author, entry.site),
        "site": entry.site.name if entry.site else "",
        "session": entry.session.title if entry.session else "",
        "session_slug": entry.session.slug if entry.session else "",
        "stage": entry.stage or NO_STAGE,
        "stage_label": Stage(entry.stage).label if entry.stage else "No stage",
        "feeds": [feed.name for feed in entry.feeds.all()],
        "tags": list(entry.tags),
        "impact": entry.impact,
        "impact_label": entry.get_impact_display() if entry.impact else "",
        "shareable": entry.shareable,
        "owner": people.name(entry.owner) if entry.is_action else "",
        "due": entry.due,
        "status": entry.status,
        "status_label": entry.get_status_display() if entry.status else "",
        "overdue": late > 0,
        "overdue_days": late,
        "source_ref": str(entry.source_entry_id)[:8] if entry.source_entry_id else "",
        "charts": chart_svgs_for_entry(entry) if charts else [],
    }


def chart_svgs_for_entry(entry: Entry) -> list[str]:
    """The telemetry charts shown next to a learning, as SVG from tally.charts.line_chart
    (the same function the web pages draw with).

    The one place the report gets its charts: point it at the entry's frozen telemetry
    snapshot once linking exists. Until then it draws the live series of the entry's feeds
    over the entry's window, when telemetry is stored; otherwise no chart.
    """
    frozen = snapshots.TelemetrySnapshot.objects.filter(entry=entry).first()
    if frozen is not None:  # the evidence frozen with the entry (issue 5)
        groups = snapshots.chart_svgs(
            entry,
            frozen,
            max_feeds=MAX_FEEDS_PER_ENTRY,
            max_metrics=MAX_METRICS_PER_FEED,
            width=CHART_WIDTH,
            height=CHART_HEIGHT,
        )
        return [svg for group in groups for svg in group["svgs"]]

    start = entry.occurred_at - timedelta(seconds=entry.window_before)
    end = entry.occurred_at + timedelta(seconds=entry.window_after)
    svgs = []
    with_metrics = [(feed, telemetry.feed_metrics(feed)) for feed in entry.feeds.all()]
    with_metrics = [(feed, metrics) for feed, metrics in with_metrics if metrics]
    for feed, metrics in with_metrics[:MAX_FEEDS_PER_ENTRY]:
        metrics = sorted(metrics, key=_metric_rank)[:MAX_METRICS_PER_FEED]
        step = telemetry.parse_step(None, start, end)
        query = telemetry.SeriesQuery(feed=feed, metrics=metrics, start=start, end=end, step=step)
        for one in telemetry.series(query):
            points = [(datetime.fromisoformat(t), v) for t, v in one["points"]]
            if not points:
                continue
            svgs.append(
                line_chart(
                    title=f"{feed.slug} · {one['metric']}",
                    series=[Series(label=one["metric"], unit=one["unit"], points=points)],
                    start=start,
                    end=end,
                    tz=entry.event.tz,
                    marker=entry.occurred_at,
                    marker_label="entry",
                    width=CHART_WIDTH,
                    height=CHART_HEIGHT,
                )
            )
    return svgs


def _metric_rank(metric) -> tuple[int, str]:
    name = pipelines.base(metric.name)  # one pipeline's series ranks as its metric
    rank = KEY_METRICS.index(name) if name in KEY_METRICS else len(KEY_METRICS)
    return rank, metric.name


# --- Sections ---------------------------------------------------------------------------


def cover_section(event: Event, opts: ReportOptions, entries: list[Entry], people: People) -> dict:
    """Event, dates, venue and the sites that worked it."""
    sites = {feed.origin for feed in event.feeds.select_related("origin") if feed.origin}
    sites |= {
        feed.destination for feed in event.feeds.select_related("destination") if feed.destination
    }
    sites |= {m.site for m in people.members.values() if m.site}
    return {
        "name": event.name,
        "venue": event.venue,
        "dates": f"{timezone.localtime(event.start, event.tz):%a %d %b %Y} to "
        f"{timezone.localtime(event.end, event.tz):%a %d %b %Y}",
        "start": local_time(event.start, event),
        "end": local_time(event.end, event),
        "time_zone": event.time_zone,
        "sites": [
            {"name": s.name, "role": s.get_role_display(), "city": s.city}
            for s in sorted(sites, key=lambda s: (s.role, s.name))
        ],
        "sessions": event.sessions.count(),
        "feeds": event.feeds.count(),
        "variant_label": Report.Variant(opts.variant).label,
    }


def summary_section(
    event: Event, opts: ReportOptions, entries: list[Entry], people: People
) -> dict:
    """Counts on one page: entries by stage and kind, actions by status, telemetry totals."""
    by_stage = OrderedDict(
        (stage, {"label": label, "win": 0, "learning": 0, "action": 0})
        for stage, label in [*Stage.choices, (NO_STAGE, "No stage")]
    )
    for entry in entries:
        by_stage[entry.stage or NO_STAGE][entry.kind] += 1
    rows = [row for row in by_stage.values() if row["win"] + row["learning"] + row["action"]]
    actions = [e for e in entries if e.is_action]
    status_counts = OrderedDict((label, 0) for _, label in Entry.Status.choices)
    for action in actions:
        status_counts[action.get_status_display() or "Open"] += 1
    totals = {kind: sum(r[kind] for r in rows) for kind in Entry.Kind.values}
    return {
        "by_stage": rows,
        "totals": totals,
        "entry_count": len(entries),
        "actions_open": sum(1 for a in actions if a.status in OPEN_STATUSES),
        "actions_overdue": sum(1 for a in actions if overdue_days(a, event)),
        "sessions_on_air": on_air_summary(event),
        "actions_done": sum(1 for a in actions if a.status == Entry.Status.DONE),
        "actions_by_status": [{"status": k, "count": v} for k, v in status_counts.items()],
        "on_air_learnings": sum(1 for e in entries if e.impact == Entry.Impact.ON_AIR),
        "retro_override_reason": event.retro_override_reason,
        "anomalies": anomaly_counts(event),
        "impact_minutes": capped(impact_minutes(event)),
    }


# The summary is one page: its lists show their largest rows, the rest are counted.
SUMMARY_ROWS = 5


def capped(impact: dict) -> dict:
    """The impact lists cut to SUMMARY_ROWS each (largest first), with how many were left."""
    out = dict(impact)
    for name in ("rows", "redundancy", "failovers"):
        rows = list(impact.get(name) or [])
        if name != "failovers":
            rows.sort(key=lambda r: -float(r.get("minutes") or 0))
        out[name] = rows[:SUMMARY_ROWS]
        out[f"{name}_more"] = max(len(rows) - SUMMARY_ROWS, 0)
    return out


def on_air_summary(event: Event) -> dict:
    """How many sessions were marked on air, and how late they went on air on average."""
    sessions = list(event.sessions.all())
    marked = [s for s in sessions if s.actual_start]
    late = [(s.actual_start - s.scheduled_start).total_seconds() / 60 for s in marked]
    return {
        "sessions": len(sessions),
        "marked": len(marked),
        "average_late_minutes": round(sum(late) / len(late), 1) if late else None,
    }


def anomaly_counts(event: Event) -> dict:
    """Anomalies reviewed vs unreviewed (integrations.review)."""
    items = review.anomalies_for_event(event)
    unreviewed = sum(1 for a in items if not a.reviewed)
    return {"available": True, "reviewed": len(items) - unreviewed, "unreviewed": unreviewed}


def impact_minutes(event: Event) -> dict:
    """Viewer impact minutes per output, redundancy lost per path and the failovers on air
    (integrations.onair)."""
    report = onair.path_report(event)
    rows = [{"label": row["feed"], **row} for row in onair.viewer_impact(event, report)]
    redundancy = [{"label": row["feed"], **row} for row in onair.redundancy_lost(event, report)]
    failovers = [
        {
            "at": local_time(s.at, event),
            "text": f"{s.feed}: {s.previous} -> {s.to}" if s.previous else f"{s.feed}: {s.to}",
            "how": s.how,
        }
        for s in onair.failovers(event, report)
    ]
    return {"available": True, "rows": rows, "redundancy": redundancy, "failovers": failovers}


def stages_section(event: Event, opts: ReportOptions, entries: list[Entry], people: People) -> dict:
    """Per stage, per session: wins, learnings (with charts, their decision and where they
    recurred) and actions."""
    decided = loop.decisions([e for e in entries if e.kind == Entry.Kind.LEARNING])
    recurrences = loop.RecurrenceIndex(event)
    groups: dict = OrderedDict()
    for stage, label in [*Stage.choices, (NO_STAGE, "No stage")]:
        groups[stage] = {"stage": stage, "label": label, "sessions": OrderedDict()}
    for entry in entries:
        stage = groups[entry.stage or NO_STAGE]
        key = entry.session.slug if entry.session else ""
        session = stage["sessions"].setdefault(
            key,
            {
                "title": entry.session.title if entry.session else "Not tied to a session",
                "when": local_time(entry.session.scheduled_start, event) if entry.session else "",
                "win": [],
                "learning": [],
                "action": [],
            },
        )
        row = entry_row(entry, event, people, charts=entry.kind == Entry.Kind.LEARNING)
        if entry.kind == Entry.Kind.LEARNING:
            row["decision"] = decided[entry.pk].summary
            recurrence = recurrences.of(list(entry.feeds.all()))
            row["recurrence"] = recurrence.label if recurrence.recurred else ""
        session[entry.kind].append(row)
    result = []
    for stage in groups.values():
        if not stage["sessions"]:
            continue
        sessions = list(stage["sessions"].values())
        result.append({**stage, "sessions": sessions})
    chart_count = sum(
        len(row["charts"]) for s in result for ss in s["sessions"] for row in ss["learning"]
    )
    return {"stages": result, "chart_count": chart_count}


def since_section(event: Event, opts: ReportOptions, entries: list[Entry], people: People) -> dict:
    """What the event it follows left: the runbook revisions its learnings caused, which of
    its actions are done, and what recurred here (learnings and anomalies at a place flagged
    at earlier events of the chain)."""
    last = event.follows
    if last is None:
        return {"available": False}
    actions = live_entries().filter(event=last, kind=Entry.Kind.ACTION).select_related("owner")
    if opts.external:
        actions = actions.filter(shareable=True)
    rows = [entry_row(a, event, people) for a in actions.order_by("due", "occurred_at")]
    recurrences = loop.RecurrenceIndex(event)
    recurred = []
    for entry in entries:
        if entry.kind == Entry.Kind.LEARNING:
            recurrence = recurrences.of(list(entry.feeds.all()))
            if recurrence.recurred:
                recurred.append(
                    {
                        "what": f"Learning #{str(entry.pk)[:8]}: {entry.body[:160]}",
                        "label": recurrence.label,
                    }
                )
    for feed in Feed.objects.filter(event=event, anomalies__isnull=False).distinct():
        recurrence = recurrences.of([feed])
        if recurrence.recurred:
            recurred.append({"what": f"Anomalies on {feed.slug}", "label": recurrence.label})
    return {
        "available": True,
        "last": {"name": last.name, "slug": last.slug},
        "changes": [
            {
                "runbook": c.runbook,
                "number": c.number,
                "summary": c.summary,
                "at": local_time(c.at, event),
            }
            for c in loop.changed_since_last_event(event)
        ],
        "done": [r for r in rows if r["status"] == Entry.Status.DONE],
        "open": [r for r in rows if r["status"] in OPEN_STATUSES],
        "recurred": recurred,
    }


def actions_section(
    event: Event, opts: ReportOptions, entries: list[Entry], people: People
) -> dict:
    """Every open action by owner: this event's and those carried over from earlier events."""
    own = [e for e in entries if e.is_action and e.status in OPEN_STATUSES]
    carried = list(loop.carried_over_actions(event))
    if opts.external:
        carried = [a for a in carried if a.shareable]
    by_owner: dict[str, list] = defaultdict(list)
    for action, origin in [*((a, "") for a in own), *((a, a.event.name) for a in carried)]:
        row = entry_row(action, event, people)
        row["carried_from"] = origin
        by_owner[row["owner"] or "No owner"].append(row)
    owners = [
        {"owner": owner, "actions": sorted(rows, key=lambda r: (r["due"] is None, r["due"] or 0))}
        for owner, rows in sorted(by_owner.items(), key=lambda kv: (kv[0] == "No owner", kv[0]))
    ]
    overdue = sum(1 for group in owners for row in group["actions"] if row["overdue"])
    return {
        "owners": owners,
        "count": len(own) + len(carried),
        "carried_count": len(carried),
        "overdue_count": overdue,
        "as_of": f"{timezone.localdate(timezone=event.tz):%a %d %b %Y} ({event.time_zone})",
    }


def runbooks_section(
    event: Event, opts: ReportOptions, entries: list[Entry], people: People
) -> dict:
    """Runbook runs during the event and the revisions its learnings caused."""
    runs = []
    for run in (
        RunbookRun.objects.filter(event=event)
        .select_related("runbook", "revision", "session", "feed", "started_by")
        .defer(*revision_text("revision"))
        .prefetch_related("steps")
        .order_by("started_at")
    ):
        steps = list(run.steps.all())
        runs.append(
            {
                "runbook": run.runbook.title,
                "revision": run.revision.number,
                "session": run.session.title if run.session else "",
                "feed": run.feed.name if run.feed else "",
                "started": local_time(run.started_at, event),
                "finished": local_time(run.finished_at, event)
                if run.finished_at
                else "not finished",
                "by": people.name(run.started_by),
                "done": sum(1 for s in steps if s.state == "done"),
                "skipped": sum(1 for s in steps if s.state == "skipped"),
                "steps": len(steps),
            }
        )
    learnings = live_entries().filter(event=event, kind=Entry.Kind.LEARNING)
    if opts.external:
        learnings = learnings.filter(shareable=True)
    revisions = []
    for revision in (
        RunbookRevision.objects.filter(entries__in=learnings)
        .distinct()
        .select_related("runbook", "author")
        .prefetch_related(Prefetch("entries", queryset=learnings.order_by("occurred_at")))
        .order_by("created_at")
    ):
        revisions.append(
            {
                "runbook": revision.runbook.title,
                "number": revision.number,
                "summary": revision.summary,
                "by": people.name(revision.author),
                "at": local_time(revision.created_at, event),
                "learnings": [
                    {"ref": str(e.pk)[:8], "body": e.body} for e in revision.entries.all()
                ],
            }
        )
    return {"available": True, "runs": runs, "revisions": revisions}


def anomalies_section(
    event: Event, opts: ReportOptions, entries: list[Entry], people: People
) -> dict:
    """Anomalies nobody reviewed (no entry covers them, not dismissed)."""
    items = [
        {
            "feed": a.feed_slug,
            "metric": a.get_kind_display() + (f" ({a.key})" if a.key != "gap" else ""),
            "start": local_time(a.start, event),
            "end": local_time(a.end, event) if a.end else "ongoing",
            "affected": a.affected,
        }
        for a in review.unreviewed_anomalies(event)
    ]
    return {"available": True, "items": items}


def timeline_section(
    event: Event, opts: ReportOptions, entries: list[Entry], people: People
) -> dict:
    """Every session's scheduled and actual on-air window, then every selected entry in
    time order."""
    return {
        "sessions": [
            {
                **row,
                "scheduled_start": local_time(row["scheduled_start"], event),
                "scheduled_end": local_time(row["scheduled_end"], event, "clock"),
                "actual_start": local_time(row["actual_start"], event, "clock"),
                "actual_end": local_time(row["actual_end"], event, "clock"),
            }
            for row in showclock.schedule_rows(event)
        ],
        "rows": [entry_row(e, event, people) for e in entries],
    }


SECTION_BUILDERS = {
    "cover": cover_section,
    "summary": summary_section,
    "since": since_section,
    "stages": stages_section,
    "actions": actions_section,
    "runbooks": runbooks_section,
    "anomalies": anomalies_section,
    "timeline": timeline_section,
}


def build_report(event: Event, opts: ReportOptions, progress: Progress | None = None) -> dict:
    """Assemble the report: the options' sections in order, progress from 0 to `end`."""
    progress = progress or (lambda pct: None)
    entries = selected_entries(event, opts)
    people = People(event, opts.external)
    content = {
        "event": {"name": event.name, "slug": event.slug, "time_zone": event.time_zone},
        "variant": opts.variant,
        "external": opts.external,
        "options": opts.as_json(),
        "generated_at": timezone.now(),
        "generated_local": local_time(timezone.now(), event),
        "entry_count": len(entries),
        "sections": opts.sections,
        "titles": {name: SECTION_TITLES[name] for name in opts.sections},
    }
    for number, name in enumerate(opts.sections, start=1):
        content[name] = SECTION_BUILDERS[name](event, opts, entries, people)
        progress(round(number / len(opts.sections) * 100))
    return content
