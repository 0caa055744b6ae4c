"""The ingest page per event (leads): batches, quarantine, unknown source ids, ingest keys."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from retro.models import Role
from retro.selectors import event_for_user, has_role

from . import anomalies, review, selectors, services
from . import feed_page as page
from .forms import DismissAnomalyForm, MapSourceForm


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
    form = MapSourceForm(request.POST, event=event)
    if not form.is_valid():
        messages.error(request, " ".join(m for ms in form.errors.values() for m in ms))
        return redirect("ingest-page", slug=event.slug)
    feed, source_id = form.cleaned_data["feed"], form.cleaned_data["source_id"]
    try:
        services.map_source_to_feed(event=event, source_id=source_id, feed=feed, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"{source_id} now maps to {feed.slug}; its data is re-processed.")
    return redirect("ingest-page", slug=event.slug)


# --- Feed page, anomalies page, thresholds form (issue 5) -------------------------------


@login_required
def feed_page(request, slug, feed):
    """A feed's key metrics over a range (whole event by default), entries, anomalies, on air."""
    event = event_for_user(request.user, slug, Role.VIEWER)
    fd = get_object_or_404(event.feeds.select_related("session"), slug=feed)
    try:
        context = page.context(event, fd, request.GET, request.user)
    except ValidationError as exc:
        return render(
            request,
            "integrations/feed.html",
            {"event": event, "feed": fd, "errors": exc.message_dict},
            status=400,
        )
    return render(request, "integrations/feed.html", context)


@login_required
def anomalies_page(request, slug):
    """Every anomaly of the event, unreviewed first; leads dismiss and set thresholds."""
    event = event_for_user(request.user, slug, Role.VIEWER)
    is_lead = has_role(request.user, event, Role.LEAD)
    status = 200
    errors = {}
    values = anomalies.thresholds_for(event)
    if request.method == "POST":
        if not is_lead:
            raise PermissionDenied("Only leads change thresholds or dismiss anomalies.")
        try:
            if request.POST.get("do") == "dismiss":
                form = DismissAnomalyForm(request.POST, event=event)
                if not form.is_valid():
                    raise ValidationError({k: list(v) for k, v in form.errors.items()})
                anomalies.dismiss_anomaly(
                    anomaly=form.cleaned_data["anomaly"],
                    actor=request.user,
                    reason=form.cleaned_data["reason"],
                )
                messages.success(request, "Anomaly dismissed.")
            else:
                submitted = {k: request.POST.get(k, "") for k in anomalies.DEFAULTS}
                values = {**values, **submitted}
                anomalies.set_thresholds(event=event, actor=request.user, values=submitted)
                messages.success(request, "Thresholds saved; they apply to data from now on.")
            return redirect("anomalies-page", slug=event.slug)
        except ValidationError as exc:
            errors, status = exc.message_dict, 400
    items = review.anomalies_for_event(event)
    items.sort(key=lambda a: (a.reviewed, a.start))
    thresholds = [
        {
            "name": n,
            "value": values[n],
            "help": anomalies.HELP[n],
            "bounds": f"0 to {anomalies.MAX_VALUES[n]:,.0f}",
            "error": errors.get(n, [""])[0],
        }
        for n in anomalies.DEFAULTS
    ]
    context = {
        "event": event,
        "anomalies": items,
        "unreviewed": sum(1 for a in items if not a.reviewed),
        "is_lead": is_lead,
        "thresholds": thresholds,
        "errors": errors,
    }
    return render(request, "integrations/anomalies.html", context, status=status)
