"""Rundown import: all or nothing, every error named, re-import changes nothing."""

import textwrap
from collections import Counter
from datetime import timedelta
from string import Template

import pytest
from django.core.management import CommandError, call_command

from retro.models import AuditLog, Event, Feed, Membership, Role, Session, Site
from retro.rundown import RundownError, import_rundown
from tests.conftest import TODAY, iso, make_user

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


def upstreams(feed) -> list[str]:
    return sorted(feed.derived_from.values_list("slug", flat=True))


def test_yaml_rundown_creates_event_sites_sessions_and_feeds(db):
    result = import_rundown(text=RUNDOWN, fmt="yaml")
    event = Event.objects.get(slug="expo")
    assert result.created == 1 + 2 + 1 + 2
    assert event.time_zone == "Europe/Berlin"
    program = event.feeds.get(slug="kn1-program")
    assert upstreams(program) == ["kn1-contrib-a"]
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
    assert upstreams(event.feeds.get(slug="t1-asl")) == ["t1-program"]
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


def test_a_feed_derives_from_a_list_of_upstreams_in_yaml_and_csv(db):
    both = RUNDOWN.replace(
        "derived_from: kn1-contrib-a,", "derived_from: [kn1-contrib-a, kn1-contrib-b],"
    ) + (
        "  - {slug: kn1-contrib-b, name: Contribution B, kind: program, stage: contribution,"
        " session: kn1, transport: srt, path: B}\n"
    )
    result = import_rundown(text=both, fmt="yaml")
    program = Event.objects.get(slug="expo").feeds.get(slug="kn1-program")
    assert upstreams(program) == ["kn1-contrib-a", "kn1-contrib-b"]
    assert result.created == 1 + 2 + 1 + 3
    assert not import_rundown(text=both, fmt="yaml").changed
    line = AuditLog.objects.get(summary="Feed kn1-program created")
    assert line.changes["derived_from"] == [None, ["Contribution A", "Contribution B"]]
    csv_text = CSV_RUNDOWN.replace(",t1-program,ase,", ",t1-program|t1-alt,ase,") + (
        "feed,t1-alt,Talk one alt,,program,,,,,,,contribution,t1,tokyo-enc,,srt,B,,,,,\n"
    )
    import_rundown(text=csv_text, fmt="csv")
    asl = Event.objects.get(slug="fair").feeds.get(slug="t1-asl")
    assert upstreams(asl) == ["t1-alt", "t1-program"]


def test_a_rundown_upstream_list_naming_itself_or_an_unknown_feed_is_refused(db):
    bad = RUNDOWN.replace(
        "derived_from: kn1-contrib-a,", "derived_from: [kn1-contrib-a, kn1-program, kn1-x],"
    )
    with pytest.raises(RundownError) as err:
        import_rundown(text=bad, fmt="yaml")
    problems = "\n".join(err.value.problems)
    assert "feeds #1, field 'derived_from': a feed cannot be derived from itself." in problems
    assert "feeds #1, field 'derived_from': unknown upstream feed 'kn1-x'." in problems
    nested = RUNDOWN.replace("derived_from: kn1-contrib-a,", "derived_from: {a: 1},")
    with pytest.raises(RundownError) as err:
        import_rundown(text=nested, fmt="yaml")
    assert "field 'derived_from': a feed slug or a list of feed slugs" in str(err.value)
    assert not Event.objects.exists()


def test_a_loop_through_a_second_upstream_is_refused_against_stored_links(db):
    import_rundown(text=RUNDOWN, fmt="yaml")
    # the file leaves kn1-program out: it keeps its stored upstream kn1-contrib-a
    partial = textwrap.dedent(f"""\
        event: {{slug: expo, name: Expo 2027, venue: Hall 9, time_zone: Europe/Berlin,
                 start: "{EXPO_DAY}T08:00:00+01:00", end: "{EXPO_DAY + timedelta(days=1)}T18:00:00+01:00"}}
        feeds:
          - {{slug: kn1-b, name: B, stage: contribution, derived_from: kn1-program}}
          - {{slug: kn1-contrib-a, name: Contribution A, kind: program, stage: contribution,
              session: kn1, origin: enc, destination: bcr, transport: srt, path: A,
              source_ids: ["srt://kn1-a"], derived_from: [kn1-b]}}
        """)
    with pytest.raises(RundownError) as err:
        import_rundown(text=partial, fmt="yaml")
    assert "loop" in str(err.value)
    assert not Feed.objects.filter(slug="kn1-b").exists()


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


