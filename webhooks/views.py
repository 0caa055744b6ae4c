"""The webhooks and chat users section of an event's settings page (leads), and its forms.

Every form posts here and goes back to the settings page; a new webhook's page is the only
place its secret is shown.
"""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from retro import selectors as retro_selectors
from retro.models import Role

from . import chat, selectors, services


def _back(event):
    return redirect(f"/events/{event.slug}/settings/#webhooks")


def _error(request, exc: ValidationError) -> None:
    for field, problems in exc.message_dict.items():
        messages.error(request, f"{field}: {' '.join(problems)}")


@login_required
@require_POST
def add_webhook(request, slug):
    event = retro_selectors.event_for_user(request.user, slug, Role.LEAD)
    try:
        webhook = services.create_webhook(
            event=event,
            actor=request.user,
            url=request.POST.get("url", ""),
            format=request.POST.get("format", "json"),
            events=request.POST.getlist("events"),
        )
    except ValidationError as exc:
        _error(request, exc)
        return _back(event)
    return render(request, "webhooks/created.html", {"event": event, "webhook": webhook})


@login_required
@require_POST
def toggle_webhook(request, pk):
    webhook = selectors.webhook_for_user(request.user, pk)
    try:
        services.update_webhook(webhook=webhook, actor=request.user, active=not webhook.active)
    except ValidationError as exc:
        _error(request, exc)
    return _back(webhook.event)


@login_required
@require_POST
def delete_webhook(request, pk):
    webhook = selectors.webhook_for_user(request.user, pk)
    services.delete_webhook(webhook=webhook, actor=request.user)
    messages.success(request, "Webhook removed.")
    return _back(webhook.event)


@login_required
def deliveries(request, pk):
    webhook = selectors.webhook_for_user(request.user, pk)
    return render(
        request,
        "webhooks/deliveries.html",
        {"webhook": webhook, "event": webhook.event, "deliveries": webhook.deliveries.all()[:200]},
    )


@login_required
@require_POST
def add_chat_user(request, slug):
    event = retro_selectors.event_for_user(request.user, slug, Role.LEAD)
    user = get_user_model().objects.filter(username=request.POST.get("username", "")).first()
    try:
        if user is None:
            raise ValidationError({"username": "No Tally user of that name."})
        chat.map_chat_user(
            event=event,
            actor=request.user,
            team_id=request.POST.get("team_id", ""),
            chat_user_id=request.POST.get("chat_user_id", ""),
            user=user,
        )
    except ValidationError as exc:
        _error(request, exc)
    return _back(event)


@login_required
@require_POST
def delete_chat_user(request, pk):
    identity = selectors.chat_identity_for_user(request.user, pk)
    chat.unmap_chat_user(identity=identity, actor=request.user)
    return _back(identity.event)
