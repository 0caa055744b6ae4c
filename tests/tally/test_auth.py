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


def test_spellings_of_one_account_share_one_failure_counter(
    client, viewer, clean_counters, settings
):
    """Stripped, NFKC-normalized and case-folded as sign-in reads it: no fresh tries."""
    fullwidth = "\uff56\uff49\uff45\uff57\uff45\uff52\uff11"
    spellings = [" viewer1", "viewer1  ", fullwidth, "VIEWER1", "Viewer1\t"]
    for attempt in range(settings.TALLY_LOGIN_MAX_FAILURES):
        name = spellings[attempt % len(spellings)]
        response = client.post("/accounts/login/", {"username": name, "password": "wrong"})
        assert response.status_code == 200, name
    for name in [*spellings, "viewer1"]:
        locked = client.post("/accounts/login/", {"username": name, "password": PASSWORD})
        assert locked.status_code == 429, name
    assert "_auth_user_id" not in client.session