def signal_path() -> dict:
    """Every imported row by slug, relations by slug: what an import leaves behind."""
    return {
        "events": list(
            Event.objects.values_list("slug", "name", "venue", "time_zone", "start", "end", "state")
        ),
        "sites": sorted(Site.objects.values_list("slug", "name", "role", "city", "time_zone")),
        "sessions": sorted(
            Session.objects.values_list(
                "event__slug",
                "slug",
                "title",
                "kind",
                "room",
                "day",
                "scheduled_start",
                "scheduled_end",
            )
        ),
        "feeds": sorted(
            Feed.objects.values_list(
                "event__slug",
                "slug",
                "name",
                "kind",
                "language",
                "stage",
                "session__slug",
                "origin__slug",
                "destination__slug",
                "transport",
                "path",
                "source_ids",
                "derived_from__slug",
            )
        ),
    }


def audit_actions(**filters) -> Counter:
    return Counter(AuditLog.objects.filter(**filters).values_list("action", flat=True))


def test_importing_user_becomes_lead_of_the_new_event_with_an_audit_line_per_object(db):
    planner = make_user("planner")
    result = import_rundown(text=RUNDOWN, fmt="yaml", actor=planner)
    event = Event.objects.get(slug="expo")
    assert result.event == event and result.created == 6 and result.updated == 0
    assert Membership.objects.get(event=event).user == planner
    assert Membership.objects.get(event=event).role == Role.LEAD
    assert audit_actions() == {
        "event.create": 1,
        "membership.set": 1,
        "site.create": 2,
        "session.create": 1,
        "feed.create": 2,
    }
    assert set(AuditLog.objects.values_list("actor", "event")) == {(planner.pk, event.pk)}
    program = AuditLog.objects.get(
        action="feed.create", object_id=str(event.feeds.get(slug="kn1-program").pk)
    )
    assert program.summary == "Feed kn1-program created"
    assert program.changes["derived_from"] == [None, "Contribution A"]
    assert program.changes["source_ids"] == [None, ["ch-1:0"]]
    keynote = AuditLog.objects.get(action="session.create")
    assert keynote.changes["scheduled_start"] == [None, f"{EXPO_DAY}T09:00:00+01:00"]


def test_import_with_an_actor_writes_the_same_signal_path_as_without(db):
    import_rundown(text=RUNDOWN, fmt="yaml")
    import_rundown(text=CSV_RUNDOWN, fmt="csv")
    without = signal_path()
    Event.objects.all().delete()
    Site.objects.all().delete()
    planner = make_user("planner")
    import_rundown(text=RUNDOWN, fmt="yaml", actor=planner)
    import_rundown(text=CSV_RUNDOWN, fmt="csv", actor=planner)
    assert signal_path() == without
    assert Membership.objects.filter(user=planner, role=Role.LEAD).count() == 2


