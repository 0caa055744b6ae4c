"""The ingest page per event (leads): batches, quarantine, unknown source ids, ingest keys."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from retro.models import Role
from retro.selectors import event_for_user

from . import selectors, services


@login_required
def ingest_page(request, slug):
    """Recent and quarantined batches, unknown source ids with 'map to feed', ingest keys."""
    event = event_for_user(request.user, slug, Role.LEAD)
    context = {"event": event, **selectors.ingest_page(event)}
    context["new_key"] = request.session.pop("tally_new_ingest_key", None)
    return render(request, "integrations/ingest.html", context)


@login_required
@require_POST
def create_key(request, slug):
    """Create an ingest key; its secret is shown once, on the next page view."""
    event = event_for_user(request.user, slug, Role.LEAD)
    key, secret = services.create_ingest_key(
        event=event, name=request.POST.get("name", ""), actor=request.user
    )
    request.session["tally_new_ingest_key"] = {"name": key.name, "secret": secret}
    return redirect("ingest-page", slug=event.slug)


@login_required
@require_POST
def revoke_key(request, slug, pk):
    """Revoke an ingest key."""
    event = event_for_user(request.user, slug, Role.LEAD)
    key = get_object_or_404(event.ingest_keys, pk=pk)
    services.revoke_ingest_key(key=key, actor=request.user)
    messages.success(request, f"Ingest key {key.name} revoked.")
    return redirect("ingest-page", slug=event.slug)


@login_required
@require_POST
def map_source(request, slug):
    """Add an unknown source id to a feed and re-process what was quarantined for it."""
    event = event_for_user(request.user, slug, Role.LEAD)
    feed = event.feeds.filter(pk=request.POST.get("feed") or 0).first()
    source_id = request.POST.get("source_id", "")
    if feed is None:
        messages.error(request, "Choose a feed of this event.")
        return redirect("ingest-page", slug=event.slug)
    try:
        services.map_source_to_feed(event=event, source_id=source_id, feed=feed, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"{source_id} now maps to {feed.slug}; its data is re-processed.")
    return redirect("ingest-page", slug=event.slug)
