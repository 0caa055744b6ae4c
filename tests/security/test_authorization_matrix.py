"""Authorization matrix: every URL in the URL conf, for each of {anonymous, outsider, viewer, operator,
lead, admin}, with the status each must get.

The list of URLs comes from the URL conf itself, so a new URL without a row in MATRIX
fails this test until someone decides who may use it. Writes are sent with an empty body:
a 400 means "allowed in, then refused for the missing fields"; 401/403/404 mean "not
allowed", 302 sends a browser to the login page.
"""

from datetime import timedelta

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from integrations import services as ingest_services
from integrations.models import Anomaly, IngestBatch
from reports.models import Report
from retro import services
from runbooks import services as runbook_services
from webhooks.models import ChatIdentity, Webhook

ROLES = ["anonymous", "outsider", "viewer", "operator", "lead", "admin"]

# status per role, in ROLES order
P = {
    "public": (200, 200, 200, 200, 200, 200),
    "signed_in": (302, 200, 200, 200, 200, 200),
    "member": (302, 404, 200, 200, 200, 200),
    "lead": (302, 404, 403, 403, 200, 200),
    "admin": (302, 403, 403, 403, 403, 200),
    "api_signed_in": (401, 200, 200, 200, 200, 200),
    "api_member": (401, 404, 200, 200, 200, 200),
}