def test_identical_reimport_writes_no_audit_line_and_a_changed_one_a_line_per_changed_row(db):
    planner = make_user("planner")
    import_rundown(text=RUNDOWN, fmt="yaml", actor=planner)
    lines = AuditLog.objects.count()
    again = import_rundown(text=RUNDOWN, fmt="yaml", actor=planner)
    assert not again.changed and AuditLog.objects.count() == lines
    changed = (
        RUNDOWN.replace("name: Expo 2027", "name: Expo 2027 (moved)")
        .replace("city: London", "city: Manchester")
        .replace("room: Main", "room: Hall 2")
        .replace('source_ids: ["srt://kn1-a"]', 'source_ids: ["srt://kn1-a", "srt://kn1-a2"]')
    )
    result = import_rundown(text=changed, fmt="yaml", actor=planner)
    assert (result.created, result.updated, result.unchanged) == (0, 4, 2)
    new = AuditLog.objects.order_by("pk")[lines:]
    assert Counter(line.action for line in new) == {
        "event.update": 1,
        "site.update": 1,
        "session.update": 1,
        "feed.update": 1,
    }
    by_action = {line.action: line for line in new}
    assert by_action["event.update"].changes == {"name": ["Expo 2027", "Expo 2027 (moved)"]}
    assert by_action["site.update"].changes == {"city": ["London", "Manchester"]}
    assert by_action["session.update"].changes == {"room": ["Main", "Hall 2"]}
    assert by_action["feed.update"].changes == {
        "source_ids": [["srt://kn1-a"], ["srt://kn1-a", "srt://kn1-a2"]]
    }
    assert {line.actor for line in new} == {planner}
    assert Event.objects.get(slug="expo").name == "Expo 2027 (moved)"
    assert Site.objects.get(slug="bcr").city == "Manchester"
    assert not import_rundown(text=changed, fmt="yaml", actor=planner).changed
    assert AuditLog.objects.count() == lines + 4


def test_reimport_that_moves_a_feed_upstream_changes_it_once(db):
    import_rundown(text=RUNDOWN, fmt="yaml")
    lines = AuditLog.objects.count()
    moved = RUNDOWN.replace("derived_from: kn1-contrib-a,", "").replace(
        "transport: srt, path: A,", "transport: srt, path: A, derived_from: kn1-program,"
    )
    result = import_rundown(text=moved, fmt="yaml")
    assert (result.updated, result.unchanged) == (2, 4)
    feeds = Event.objects.get(slug="expo").feeds
    assert upstreams(feeds.get(slug="kn1-program")) == []
    assert upstreams(feeds.get(slug="kn1-contrib-a")) == ["kn1-program"]
    new = {line.summary: line.changes for line in AuditLog.objects.order_by("pk")[lines:]}
    assert new == {
        "Feed kn1-program changed": {"derived_from": ["Contribution A", None]},
        "Feed kn1-contrib-a changed": {"derived_from": [None, "Program"]},
    }


