"""Every time on a page, an export and an email names its zone, and is right in it."""

import csv
import io
import json
from datetime import timedelta
from zoneinfo import ZoneInfo

from django.core import mail
from django.template import Context, Template
from django.utils import timezone

from reports import content
from reports import services as report_services
from retro import meeting, services
from tally.times import in_zone
from tests.conftest import KEYNOTE_START

LA = ZoneInfo("America/Los_Angeles")
DUBLIN = ZoneInfo("Europe/Dublin")


def label(moment, zone, fmt="%H:%M"):
    local = moment.astimezone(zone)
    return f"{local:{fmt}} {local.tzname()}"


def test_in_zone_writes_the_label_of_the_zone_it_uses(event):
    moment = KEYNOTE_START
    assert in_zone(moment, event, "clock") == label(moment, LA)
    assert in_zone(moment, "UTC", "date") == f"{moment:%a %d %b %Y %H:%M} UTC"
    assert in_zone(moment, event, "iso") == moment.astimezone(LA).isoformat(timespec="seconds")
    assert in_zone(moment, "Asia/Kolkata", "clock").endswith("IST")
    assert in_zone(None, event) == ""


def test_the_in_zone_tag_fits_an_svg_title(event):
    html = Template('{% load tally %}<title>{% in_zone t ev "clock" %}</title>').render(
        Context({"t": KEYNOTE_START, "ev": event})
    )
    assert html == f"<title>{label(KEYNOTE_START, LA)}</title>"


def test_scheduled_ends_are_in_the_events_zone_on_the_event_page(viewer_client, event):
    viewer_client.cookies["tally_tz"] = "Europe/Dublin"
    page = viewer_client.get(f"/events/{event.slug}/").content.decode()
    end = KEYNOTE_START + timedelta(hours=2)
    row = page[page.index("Opening keynote") :]
    row = row[: row.index("</tr>")]
    # the end in the event's zone with its label, not the viewer's clock under the event's
    assert f"\u2013 {label(end, LA)}" in row
    assert f"{end.astimezone(DUBLIN):%H:%M} {end.astimezone(LA).tzname()}" not in row


def test_the_feed_page_header_and_timeline_tooltip_use_the_events_zone(viewer_client, event):
    viewer_client.cookies["tally_tz"] = "Europe/Dublin"
    end = label(KEYNOTE_START + timedelta(hours=2), LA)
    feed = viewer_client.get(f"/events/{event.slug}/telemetry/kn1-asl/").content.decode()
    assert f"\u2013 {end}" in feed
    day = KEYNOTE_START.astimezone(LA).date().isoformat()
    timeline = viewer_client.get(
        f"/events/{event.slug}/board/?view=timeline&day={day}"
    ).content.decode()
    assert f"\u2013 {end}</title>" in timeline


def test_the_board_when_field_names_both_zones(operator_client, event):
    operator_client.cookies["tally_tz"] = "Europe/Dublin"
    page = operator_client.get(f"/events/{event.slug}/board/").content.decode()
    assert 'name="when_zone"' in page
    assert "your zone (Europe/Dublin)" in page
    assert "the event's zone (America/Los_Angeles)" in page
    assert 'data-event-zone="America/Los_Angeles"' in page


def _report(event, fmt, **options):
    return report_services.generate(
        event, content.parse_options(event, format=fmt, variant="internal", options=options)
    )


def test_exports_write_iso_8601_with_the_events_offset(event, operator):
    moment = KEYNOTE_START + timedelta(minutes=54)
    services.log_entry(
        event=event, author=operator, kind="learning", body="ASL lag", occurred_at=moment
    )
    iso = moment.astimezone(LA).isoformat(timespec="seconds")
    rows = list(csv.DictReader(io.StringIO(_report(event, "csv").decode("utf-8-sig"))))
    assert rows[0]["time"] == iso
    assert iso in _report(event, "md").decode()
    data = json.loads(_report(event, "json"))
    assert data["timeline"]["rows"][0]["occurred_at"] == iso
    assert data["generated_at"].endswith(iso[-6:])


def test_reminder_emails_name_the_zone_of_the_due_day(event, lead, operator, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    learning, _ = services.log_entry(
        event=event, author=operator, kind="learning", body="SRT latency too low"
    )
    due = timezone.localdate() + timedelta(days=1)
    meeting.promote_learning_to_action(learning=learning, actor=lead, owner=operator, due=due)
    assert meeting.send_due_reminders() == 1
    assert "(a day in America/Los_Angeles)" in mail.outbox[0].body


def test_a_time_printed_without_a_filter_names_its_zone(db):
    """The admin of every app prints model times this way (settings.FORMAT_MODULE_PATH)."""
    moment = KEYNOTE_START
    with timezone.override(LA):
        text = Template("{{ t }}").render(Context({"t": moment}))
    assert text == f"{moment.astimezone(LA):%a %d %b %Y %H:%M} {moment.astimezone(LA).tzname()}"
