"""Server-side SVG charts for telemetry: one module used by the web pages and the PDF report.

Pure Python, no Django. Charts are small multiples (one metric per chart, so every chart
has one unit on its axis). Times are drawn in the viewer's zone. A gap in the data is a
gap in the line: no data is never drawn as zero. Colours use currentColor for text and
axes so the page's CSS (dark board, white PDF) decides.
"""

import itertools
import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from html import escape

PALETTE = ["#4ea1ff", "#ffb000", "#3fb950", "#f778ba", "#a371f7", "#ff7b72"]
ALERT_FILL = "#f85149"
ONAIR_FILL = "#3fb950"
FAILOVER_FILL = "#79c0ff"
# Entries are marked in the text colour (white on the dark board, ink in the PDF), dashed with
# a flag on top: never a colour the data lines use.
ENTRY_STROKE = "currentColor"


@dataclass
class Series:
    """One line: a label, its unit and (time, value) points; value None marks a gap."""

    label: str
    unit: str
    points: list[tuple[datetime, float | None]]


@dataclass
class Span:
    """A shaded time range: an alert (SET → CLEARED), an anomaly or an on-air window."""

    start: datetime
    end: datetime | None
    label: str = ""
    kind: str = "alert"  # alert | onair | entry | failover


@dataclass
class Layout:
    width: int = 640
    height: int = 170
    left: int = 58
    right: int = 12
    top: int = 22
    bottom: int = 26
    plot_w: float = field(init=False)
    plot_h: float = field(init=False)

    def __post_init__(self):
        self.plot_w = self.width - self.left - self.right
        self.plot_h = self.height - self.top - self.bottom


def nice_step(span: float, ticks: int = 4) -> float:
    """A 1, 2 or 5 times 10^n step that divides `span` into about `ticks` parts."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power


def y_ticks(low: float, high: float) -> list[float]:
    """Round values covering [low, high]."""
    step = nice_step(high - low)
    first = math.floor(low / step) * step
    ticks, value = [], first
    while True:
        ticks.append(round(value, 10))
        if value >= high - step * 0.001:
            return ticks
        value += step


TIME_STEPS = [s * 60 for s in (1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440)]


def time_ticks(start: datetime, end: datetime, tz: tzinfo, count: int = 6) -> list[datetime]:
    """Whole-minute ticks in the viewer's zone."""
    total = (end - start).total_seconds()
    step = next((s for s in TIME_STEPS if total / s <= count), TIME_STEPS[-1])
    local = start.astimezone(tz)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    offset = (local - midnight).total_seconds()
    first = midnight + timedelta(seconds=math.ceil(offset / step) * step)
    ticks = []
    tick = first
    while tick <= end:
        ticks.append(tick)
        tick += timedelta(seconds=step)
    return ticks


def format_value(value: float) -> str:
    """Short axis labels: 1.5k, 2M, 0.25."""
    magnitude = abs(value)
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if magnitude >= limit:
            return f"{value / limit:g}{suffix}"
    return f"{value:g}" if magnitude >= 0.01 or value == 0 else f"{value:.1e}"


def split_runs(points: list[tuple[datetime, float | None]], gap: timedelta | None):
    """Break a series into runs at None values and at holes longer than `gap`."""
    runs, current, previous = [], [], None
    for moment, value in sorted(points, key=lambda p: p[0]):
        hole = previous is not None and gap is not None and moment - previous > gap
        if value is None or hole or (value is not None and not math.isfinite(value)):
            if current:
                runs.append(current)
            current = []
        if value is not None and math.isfinite(value):
            current.append((moment, value))
        previous = moment
    if current:
        runs.append(current)
    return runs


