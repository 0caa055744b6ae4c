"""CSRF on session-authenticated writes, and the security headers of production."""

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from uuid import uuid4

import pytest
from django.test import Client

from retro.models import Entry

ROOT = Path(__file__).resolve().parents[2]
STRONG = "q7Vt3-mZp9xK2aL8fR0wN5cY1bH6jD4sE_uG0iT9oP3vQ8rW2yX7zA5nM1kJ6hB4"


@pytest.fixture
def csrf_client(operator):
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    return client


def entry_json(event):
    return json.dumps(
        {
            "id": str(uuid4()),
            "kind": "win",
            "body": "clean failover",
            "occurred_at": (event.start + timedelta(hours=1)).isoformat(),
        }
    )


def test_session_api_write_without_csrf_token_is_refused(csrf_client, event):
    response = csrf_client.post(
        f"/api/v1/events/{event.slug}/entries/", entry_json(event), content_type="application/json"
    )
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert not Entry.objects.exists()


def test_session_api_write_with_csrf_token_is_accepted(csrf_client, event):
    csrf_client.get(f"/events/{event.slug}/board/")
    token = csrf_client.cookies["csrftoken"].value
    response = csrf_client.post(
        f"/api/v1/events/{event.slug}/entries/",
        entry_json(event),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code == 201
    assert Entry.objects.count() == 1


def test_html_form_post_without_csrf_token_is_refused(event, lead):
    client = Client(enforce_csrf_checks=True)
    client.force_login(lead)
    response = client.post(f"/events/{event.slug}/settings/", {"username": "x", "role": "viewer"})
    assert response.status_code == 403


def test_token_authenticated_api_needs_no_csrf(event, operator):
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=operator)
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        f"/api/v1/events/{event.slug}/entries/",
        entry_json(event),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token.key}",
    )
    assert response.status_code == 201


PROBE = """
from django.test import Client
r = Client().get('/accounts/login/', secure=True, HTTP_HOST='tally.example')
for h in ('Strict-Transport-Security', 'Content-Security-Policy', 'X-Content-Type-Options',
          'Referrer-Policy', 'X-Frame-Options'):
    print(h + '=' + r.headers.get(h, 'MISSING'))
print('cookie-secure=' + str(r.cookies['csrftoken']['secure']))
"""


def test_production_sends_hsts_csp_and_friends(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_DEBUG", "DATABASE_URL")}
    env.update(
        {
            "TALLY_ENV": "production",
            "SECRET_KEY": STRONG,
            "ALLOWED_HOSTS": "tally.example",
            "TALLY_DATA_DIR": str(tmp_path),
        }
    )
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    headers = dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)
    assert headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["cookie-secure"] == "True"


def test_no_page_carries_an_inline_script(viewer_client, event):
    for url in [
        "/",
        f"/events/{event.slug}/",
        f"/events/{event.slug}/board/",
        f"/events/{event.slug}/retro/",
        f"/events/{event.slug}/actions/",
        "/runbooks/",
        "/search/?q=srt",
        "/accounts/login/",
    ]:
        page = viewer_client.get(url).content.decode()
        for chunk in page.split("<script")[1:]:
            opening = chunk.split(">", 1)[0]
            if 'type="application/json"' in opening:
                continue  # data for our scripts (json_script), never executed
            assert "src=" in opening, f"inline script on {url}: <script{opening}>"
