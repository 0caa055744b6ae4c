"""Rundown import: all or nothing, every error named, re-import changes nothing."""

import textwrap
from datetime import timedelta
from string import Template

import pytest
from django.core.management import CommandError, call_command

from retro.models import Event, Feed, Session, Site
from retro.rundown import RundownError, import_rundown
from tests.conftest import TODAY

# Planned events, a season ahead of whatever day the suite runs on.
EXPO_DAY = TODAY + timedelta(days=90)
FAIR_DAY = EXPO_DAY + timedelta(days=60)
RUNDOWN_TEMPLATE = textwrap.dedent("""\
    event:
      slug: expo
      name: Expo 2027
      venue: Hall 9
      time_zone: Europe/Berlin
      start: ${expo1}T08:00:00+01:00
      end: ${expo2}T18:00:00+01:00
    sites:
      - {slug: enc, name: Encode, role: encode, city: Berlin, time_zone: Europe/Berlin}
      - {slug: bcr, name: Control, role: broadcast_control, city: London, time_zone: Europe/London}
    sessions:
      - {slug: kn1, title: Keynote, kind: keynote, room: Main, start: "${expo1}T09:00:00+01:00", end: "${expo1}T10:30:00+01:00"}
    feeds:
      - {slug: kn1-program, name: Program, kind: program, stage: distribution, session: kn1, origin: bcr, destination: bcr, transport: cloud_flow, derived_from: kn1-contrib-a, source_ids: ["ch-1:0"]}
      - {slug: kn1-contrib-a, name: Contribution A, kind: program, stage: contribution, session: kn1, origin: enc, destination: bcr, transport: srt, path: A, source_ids: ["srt://kn1-a"]}
    """)

CSV_TEMPLATE = textwrap.dedent("""\
    type,slug,name,title,kind,role,city,time_zone,room,start,end,stage,session,origin,destination,transport,path,source_ids,derived_from,language,venue,state
    event,fair,Fair 2027,,,,,Asia/Tokyo,,${fair1}T09:00:00+09:00,${fair3}T18:00:00+09:00,,,,,,,,,,Big Sight,planning
    site,tokyo-enc,Tokyo encode,,,encode,Tokyo,Asia/Tokyo,,,,,,,,,,,,,,
    session,t1,,Talk one,innovation_talk,,,,Room 2,${fair1}T10:00:00+09:00,${fair1}T11:00:00+09:00,,,,,,,,,,,
    feed,t1-program,Talk one program,,program,,,,,,,contribution,t1,tokyo-enc,,srt,A,srt://t1|srt://t1-alt,,,,
    feed,t1-asl,Talk one ASL,,sign_language,,,,,,,distribution,t1,,,cloud_flow,none,,t1-program,ase,,
    """)
DAYS = {
    "expo1": EXPO_DAY.isoformat(),
    "expo2": (EXPO_DAY + timedelta(days=1)).isoformat(),
    "fair1": FAIR_DAY.isoformat(),
    "fair3": (FAIR_DAY + timedelta(days=2)).isoformat(),
}
RUNDOWN = Template(RUNDOWN_TEMPLATE).substitute(DAYS)
CSV_RUNDOWN = Template(CSV_TEMPLATE).substitute(DAYS)


def test_yaml_rundown_creates_event_sites_sessions_and_feeds(db):
    result = import_rundown(text=RUNDOWN, fmt="yaml")
    event = Event.objects.get(slug="expo")
    assert result.created == 1 + 2 + 1 + 2
    assert event.time_zone == "Europe/Berlin"
    program = event.feeds.get(slug="kn1-program")
    assert program.derived_from.slug == "kn1-contrib-a"
    assert program.session.slug == "kn1"
    assert program.source_ids == ["ch-1:0"]
    assert event.sessions.get().day == EXPO_DAY


def test_reimporting_the_same_file_changes_nothing(db):
    import_rundown(text=RUNDOWN, fmt="yaml")
    again = import_rundown(text=RUNDOWN, fmt="yaml")
    assert not again.changed
    assert again.unchanged == 6
    assert Feed.objects.count() == 2


def test_csv_rundown_with_pipe_separated_source_ids(db):
    import_rundown(text=CSV_RUNDOWN, fmt="csv")
    event = Event.objects.get(slug="fair")
    assert event.venue == "Big Sight"
    assert event.feeds.get(slug="t1-program").source_ids == ["srt://t1", "srt://t1-alt"]
    assert event.feeds.get(slug="t1-asl").derived_from.slug == "t1-program"
    assert not import_rundown(text=CSV_RUNDOWN, fmt="csv").changed


def test_invalid_rundown_imports_nothing_and_lists_every_error(db):
    bad = RUNDOWN.replace(
        "destination: bcr, transport: srt", "destination: nowhere, transport: srt"
    )
    bad = bad.replace(f'start: "{EXPO_DAY}T09:00:00+01:00"', f'start: "{EXPO_DAY}T09:00:00"')
    bad = bad.replace("derived_from: kn1-contrib-a", "derived_from: kn1-ghost")
    bad += "  - {slug: kn1-program, name: Dup, kind: program, stage: handoff}\n"
    with pytest.raises(RundownError) as err:
        import_rundown(text=bad, fmt="yaml")
    problems = "\n".join(err.value.problems)
    assert "feeds #2, field 'destination': unknown site 'nowhere'" in problems
    assert "sessions #1, field 'start'" in problems and "no time zone" in problems
    assert "feeds #1, field 'derived_from': unknown upstream feed 'kn1-ghost'" in problems
    assert "feeds #3, field 'slug': feed 'kn1-program' already defined at feeds #1" in problems
    assert not Event.objects.exists() and not Site.objects.exists() and not Session.objects.exists()


def test_rundown_loop_in_derived_from_is_refused(db):
    bad = RUNDOWN.replace(
        "transport: srt, path: A,", "transport: srt, path: A, derived_from: kn1-program,"
    )
    with pytest.raises(RundownError) as err:
        import_rundown(text=bad, fmt="yaml")
    assert "loop" in str(err.value)
    assert not Feed.objects.exists()


def test_unknown_choice_is_named_with_row_and_field(db):
    bad = RUNDOWN.replace("stage: contribution", "stage: teleport")
    with pytest.raises(RundownError) as err:
        import_rundown(text=bad, fmt="yaml")
    assert any(p.startswith("feeds #2, field 'stage'") for p in err.value.problems)


def test_csv_with_wrong_column_count_names_the_line(db):
    bad = CSV_RUNDOWN + "feed,broken\n"
    with pytest.raises(RundownError) as err:
        import_rundown(text=bad, fmt="csv")
    assert "line 7" in str(err.value)


def test_import_event_command_reports_problems(db, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        RUNDOWN.replace("time_zone: Europe/Berlin\n  start", "time_zone: Nowhere/City\n  start")
    )
    with pytest.raises(CommandError) as err:
        call_command("import_event", str(path))
    assert "nothing imported" in str(err.value) and "time_zone" in str(err.value)
    good = tmp_path / "good.yaml"
    good.write_text(RUNDOWN)
    call_command("import_event", str(good))
    assert Event.objects.filter(slug="expo").exists()


def test_upload_on_another_events_page_is_refused(lead_client, event):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("r.yaml", RUNDOWN.encode())
    response = lead_client.post(f"/events/{event.slug}/rundown/", {"file": upload})
    assert response.status_code == 400
    assert b"describes event" in response.content
    assert not Event.objects.filter(slug="expo").exists()
