"""Who gets which notification by email: one place every mail sender asks (reminders, the
weekly digest, webhooks.notices)."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from . import audit
from .models import MailPreference

Kind = MailPreference.Kind


def mail_preferences(user) -> dict[str, bool]:
    """{kind: wanted} for every kind; a person who never chose gets everything."""
    stored = MailPreference.objects.filter(user=user).first()
    return {kind: getattr(stored, kind) if stored else True for kind in Kind.values}


def wants_mail(user, kind: str) -> bool:
    """True when the person has an address and has not turned this kind of mail off."""
    return bool(user.email) and mail_preferences(user)[kind]


def opted_out(kind: str, path: str = "") -> Q:
    """A filter matching people (through `path`, e.g. "owner__") who turned `kind` off."""
    return Q(**{f"{path}mail_preference__{kind}": False})


@transaction.atomic
def set_mail_preferences(*, user, **choices) -> dict[str, bool]:
    """Turn kinds of mail on or off (true/false per kind); unknown kinds are refused."""
    errors = {}
    for name, value in choices.items():
        if name not in Kind.values:
            errors[name] = f"Unknown notification; use {', '.join(Kind.values)}."
        elif not isinstance(value, bool):
            errors[name] = "true or false."
    if errors:
        raise ValidationError(errors)
    before = mail_preferences(user)
    pref, _ = MailPreference.objects.get_or_create(user=user)
    for name, value in choices.items():
        setattr(pref, name, value)
    pref.updated_at = timezone.now()
    pref.save()
    after = mail_preferences(user)
    if diff := {k: [before[k], after[k]] for k in after if before[k] != after[k]}:
        audit.record(
            actor=user, action="mail.preferences", obj=pref, summary="Mail choices", changes=diff
        )
    return after
