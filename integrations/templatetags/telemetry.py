"""Template tags that put telemetry on other apps' pages through small partials."""

from django import template
from django.utils import timezone
from django.utils.safestring import mark_safe

from integrations import coverage, impact_summary, onair, review, snapshots
from integrations.models import FeedTelemetryStatus, TelemetrySnapshot

register = template.Library()


@register.inclusion_tag("integrations/_tag_entry_charts.html")
def entry_charts(entry, event):
    """Per-feed SVG charts of the entry's frozen window (entry page)."""

    viewer = timezone.get_current_timezone()
    return {
        "entry": entry,
        "event": event,
        "viewer_zone": str(viewer),
        "groups": snapshots.chart_svgs(entry, tz=viewer),
    }


@register.simple_tag
def entry_sparkline(entry, event):
    """The board's sparkline for an entry with telemetry; one query per page for all entries."""
    cache = getattr(event, "_tally_sparklines", None)
    if cache is None:
        cache = dict(
            TelemetrySnapshot.objects.filter(entry__event_id=event.pk, has_data=True).values_list(
                "entry_id", "sparkline"
            )
        )
        event._tally_sparklines = cache
    svg = cache.get(entry.pk, "")
    return mark_safe(svg) if svg else ""  # our own SVG, values escaped


@register.inclusion_tag("integrations/_tag_board_anomalies.html", takes_context=True)
def board_anomalies(context, event):
    """The board's unreviewed-anomaly count and list, each with 'log a learning about this'."""
    items = review.unreviewed_anomalies(event)
    return {
        "event": event,
        "items": items[:20],
        "count": len(items),
        "can_log": context.get("can_log"),
    }


@register.inclusion_tag("integrations/_tag_failover_marks.html")
def failover_marks(event, span, day_start, day_end, height):
    """The board timeline's failovers: a line across the day at each change of carrier on
    air, placed on the timeline's span (retro.selectors.TimelineSpan)."""
    marks = [
        {
            "x": span.pct(s.at),
            "label": f"{s.at.astimezone(event.tz):%H:%M:%S} failover {s.feed}: "
            f"{s.previous or '?'} -> {s.to} ({s.how})",
        }
        for s in onair.failovers(event)
        if day_start <= s.at < day_end
    ]
    return {"failover_marks": marks, "height": height}


@register.inclusion_tag("integrations/_tag_caption_coverage.html")
def caption_coverage(event):
    """Minutes on air with captions going out, per session and language (event page)."""
    return {"event": event, **coverage.caption_coverage(event)}


@register.inclusion_tag("integrations/_tag_event_impact.html")
def event_impact(event):
    """Viewer impact per output, redundancy lost per path, failovers, and links to the feeds
    that report telemetry (event page)."""
    feeds = list(
        FeedTelemetryStatus.objects.filter(feed__event=event, last_sample_at__isnull=False)
        .select_related("feed")
        .order_by("feed__slug")
    )
    anomalies = review.anomalies_for_event(event)
    report = onair.path_report(event)
    return {
        "event": event,
        "impact": impact_summary.summarize(event, onair.viewer_impact(event, report)),
        "redundancy": impact_summary.with_durations(onair.redundancy_lost(event, report)),
        "failovers": onair.failovers(event, report),
        "telemetry_feeds": [s.feed for s in feeds],
        "unreviewed": sum(1 for a in anomalies if not a.reviewed),
        "anomaly_count": len(anomalies),
    }
