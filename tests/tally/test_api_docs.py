"""The API schema and its docs page: open in development, signed-in users only in production."""

import pytest

from .test_settings import BASE_DROP, STRONG, manage


@pytest.mark.parametrize("url", ["/api/schema/", "/api/docs/"])
def test_in_production_the_schema_and_docs_need_a_sign_in(client, viewer, settings, url):
    settings.TALLY_API_DOCS_PUBLIC = False
    assert client.get(url).status_code in (401, 403)
    client.force_login(viewer)
    assert client.get(url).status_code == 200


def test_a_setting_opens_them(client, db, settings):
    settings.TALLY_API_DOCS_PUBLIC = True
    assert client.get("/api/schema/").status_code == 200


def test_production_settings_keep_them_closed_unless_opened(tmp_path):
    env = {
        "DJANGO_DEBUG": "0",
        "SECRET_KEY": STRONG,
        "ALLOWED_HOSTS": "tally.example",
        "TALLY_DATA_DIR": str(tmp_path),
    }
    code = "from django.conf import settings; print(settings.TALLY_API_DOCS_PUBLIC)"
    closed = manage("shell", "-c", code, env_extra=env, drop=BASE_DROP)
    assert closed.stdout.strip().splitlines()[-1] == "False", closed.stderr
    opened = manage(
        "shell", "-c", code, env_extra={**env, "TALLY_API_DOCS_PUBLIC": "1"}, drop=BASE_DROP
    )
    assert opened.stdout.strip().splitlines()[-1] == "True", opened.stderr