# name -> (method, profile). Every named URL of the project must be here.
MATRIX = {
    "admin:index": ("get", (302, 302, 302, 302, 302, 200)),
    "login": ("get", P["public"]),
    "logout": ("post", (302, 302, 302, 302, 302, 302)),
    "healthz": ("get", P["public"]),
    # The offline pages' service worker: a script with no data in it.
    "service-worker": ("get", P["public"]),
    # Prometheus scrapes with TALLY_METRICS_TOKEN; of the signed-in, only staff.
    "metrics": ("get", (401, 403, 403, 403, 403, 200)),
    "api-schema": ("get", P["public"]),
    "api-docs": ("get", P["public"]),
    "api-events": ("get", P["api_signed_in"]),
    "api-event": ("get", P["api_member"]),
    "api-sessions": ("get", P["api_member"]),
    "api-feeds": ("get", P["api_member"]),
    "api-feed": ("get", P["api_member"]),
    "api-entries": ("get", P["api_member"]),
    "api-event-actions": ("get", P["api_member"]),
    "api-entry": ("get", P["api_member"]),
    "api-entry-restore": ("post", (401, 404, 403, 200, 200, 200)),
    "api-actions": ("get", P["api_signed_in"]),
    "api-event-next": ("post", (401, 404, 403, 403, 400, 400)),
    # The conftest event is live: a finalize without a written reason is a 400 for leads.
    "api-retro-finalize": ("post", (401, 404, 403, 403, 400, 400)),
    "api-retro-reopen": ("post", (401, 404, 403, 403, 200, 200)),
    "api-similar": ("get", P["api_member"]),
    "api-entry-decision": ("post", (401, 404, 403, 403, 400, 400)),
    "api-entry-recurrence": ("post", (401, 404, 403, 400, 400, 400)),
    "ingest-srt": ("post", (401, 404, 403, 202, 202, 202)),
    "ingest-ffmpeg": ("post", (401, 404, 403, 202, 202, 202)),
    "ingest-generic": ("post", (401, 404, 403, 400, 400, 400)),
    "ingest-generic-feed": ("post", (401, 404, 403, 400, 400, 400)),
    "ingest-firehose": ("post", (401, 401, 401, 401, 401, 401)),
    "ingest-eventbridge": ("post", (401, 404, 403, 202, 202, 202)),
    "ingest-prometheus": ("post", (401, 404, 403, 400, 400, 400)),  # "{}" is not snappy
    "ingest-batch": ("get", P["api_member"]),
    "feed-telemetry": ("get", P["api_member"]),
    "api-anomalies": ("get", P["api_member"]),
    "api-anomaly-dismiss": ("post", (401, 404, 403, 403, 400, 400)),
    "api-anomaly-thresholds": ("get", P["api_member"]),
    "api-entry-telemetry": ("get", P["api_member"]),
    "api-runbooks": ("get", P["api_signed_in"]),
    "api-runbook": ("get", P["api_signed_in"]),
    "api-runbook-revisions": ("get", P["api_signed_in"]),
    "api-runbook-revision": ("get", P["api_signed_in"]),
    "api-runbook-diff": ("get", (401, 400, 400, 400, 400, 400)),
    "api-runbook-runs": ("post", (401, 404, 403, 201, 201, 201)),
    "api-runbook-links": ("post", (401, 404, 403, 201, 201, 201)),
    "api-run": ("get", P["api_member"]),
    "api-run-step": ("post", (401, 404, 403, 400, 400, 400)),
    "api-run-finish": ("post", (401, 404, 403, 200, 200, 200)),
    "api-search": ("get", P["api_signed_in"]),
    "api-event-reports": ("get", P["api_member"]),
    "api-report": ("get", P["api_member"]),
    "api-report-download": ("get", (401, 404, 409, 409, 409, 409)),
    "runbooks:list": ("get", P["signed_in"]),
    "runbooks:create": ("get", (302, 403, 403, 403, 200, 200)),
    "runbooks:run": ("get", P["member"]),
    "runbooks:run-step": ("post", (302, 404, 403, 302, 302, 302)),
    "runbooks:run-finish": ("post", (302, 404, 403, 302, 302, 302)),
    "runbooks:detail": ("get", P["signed_in"]),
    "runbooks:edit": ("get", (302, 403, 403, 403, 200, 200)),
    "runbooks:review": ("post", (302, 403, 403, 403, 302, 302)),
    "runbooks:start": ("post", (302, 404, 403, 302, 302, 302)),
    "runbooks:link": ("post", (302, 404, 403, 302, 302, 302)),
    "runbooks:diff": ("get", P["signed_in"]),
    "runbooks:revision": ("get", P["signed_in"]),
    "runbooks:restore": ("post", (302, 403, 403, 403, 302, 302)),
    # The editor's preview (empty body: a 400 with the reason), for runbook editors only.
    "runbooks:preview": ("post", (302, 403, 403, 403, 400, 400)),
    "runbooks:entry-picker": ("get", P["signed_in"]),  # only entries of one's own events
    "runbooks:run-changes": ("get", P["member"]),
    "search": ("get", P["signed_in"]),
    "ingest-page": ("get", P["lead"]),
    "ingest-key-create": ("post", (302, 404, 403, 403, 302, 302)),
    "ingest-key-revoke": ("post", (302, 404, 403, 403, 302, 302)),
    "ingest-map-source": ("post", (302, 404, 403, 403, 302, 302)),
    "anomalies-page": ("get", P["member"]),
    "feed-page": ("get", P["member"]),
    "meeting-page": ("get", P["member"]),
    "meeting-vote": ("post", (302, 404, 403, 302, 302, 302)),
    "meeting-merge": ("post", (302, 404, 403, 403, 302, 302)),
    "meeting-promote": ("post", (302, 404, 403, 403, 302, 302)),
    "meeting-finalize": ("post", (302, 404, 403, 403, 400, 400)),  # not confirmed: the page again
    "meeting-reopen": ("post", (302, 404, 403, 403, 302, 302)),
    "actions-event": ("get", P["member"]),
    "actions-all": ("get", P["signed_in"]),
    "actions-status": ("post", (302, 404, 403, 302, 302, 302)),
    "event-audit": ("get", P["lead"]),
    "audit-all": ("get", P["admin"]),
    "event-reports": ("get", P["member"]),
    "home": ("get", P["signed_in"]),
    "event-detail": ("get", P["member"]),
    "event-settings": ("get", P["lead"]),
    "event-remove-member": ("post", (302, 404, 403, 403, 302, 302)),
    "event-rundown": ("post", (302, 404, 403, 403, 302, 302)),
    "event-board": ("get", P["member"]),
    "event-board-changes": ("get", P["member"]),
    "entry-detail": ("get", P["member"]),
    "entry-edit": ("post", (302, 404, 403, 400, 400, 400)),  # no version: the form again
    "entry-edit-form": ("get", (302, 404, 403, 200, 200, 200)),
    "event-plan-next": ("get", P["lead"]),
    "entry-link-recurrence": ("post", (302, 404, 403, 302, 302, 302)),
    "meeting-no-change": ("post", (302, 404, 403, 403, 302, 302)),
    # Webhooks and chat users: leads of the event only.
    "api-webhooks": ("get", (401, 404, 403, 403, 200, 200)),
    "api-webhook": ("get", (401, 404, 403, 403, 200, 200)),
    "api-webhook-deliveries": ("get", (401, 404, 403, 403, 200, 200)),
    "api-chat-users": ("get", (401, 404, 403, 403, 200, 200)),
    "api-chat-user": ("get", (401, 404, 403, 403, 200, 200)),
    "webhook-add": ("post", (302, 404, 403, 403, 302, 302)),  # no URL: back with the reason
    "webhook-toggle": ("post", (302, 404, 403, 403, 302, 302)),
    "webhook-delete": ("post", (302, 404, 403, 403, 302, 404)),  # the lead removed it first
    "webhook-deliveries": ("get", P["lead"]),
    "chat-user-add": ("post", (302, 404, 403, 403, 302, 302)),
    "chat-user-delete": ("post", (302, 404, 403, 403, 302, 404)),  # the lead removed it first
    # Slack signs the command; nobody's session counts (no signature: 401).
    "slack-command": ("post", (401, 401, 401, 401, 401, 401)),
    "notification-settings": ("get", P["signed_in"]),
    # The show clock: members read it; operators and leads mark on air and off air.
    "show-clock": ("get", P["member"]),
    "api-show-clock": ("get", P["api_member"]),
    "session-mark": ("post", (302, 404, 403, 302, 302, 302)),
    "api-session-on-air": ("post", (401, 404, 403, 200, 200, 200)),
    "api-session-off-air": ("post", (401, 404, 403, 200, 200, 200)),
    "event-board-parts": ("get", P["member"]),
    "meeting-merge-candidates": ("get", (302, 404, 403, 403, 200, 200)),  # who may merge
    "api-my-notifications": ("get", P["api_signed_in"]),
}

