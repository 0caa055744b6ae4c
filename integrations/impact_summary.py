"""The event page's viewer-impact list as a person reads it: outputs by name, grouped by
session, the worst first, minutes written as minutes and hours (onair computes the rows)."""

from dataclasses import dataclass, field

from retro.models import Event, Feed

TOP = 8  # outputs shown before "show all"


def format_minutes(minutes: float) -> str:
    """'< 1 min', '4.5 min', '42 min', '1 h 05 min'."""
    if minutes < 1:
        return "< 1 min"
    if minutes < 10 and minutes != int(minutes):
        return f"{minutes:.1f} min"
    if minutes < 60:
        return f"{round(minutes)} min"
    hours, rest = divmod(round(minutes), 60)
    return f"{hours} h {rest:02d} min"


@dataclass
class ImpactGroup:
    """The outputs of one session with viewer impact, the worst first."""

    title: str
    rows: list[dict] = field(default_factory=list)

    @property
    def worst(self) -> str:
        return self.rows[0]["duration"] if self.rows else ""


def with_durations(rows: list[dict]) -> list[dict]:
    """The rows with their minutes written out (redundancy lost)."""
    return [{**row, "duration": format_minutes(row["minutes"])} for row in rows]


def summarize(event: Event, rows: list[dict], top: int = TOP) -> dict:
    """{"top": the `top` worst outputs, "groups": every output by session, "count",
    "total": the summed minutes, formatted}; each row gains its feed's name, kind and
    session and a formatted duration."""
    feeds = {
        f.slug: f
        for f in Feed.objects.filter(event=event, slug__in=[r["feed"] for r in rows])
        .select_related("session")
        .only("slug", "name", "kind", "language", "session__title", "session__scheduled_start")
    }
    named = []
    for row in rows:
        feed = feeds.get(row["feed"])
        named.append(
            {
                **row,
                "name": feed.name if feed else row["feed"],
                "kind_label": feed.get_kind_display() if feed else "",
                "session": feed.session if feed else None,
                "duration": format_minutes(row["minutes"]),
                "kinds_label": ", ".join(k.replace("_", " ") for k in row.get("kinds", [])),
            }
        )
    groups: dict[object, ImpactGroup] = {}
    for row in named:
        session = row["session"]
        key = session.pk if session else None
        if key not in groups:
            groups[key] = ImpactGroup(title=session.title if session else "No session")
        groups[key].rows.append(row)
    ordered = sorted(groups.values(), key=lambda g: -g.rows[0]["minutes"])
    return {
        "top": named[:top],
        "groups": ordered,
        "count": len(named),
        "more": max(0, len(named) - top),
        "total": format_minutes(sum(r["minutes"] for r in named)),
    }
