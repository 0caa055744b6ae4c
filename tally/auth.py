"""Sign-in with throttling: repeated failures lock the account name out, and many failures
from one address lock the address out (higher limit: a control room shares one NAT address).

Counters live in the cache (Redis in production, shared by every web process; memory in
the single-process embedded setup), so a lockout holds across processes.
"""

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import UsernameField
from django.core.cache import cache

log = logging.getLogger(__name__)


def login_identity(raw: str) -> str:
    """The account a sign-in attempt names, as the login form reads it (stripped, NFKC
    normalized) and case-folded: every spelling of one name shares one failure counter."""
    return (UsernameField().to_python(raw) or "").casefold()[:150]


def _keys(request, username: str) -> list[str]:
    address = request.META.get("REMOTE_ADDR", "unknown")
    return [f"login-fail:user:{login_identity(username)}", f"login-fail:addr:{address}"]


def locked_out(request, username: str) -> bool:
    """True when this account name or this address has failed too often."""
    user_key, addr_key = _keys(request, username)
    values = cache.get_many([user_key, addr_key])
    return (
        values.get(user_key, 0) >= settings.TALLY_LOGIN_MAX_FAILURES
        or values.get(addr_key, 0) >= settings.TALLY_LOGIN_MAX_FAILURES * 10
    )


def record_failure(request, username: str) -> None:
    for key in _keys(request, username):
        cache.add(key, 0, timeout=settings.TALLY_LOGIN_LOCKOUT_SECONDS)
        try:
            cache.incr(key)
        except ValueError:
            cache.set(key, 1, timeout=settings.TALLY_LOGIN_LOCKOUT_SECONDS)


def clear_failures(request, username: str) -> None:
    cache.delete(_keys(request, username)[0])


class ThrottledLoginView(auth_views.LoginView):
    """Django's login, refusing to even check a password once the limit is reached."""

    def post(self, request, *args, **kwargs):
        username = request.POST.get("username", "")
        if locked_out(request, username):
            log.warning(
                "login locked out for %r from %s", username, request.META.get("REMOTE_ADDR")
            )
            minutes = settings.TALLY_LOGIN_LOCKOUT_SECONDS // 60
            form = self.get_form()
            form.errors.clear()
            form.add_error(None, f"Too many failed sign-ins. Try again in {minutes} minutes.")
            response = self.render_to_response(self.get_context_data(form=form))
            response.status_code = 429
            return response
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        record_failure(self.request, self.request.POST.get("username", ""))
        return super().form_invalid(form)

    def form_valid(self, form):
        clear_failures(self.request, form.get_user().get_username())
        messages.success(self.request, f"Signed in as {form.get_user().get_username()}.")
        return super().form_valid(form)