def test_import_event_command_imports_without_a_user_and_names_no_lead(db, tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(RUNDOWN)
    call_command("import_event", str(good))
    assert not Membership.objects.exists()
    assert audit_actions() == {
        "event.create": 1,
        "site.create": 2,
        "session.create": 1,
        "feed.create": 2,
    }
    assert not AuditLog.objects.filter(actor__isnull=False).exists()


def test_upload_writes_audit_lines_as_the_lead_for_what_it_changes(lead_client, lead, event):
    from django.core.files.uploadedfile import SimpleUploadedFile

    rundown = textwrap.dedent(f"""\
        event:
          slug: summit
          name: Test Summit 2
          venue: Hall A
          time_zone: America/Los_Angeles
          start: {iso(event.start)}
          end: {iso(event.end)}
          state: live
        feeds:
          - {{slug: kn1-captions, name: KN1 captions, kind: captions, stage: distribution, session: kn1, derived_from: kn1-program, transport: cloud_flow}}
        """)
    before = AuditLog.objects.count()
    upload = SimpleUploadedFile("summit.yaml", rundown.encode())
    response = lead_client.post(f"/events/{event.slug}/rundown/", {"file": upload})
    assert response.status_code == 302
    new = AuditLog.objects.order_by("pk")[before:]
    assert [(line.action, line.actor, line.event) for line in new] == [
        ("event.update", lead, event),
        ("feed.create", lead, event),
    ]
    assert new[0].changes == {"name": ["Test Summit", "Test Summit 2"]}
    assert upstreams(event.feeds.get(slug="kn1-captions")) == ["kn1-program"]
    assert Membership.objects.get(event=event, user=lead).role == Role.LEAD
    again = SimpleUploadedFile("summit.yaml", rundown.encode())
    lead_client.post(f"/events/{event.slug}/rundown/", {"file": again})
    assert AuditLog.objects.count() == before + 2


def yaml_bomb(levels: int = 8, width: int = 9) -> str:
    """A few hundred bytes of nested anchors and aliases that expand to width**levels nodes."""
    lines = ['a0: &a0 ["lol"]']
    for level in range(1, levels + 1):
        refs = ", ".join([f"*a{level - 1}"] * width)
        lines.append(f"a{level}: &a{level} [{refs}]")
    lines.append(f"event: {{slug: bomb, name: *a{levels}}}")
    return "\n".join(lines) + "\n"


def test_a_yaml_bomb_is_refused_in_a_short_message(lead_client, event):
    from django.core.files.uploadedfile import SimpleUploadedFile

    bomb = yaml_bomb()
    assert len(bomb) < 600
    with pytest.raises(RundownError) as err:
        import_rundown(text=bomb, fmt="yaml")
    assert "aliases (*name) are not allowed" in str(err.value)
    upload = SimpleUploadedFile("summit.yaml", bomb.encode())
    response = lead_client.post(f"/events/{event.slug}/rundown/", {"file": upload})
    assert response.status_code == 400
    assert len(response.content) < 10_000
    assert not Event.objects.filter(slug="bomb").exists()


def test_every_problem_quotes_only_an_excerpt_and_the_list_stays_short():
    huge = "x" * 100_000
    err = RundownError([f"feeds #{n}, field 'name': {huge!r} is wrong" for n in range(5000)])
    assert len(err.problems) == 201 and err.problems[-1] == "... and 4800 more problems."
    assert max(len(p) for p in err.problems) <= 300


@pytest.mark.parametrize(
    "slug",
    [
        "kn1-\u0441\u043entrib",  # Cyrillic look-alikes
        "kn1\u200b-contrib",  # a zero-width space
        "../../etc",
        "KN1",
        "kn1_contrib",
        "kn1--contrib",
        "-kn1",
    ],
)
def test_slugs_are_plain_ascii_everywhere_they_are_created(db, slug):
    bad = RUNDOWN.replace("slug: kn1-contrib-a,", f"slug: {slug!r},").replace(
        "derived_from: kn1-contrib-a", "derived_from: kn1-program-x"
    )
    bad = bad.replace("derived_from: kn1-program-x", f"derived_from: {slug!r}")
    with pytest.raises(RundownError) as err:
        import_rundown(text=bad, fmt="yaml")
    assert "field 'slug'" in str(err.value) and "lowercase ASCII" in str(err.value)
    assert not Event.objects.filter(slug="expo").exists()


def test_a_site_other_events_use_changes_only_for_a_lead_of_all_of_them(event):
    from django.contrib.auth import get_user_model

    from retro import services

    other = Event.objects.create(
        name="Winter Expo", slug="winter", start=event.start, end=event.end
    )
    other_lead = make_user("lead-y")
    services.set_membership(event=other, user=other_lead, role=Role.LEAD, actor=None)
    start, end = iso(event.start), iso(event.end)
    renamed = (
        f'event: {{slug: winter, name: Winter Expo, time_zone: UTC, start: "{start}", '
        f'end: "{end}"}}\n'
        "sites:\n"
        "  - {slug: venue, name: Renamed by Y, role: monitoring, city: Reno, time_zone: UTC}\n"
    )
    with pytest.raises(RundownError) as err:  # the summit uses it, and Y does not lead it
        import_rundown(text=renamed, fmt="yaml", actor=other_lead, only_event="winter")
    assert "Site 'venue' is also used by Test Summit" in str(err.value)
    venue = Site.objects.get(slug="venue")
    assert (venue.name, venue.role, venue.time_zone) == (
        "Venue encode",
        "encode",
        "America/Los_Angeles",
    )
    services.set_membership(event=event, user=other_lead, role=Role.LEAD, actor=None)
    lead_of_both = get_user_model().objects.get(pk=other_lead.pk)
    import_rundown(text=renamed, fmt="yaml", actor=lead_of_both, only_event="winter")
    assert Site.objects.get(slug="venue").name == "Renamed by Y"