def typical_gap(points: list[tuple[datetime, float | None]]) -> timedelta | None:
    """Three times the median spacing of the points: longer holes are drawn as gaps."""
    times = sorted(p[0] for p in points)
    steps = sorted((b - a).total_seconds() for a, b in itertools.pairwise(times))
    steps = [s for s in steps if s > 0]
    if not steps:
        return None
    return timedelta(seconds=max(steps[len(steps) // 2] * 3, 1))


def line_chart(
    *,
    title: str,
    series: list[Series],
    start: datetime,
    end: datetime,
    tz: tzinfo,
    marker: datetime | None = None,
    marker_label: str = "",
    spans: list[Span] = (),
    width: int = 640,
    height: int = 170,
    hover: bool = False,
) -> str:
    """An SVG line chart of one metric (one unit) over [start, end], times in `tz`.

    With `hover`, the SVG carries its series as data attributes for the page's crosshair
    (static/js/feed-zoom.js reads every chart's value at the moment under the pointer)."""
    box = Layout(width=width, height=height)
    seconds = max((end - start).total_seconds(), 1)
    values = [v for s in series for _, v in s.points if v is not None and math.isfinite(v)]
    low, high = (min([*values, 0.0]), max(values)) if values else (0.0, 1.0)
    if high == low:
        high = low + (abs(low) or 1.0)
    ticks = y_ticks(low, high)
    low, high = min(ticks[0], low), max(ticks[-1], high)

    def x(moment: datetime) -> float:
        clamped = min(max((moment - start).total_seconds(), 0), seconds)
        return box.left + clamped / seconds * box.plot_w

    def y(value: float) -> float:
        return box.top + (1 - (value - low) / (high - low)) * box.plot_h

    unit = series[0].unit if series else ""
    label = f"{title} ({unit})" if unit else title
    data = _hover_data(series, start, end, box, label) if hover else ""
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(label)}"{data}>',
        f"<title>{escape(label)}</title>",
        f'<text x="{box.left}" y="14" font-size="12" font-weight="600" fill="currentColor">'
        f"{escape(label)}</text>",
    ]
    parts += _spans(spans, x, box)
    parts += _axes(ticks, y, box, start, end, tz, x)
    if not values:
        parts.append(
            f'<text x="{box.left + box.plot_w / 2}" y="{box.top + box.plot_h / 2}" '
            'font-size="12" text-anchor="middle" fill="currentColor" opacity="0.7">'
            "no data in this window</text>"
        )
    for index, one in enumerate(series):
        parts += _lines(one, PALETTE[index % len(PALETTE)], x, y)
    if len(series) > 1:
        parts += _legend(series, box, after=len(label))
    if marker is not None and start <= marker <= end:
        mx = x(marker)
        parts.append(
            f'<line x1="{mx:.1f}" y1="{box.top}" x2="{mx:.1f}" y2="{box.top + box.plot_h}" '
            'stroke="currentColor" stroke-width="1.5" stroke-dasharray="4 3"/>'
        )
        if marker_label:
            anchor = "end" if mx > box.left + box.plot_w * 0.7 else "start"
            dx = -4 if anchor == "end" else 4
            parts.append(
                f'<text x="{mx + dx:.1f}" y="{box.top + 10}" font-size="10" '
                f'text-anchor="{anchor}" fill="currentColor">{escape(marker_label)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _hover_data(series: list[Series], start: datetime, end: datetime, box, label: str) -> str:
    """data-* attributes for the crosshair: the plot's geometry and, per line, its colour
    and points as seconds since `start` (compact), gaps kept as null."""
    lines = [
        {
            "label": one.label,
            "unit": one.unit,
            "colour": PALETTE[index % len(PALETTE)],
            "t": [round((m - start).total_seconds(), 1) for m, _ in one.points],
            "v": [
                None if v is None or not math.isfinite(v) else round(v, 4) for _, v in one.points
            ],
        }
        for index, one in enumerate(series)
    ]
    attrs = {
        "data-start": start.isoformat(),
        "data-seconds": f"{max((end - start).total_seconds(), 1):g}",
        "data-left": f"{box.left}",
        "data-plot-width": f"{box.plot_w:g}",
        "data-top": f"{box.top}",
        "data-plot-height": f"{box.plot_h:g}",
        "data-title": label,
        "data-series": json.dumps(lines, separators=(",", ":")),
    }
    return "".join(f' {name}="{escape(value, quote=True)}"' for name, value in attrs.items())


def _entry_mark(span: Span, x, box) -> str:
    """An entry: a dashed line in the text colour with a small flag on top."""
    ex = x(span.start)
    return (
        f'<g class="span span-entry"><title>{escape(span.label)}</title>'
        f'<line x1="{ex:.1f}" y1="{box.top}" x2="{ex:.1f}" y2="{box.top + box.plot_h}" '
        f'stroke="{ENTRY_STROKE}" stroke-width="1.5" stroke-dasharray="3 3"/>'
        f'<path d="M{ex:.1f},{box.top} l7,3.5 l-7,3.5 z" fill="{ENTRY_STROKE}"/></g>'
    )


def _spans(spans, x, box) -> list[str]:
    parts = []
    for span in spans:
        if span.kind == "entry":
            parts.append(_entry_mark(span, x, box))
            continue
        x1 = x(span.start)
        x2 = x(span.end) if span.end else box.left + box.plot_w
        fill = {"onair": ONAIR_FILL, "failover": FAILOVER_FILL}.get(span.kind, ALERT_FILL)
        opacity = {"onair": "0.10", "failover": "0.9"}.get(span.kind, "0.22")
        parts.append(
            f'<rect class="span span-{escape(span.kind)}" x="{x1:.1f}" y="{box.top}" '
            f'width="{max(x2 - x1, 1.5):.1f}" height="{box.plot_h}" fill="{fill}" '
            f'fill-opacity="{opacity}"><title>{escape(span.label)}</title></rect>'
        )
    return parts


def _axes(ticks, y, box, start, end, tz, x) -> list[str]:
    parts = []
    for tick in ticks:
        ty = y(tick)
        parts.append(
            f'<line x1="{box.left}" y1="{ty:.1f}" x2="{box.left + box.plot_w}" '
            f'y2="{ty:.1f}" stroke="currentColor" stroke-opacity="0.15"/>'
        )
        parts.append(
            f'<text x="{box.left - 6}" y="{ty + 4:.1f}" font-size="10" text-anchor="end" '
            f'fill="currentColor">{format_value(tick)}</text>'
        )
    bottom = box.top + box.plot_h
    parts.append(
        f'<line x1="{box.left}" y1="{bottom}" x2="{box.left + box.plot_w}" y2="{bottom}" '
        'stroke="currentColor" stroke-opacity="0.6"/>'
    )
    zone = ""
    multi_day = (end - start) > timedelta(hours=20)
    for tick in time_ticks(start, end, tz):
        tx = x(tick)
        local = tick.astimezone(tz)
        zone = local.tzname() or ""
        label = f"{local:%a %d} {local:%H:%M}" if multi_day else f"{local:%H:%M}"
        if multi_day and local.hour == 0 and local.minute == 0:
            label = f"{local:%a %d %b}"
        parts.append(
            f'<line x1="{tx:.1f}" y1="{bottom}" x2="{tx:.1f}" y2="{bottom + 4}" '
            'stroke="currentColor" stroke-opacity="0.6"/>'
        )
        # Labels at the edges are anchored inward so the last (and first) is not clipped.
        anchor = "middle"
        if tx > box.left + box.plot_w - 30:
            anchor = "end"
        elif tx < box.left + 30:
            anchor = "start"
        parts.append(
            f'<text x="{tx:.1f}" y="{bottom + 15}" font-size="10" text-anchor="{anchor}" '
            f'fill="currentColor">{label}</text>'
        )
    parts.append(
        f'<text x="{box.left + box.plot_w}" y="14" font-size="10" text-anchor="end" '
        f'fill="currentColor" opacity="0.7">{escape(zone)}</text>'
    )
    return parts


def _lines(one: Series, colour: str, x, y) -> list[str]:
    parts = []
    for run in split_runs(one.points, typical_gap(one.points)):
        if len(run) == 1:
            moment, value = run[0]
            parts.append(
                f'<circle cx="{x(moment):.1f}" cy="{y(value):.1f}" r="2" fill="{colour}"/>'
            )
            continue
        coords = " ".join(f"{x(m):.1f},{y(v):.1f}" for m, v in run)
        parts.append(
            f'<polyline points="{coords}" fill="none" stroke="{colour}" '
            'stroke-width="1.6" stroke-linejoin="round"/>'
        )
    return parts


def _legend(series: list[Series], box, after: int = 0) -> list[str]:
    # Starts after the chart's title (about 7 px a character at 12 px bold), never on it.
    parts, cursor = [], box.left + max(220, 7 * after + 24)
    for index, one in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        parts.append(f'<rect x="{cursor}" y="6" width="10" height="3" fill="{colour}"/>')
        parts.append(
            f'<text x="{cursor + 14}" y="11" font-size="10" fill="currentColor">'
            f"{escape(one.label)}</text>"
        )
        cursor += 20 + 6 * len(one.label)
    return parts


def sparkline(
    points: list[tuple[datetime, float | None]],
    *,
    width: int = 120,
    height: int = 24,
    marker: datetime | None = None,
    label: str = "",
    unit: str = "",
) -> str:
    """A tiny line for the board: gaps kept, the entry's moment marked; with a `label`, the
    metric's name and its scale (lowest to highest value, unit) above the line."""
    finite = [(m, v) for m, v in points if v is not None and math.isfinite(v)]
    if not finite:
        return ""
    start = min(m for m, _ in points)
    end = max(m for m, _ in points)
    seconds = max((end - start).total_seconds(), 1)
    low = min(v for _, v in finite)
    high = max(v for _, v in finite)
    span = (high - low) or 1.0

    caption = ""
    if label:
        scale = f"{format_value(low)}\u2013{format_value(high)}" + (f" {unit}" if unit else "")
        caption = f"{label} {scale}"
        width, height = max(width, 160), height + 12
    top = 12 if label else 0

    def x(moment):
        return 1 + (moment - start).total_seconds() / seconds * (width - 2)

    def y(value):
        return height - 2 - (value - low) / span * (height - 4 - top)

    described = f'role="img" aria-label="{escape(caption)}"' if label else 'aria-hidden="true"'
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="sparkline" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" {described}>'
    ]
    if label:
        parts.append(
            f"<title>{escape(caption)}</title>"
            f'<text x="1" y="9" font-size="9" fill="currentColor">{escape(caption)}</text>'
        )
    for run in split_runs(points, typical_gap(points)):
        coords = " ".join(f"{x(m):.1f},{y(v):.1f}" for m, v in run)
        parts.append(
            f'<polyline points="{coords}" fill="none" stroke="{PALETTE[0]}" stroke-width="1.2"/>'
        )
    if marker is not None and start <= marker <= end:
        parts.append(
            f'<line x1="{x(marker):.1f}" y1="{top}" x2="{x(marker):.1f}" y2="{height}" '
            'stroke="currentColor" stroke-width="1" stroke-dasharray="2 2"/>'
        )
    parts.append("</svg>")
    return "".join(parts)
