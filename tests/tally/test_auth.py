"""Sign-in throttling and lockout."""

import pytest
from django.core.cache import cache

from tally.auth import _keys
from tests.conftest import PASSWORD


@pytest.fixture
def clean_counters(rf):
    yield
    request = rf.post("/accounts/login/")
    cache.delete_many(_keys(request, "viewer1"))


def test_five_failures_lock_the_account_out_even_with_the_right_password(
    client, viewer, clean_counters, settings
):
    for _ in range(settings.TALLY_LOGIN_MAX_FAILURES):
        response = client.post("/accounts/login/", {"username": "viewer1", "password": "wrong"})
        assert response.status_code == 200
    locked = client.post("/accounts/login/", {"username": "viewer1", "password": PASSWORD})
    assert locked.status_code == 429
    assert b"Too many failed sign-ins" in locked.content
    assert "_auth_user_id" not in client.session


def test_success_resets_the_counter(client, viewer, clean_counters):
    client.post("/accounts/login/", {"username": "viewer1", "password": "wrong"})
    ok = client.post("/accounts/login/", {"username": "viewer1", "password": PASSWORD})
    assert ok.status_code == 302
    assert client.session["_auth_user_id"] == str(viewer.pk)


def test_admin_login_goes_through_the_throttled_login(client):
    response = client.get("/admin/login/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