# What a few endpoints need to get past "which event?" to the permission check.
QUERY = {"ingest-eventbridge": "?event=summit"}


def body_for(name: str, world: dict) -> dict:
    return {
        "runbooks:start": {"event": world["slug"]},
        "api-runbook-runs": {"event": world["slug"]},
        "api-runbook-links": {"entry": str(world["entry"])},
        "runbooks:link": {"entry": str(world["entry"])},
    }.get(name, {})


def walk(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            namespace = f"{pattern.namespace}:" if pattern.namespace else ""
            for route, name in walk(pattern.url_patterns, prefix + str(pattern.pattern)):
                yield route, (namespace + name if name else name)
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.name


def project_urls():
    """(route, name) of every URL except Django admin's own pages (covered by admin-index)."""
    return [
        (route, name)
        for route, name in walk(get_resolver().url_patterns)
        if not route.startswith("admin/") or name == "admin:index"
    ]


@pytest.fixture
def world(event, lead, operator, viewer, outsider, admin_user):
    entry, _ = services.log_entry(
        event=event,
        author=operator,
        kind="action",
        body="Raise SRT latency",
        owner=operator,
        occurred_at=event.start + timedelta(hours=3),
    )
    runbook = runbook_services.create_runbook(
        title="Failover", stage="contribution", author=lead, body="# Path B\n- [ ] switch to B\n"
    )
    run = runbook_services.start_run(runbook=runbook, event=event, started_by=operator)
    to_finish = runbook_services.start_run(runbook=runbook, event=event, started_by=operator)
    from tests.conftest import make_user

    extra = make_user("extra1")
    services.set_membership(event=event, user=extra, role="viewer", actor=lead)
    key, _ = ingest_services.create_ingest_key(event=event, name="k", actor=lead)
    batch = IngestBatch.objects.create(event=event, format="generic-json", body=b"[]")
    anomaly = Anomaly.objects.create(
        event=event,
        feed=event.feeds.get(slug="kn1-program"),
        kind="packet_loss",
        key="loss",
        source="detector",
        start=event.start,
        end=event.start + timedelta(minutes=1),
    )
    report = Report.objects.create(event=event, format="md", requested_by=lead)
    webhook = Webhook.objects.create(
        event=event, url="https://93.184.216.34/in", events=["entry.created"], secret="s"
    )
    chat_user = ChatIdentity.objects.create(
        event=event, team_id="T0TEAM", chat_user_id="U0OPER", user=operator
    )
    return {
        "slug": event.slug,
        "event": event.slug,
        "feed": "kn1-program",
        "username": extra.username,
        "entry": entry.pk,
        "runbook": runbook.slug,
        "run_id": run.pk,
        "number": 1,
        "run_to_finish": to_finish.pk,
        "key": key.pk,
        "batch": batch.pk,
        "anomaly": anomaly.pk,
        "report": report.pk,
        "webhook": webhook.pk,
        "chat_user": chat_user.pk,
        "session": "kn1",
        "what": "on-air",
    }


def fill(route: str, name: str, world: dict) -> str:
    """A concrete path for a route, with the world's objects as arguments."""
    import re

    def value(match):
        arg = match.group(2)
        if arg == "pk":
            for word, key in (
                ("entr", "entry"),
                ("action", "entry"),
                ("meeting", "entry"),
                ("key", "key"),
                ("batch", "batch"),
                ("anomal", "anomaly"),
                ("report", "report"),
                ("webhook", "webhook"),
                ("chat-user", "chat_user"),
            ):
                if word in name:
                    return str(world[key])
            return str(world["entry"])
        if (arg == "slug" and name.startswith("runbooks:")) or (
            arg == "slug" and "runbook" in name
        ):
            return world["runbook"]
        if arg == "run_id" and "finish" in name:
            return str(world["run_to_finish"])
        return str(world[arg])

    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", value, route)


def client_for(request, role):
    client = APIClient()
    if role != "anonymous":
        user = request.getfixturevalue(
            {
                "outsider": "outsider",
                "viewer": "viewer",
                "operator": "operator",
                "lead": "lead",
                "admin": "admin_user",
            }[role]
        )
        client.force_login(user)
    return client


def test_every_url_is_in_the_matrix():
    names = {name for _, name in project_urls()}
    missing = sorted(names - set(MATRIX))
    assert not missing, f"URLs without a row in MATRIX (decide who may use them): {missing}"
    assert not sorted(set(MATRIX) - names), "MATRIX rows for URLs that no longer exist"


def test_every_url_answers_each_role_as_the_matrix_says(request, world):
    failures = []
    urls = project_urls()
    for route, name in urls:
        method, expected = MATRIX[name]
        path = fill(route, name, world) + QUERY.get(name, "")
        for role, status in zip(ROLES, expected, strict=True):
            client = client_for(request, role)
            if method == "post":
                kind = "json" if path.startswith("/api/") else "multipart"
                response = client.post(path, body_for(name, world), format=kind)
            else:
                response = client.get(path)
            if response.status_code != status:
                failures.append(
                    f"{name} {method} as {role}: {response.status_code}, expected {status}"
                )
    assert not failures, "\n".join(failures)
    print(f"authorization matrix: {len(urls)} URLs x {len(ROLES)} roles")
