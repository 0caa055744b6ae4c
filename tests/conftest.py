"""Personas, events and real services shared by every test.

Personas are built through our own services: a lead, an operator, a viewer, an outsider
(a signed-in user who is a member of nothing and must see nothing) and an admin.
"""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from retro import services
from retro.models import Event, Feed, Role, Session, Site
from tests import services as real
from tests.browsers import browser  # noqa: F401 - Chromium for the browser tests
from tests.workers import WorkerProcess

PASSWORD = "a-long-test-password-42"


def live_event_start(now: datetime | None = None) -> datetime:
    """15:00 UTC yesterday: on whatever day the suite runs, the event is live (now is 9 to 33 h
    after its start), its keynote (start + 2 h to + 4 h) is over, and every time of day is fixed."""
    yesterday = ((now or datetime.now(UTC)) - timedelta(days=1)).date()
    return datetime.combine(yesterday, time(15), tzinfo=UTC)


EVENT_START = live_event_start()
TODAY = datetime.now(UTC).date()
KEYNOTE_START = EVENT_START + timedelta(hours=2)  # the summit's kn1 is on air for 2 h


def iso(moment: datetime) -> str:
    """A UTC instant as the API writes it: YYYY-MM-DDTHH:MM:SSZ."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_user(username: str, **extra):
    User = get_user_model()
    return User.objects.create_user(
        username=username, password=PASSWORD, email=f"{username}@example.test", **extra
    )


@pytest.fixture
def event(db):
    """A live four-day event with two sites, a keynote and a small signal path."""
    ev = Event.objects.create(
        name="Test Summit",
        slug="summit",
        venue="Hall A",
        time_zone="America/Los_Angeles",
        start=EVENT_START,
        end=EVENT_START + timedelta(days=4),
        state=Event.State.LIVE,
    )
    venue = Site.objects.create(
        name="Venue encode",
        slug="venue",
        role="encode",
        city="Las Vegas",
        time_zone="America/Los_Angeles",
    )
    bcr = Site.objects.create(
        name="Broadcast control",
        slug="bcr",
        role="broadcast_control",
        city="New York",
        time_zone="America/New_York",
    )
    keynote = Session.objects.create(
        event=ev,
        title="Opening keynote",
        slug="kn1",
        kind="keynote",
        room="Main",
        day=EVENT_START.date(),
        scheduled_start=KEYNOTE_START,
        scheduled_end=KEYNOTE_START + timedelta(hours=2),
    )
    contrib = Feed.objects.create(
        event=ev,
        session=keynote,
        slug="kn1-contrib-a",
        name="KN1 contribution A",
        kind="program",
        stage="contribution",
        origin=venue,
        destination=bcr,
        transport="srt",
        path="A",
        source_ids=["srt://kn1-contrib-a"],
    )
    program = Feed.objects.create(
        event=ev,
        session=keynote,
        slug="kn1-program",
        name="KN1 program",
        kind="program",
        stage="distribution",
        origin=bcr,
        destination=bcr,
        transport="cloud_flow",
        source_ids=["ch-kn1:0"],
    )
    program.derived_from.set([contrib])
    asl = Feed.objects.create(
        event=ev,
        session=keynote,
        slug="kn1-asl",
        name="KN1 ASL",
        kind="sign_language",
        stage="distribution",
        transport="cloud_flow",
        language="ase",
    )
    asl.derived_from.set([program])
    return ev


@pytest.fixture
def other_event(db):
    """An event none of the personas (except the admin) belongs to."""
    return Event.objects.create(
        name="Other Expo",
        slug="other",
        time_zone="Europe/Dublin",
        start=EVENT_START,
        end=EVENT_START + timedelta(days=2),
    )


def _member(event, username: str, role: str):
    user = make_user(username)
    services.set_membership(event=event, user=user, role=role, actor=None)
    return user


@pytest.fixture
def lead(event):
    return _member(event, "lead1", Role.LEAD)


@pytest.fixture
def operator(event):
    return _member(event, "operator1", Role.OPERATOR)


@pytest.fixture
def viewer(event):
    return _member(event, "viewer1", Role.VIEWER)


@pytest.fixture
def outsider(db):
    return make_user("outsider1")


@pytest.fixture
def admin_user(db):
    return make_user("admin1", is_staff=True, is_superuser=True)


def _api_client(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def lead_api(lead):
    return _api_client(lead)


@pytest.fixture
def operator_api(operator):
    return _api_client(operator)


@pytest.fixture
def viewer_api(viewer):
    return _api_client(viewer)


@pytest.fixture
def outsider_api(outsider):
    return _api_client(outsider)


@pytest.fixture
def admin_api(admin_user):
    return _api_client(admin_user)


@pytest.fixture
def anon_api():
    return APIClient()


def _logged_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def lead_client(client, lead):
    return _logged_in(client, lead)


@pytest.fixture
def operator_client(client, operator):
    return _logged_in(client, operator)


@pytest.fixture
def viewer_client(client, viewer):
    return _logged_in(client, viewer)


@pytest.fixture
def outsider_client(client, outsider):
    return _logged_in(client, outsider)


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker):
    """A real Celery worker process (prefork, 2 children) on this run's queues, via Redis.

    Tests that use it need committed data: mark them django_db(transaction=True).
    """
    real.require_redis()
    with django_db_blocker.unblock():
        worker = WorkerProcess().start()
    yield worker
    worker.stop()


@pytest.fixture(autouse=True)
def _empty_sample_table(request):
    """The unmanaged telemetry sample table is not flushed between transactional tests (nor
    when a live server's or worker's writes were committed): empty it after such a test."""
    marker = request.node.get_closest_marker("django_db")
    commits = bool(marker and marker.kwargs.get("transaction"))
    if not commits and {"transactional_db", "live_server"} & set(request.fixturenames):
        request.getfixturevalue("transactional_db")  # set up first, so still open below
        commits = True
    yield
    if commits:
        from django.db import connection

        from integrations import storage

        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {storage.SAMPLE_TABLE}")


_skipped: list[tuple[str, str]] = []
_finished: set[str] = set()


def pytest_runtest_logreport(report):
    if report.when == "teardown":
        _finished.add(report.nodeid)
    if report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        _skipped.append((report.nodeid, reason))


def pytest_sessionfinish(session, exitstatus):
    """A run that ends "green" without finishing every test it collected fails.

    A stray signal can stop a parallel run's process early; its tests then never report, and
    the run must not pass for it. (Parallel workers check nothing: each collects everything.)
    """
    if hasattr(session.config, "workerinput") or exitstatus != 0:
        return
    missing = session.testscollected - len(_finished)
    if missing > 0:
        session.config._tally_unfinished = missing
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter):
    unfinished = getattr(terminalreporter.config, "_tally_unfinished", 0)
    if unfinished:
        terminalreporter.write_sep(
            "!", f"{unfinished} COLLECTED TESTS NEVER FINISHED: the run is a failure", red=True
        )
    if not _skipped:
        return
    tr = terminalreporter
    tr.write_sep("!", f"{len(_skipped)} TESTS SKIPPED: services missing on this machine", red=True)
    for nodeid, reason in _skipped:
        tr.write_line(f"SKIPPED {nodeid}: {reason}", yellow=True)
    tr.write_sep(
        "!", "CI runs all of them against PostgreSQL, Redis, a worker and Chromium", red=True
    )
