"""HTML views for runbooks, their revisions and runs, and the search page."""

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.text import Truncator
from django.views.decorators.http import require_POST

from retro.models import Role, Stage
from retro.selectors import event_for_user, events_for_user, has_role

from . import checklist, diff, selectors, services
from .models import RunStep, revision_text


class RunbookForm(forms.Form):
    title = forms.CharField(max_length=200)
    slug = forms.SlugField(max_length=100, required=False, help_text="From the title if empty.")
    stage = forms.ChoiceField(choices=Stage.choices)
    feed_kinds = forms.CharField(required=False, help_text="Feed kinds, comma separated.")
    sites = forms.CharField(required=False, help_text="Site slugs, comma separated.")
    owner = forms.CharField(required=False, help_text="Username.")
    review_days = forms.IntegerField(min_value=1, initial=180)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 24, "class": "mono"}), strip=False)
    summary = forms.CharField(max_length=300, required=False, label="What changed")
    base_revision = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def clean_owner(self):
        name = self.cleaned_data["owner"].strip()
        if not name:
            return None
        user = get_user_model().objects.filter(username=name).first()
        if user is None:
            raise ValidationError(f"Unknown user {name!r}.")
        return user

    def applies_to(self) -> dict:
        def split(value):
            return [v.strip() for v in value.split(",") if v.strip()]

        return {
            "feed_kinds": split(self.cleaned_data["feed_kinds"]),
            "sites": split(self.cleaned_data["sites"]),
        }


def _add_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc)


@login_required
def runbook_list(request):
    """Every runbook by stage, stale ones marked."""
    runbooks = selectors.runbooks_for_user(request.user)
    stage = request.GET.get("stage", "")
    if stage in Stage.values:
        runbooks = runbooks.filter(stage=stage)
    return render(
        request,
        "runbooks/list.html",
        {
            "runbooks": runbooks,
            "stages": Stage.choices,
            "stage": stage,
            "can_edit": selectors.can_edit(request.user),
        },
    )


@login_required
def runbook_create(request):
    if not selectors.can_edit(request.user):
        return render(request, "403.html", status=403)
    form = RunbookForm(request.POST or None)
    chosen = []
    if request.method == "POST":
        try:
            chosen = selectors.entries_behind_revision(
                request.user, request.POST.getlist("entries")
            )
        except ValidationError as exc:
            _add_errors(form, exc)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            runbook = services.create_runbook(
                title=d["title"],
                slug=d["slug"],
                stage=d["stage"],
                body=d["body"],
                author=request.user,
                owner=d["owner"] or request.user,
                applies_to=form.applies_to(),
                review_days=d["review_days"],
                summary=d["summary"] or "Created",
                entries=chosen,
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            return redirect("runbooks:detail", slug=runbook.slug)
    context = {"form": form, "runbook": None, "chosen_entries": chosen}
    return render(request, "runbooks/edit.html", context, status=400 if form.errors else 200)


REVISIONS_SHOWN = 10  # on the runbook page; the rest behind "show all"


@login_required
def runbook_detail(request, slug):
    """The current revision, its history with the learnings behind it, runs and links."""
    runbook = selectors.runbook_for_user(request.user, slug)
    all_revisions = request.GET.get("revisions") == "all"
    limit = None if all_revisions else REVISIONS_SHOWN
    revisions = selectors.revisions_with_entries(runbook, request.user, limit=limit)
    events = selectors.runnable_events(request.user)
    context = {
        "runbook": runbook,
        "revision": runbook.current,
        "revisions": revisions,
        "touching": selectors.entries_touching(runbook, request.user),
        "runs": runbook.runs.filter(event__in=events_for_user(request.user))
        .select_related("event", "revision", "started_by")
        .defer(*revision_text("revision"))
        .order_by("-started_at")[:10],
        "events": events,
        "can_edit": selectors.can_edit(request.user, runbook),
        "more_revisions": max(0, runbook.revision_number - len(revisions)),
        "step_count": len(services.parse_steps(runbook.current.body)) if runbook.current else 0,
        "linkable": selectors.linkable_entries(request.user, limit=1, events=events),
        "step_refs": selectors.step_refs(runbook),
    }
    return render(request, "runbooks/detail.html", context)


@login_required
@require_POST
def runbook_link(request, slug):
    """Point a learning or action (operator+ on its event) at this runbook and a step."""
    runbook = selectors.runbook_for_user(request.user, slug)
    entry = selectors.linkable_entry(request.user, request.POST.get("entry", ""))
    step = request.POST.get("step", "").strip()
    if step and step not in selectors.step_refs(runbook):
        messages.error(request, "That step is not in the current revision; pick one from the list.")
    else:
        try:
            services.link_entry(entry=entry, runbook=runbook, actor=request.user, step_ref=step)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            where = f" to step “{step}”" if step else ""
            messages.success(request, f"{entry.get_kind_display()} linked{where}.")
    return redirect(reverse("runbooks:detail", args=[runbook.slug]) + "#learnings-h")


@login_required
def runbook_edit(request, slug):
    """Save a new revision; a stale base revision shows the newer text instead of overwriting."""
    runbook = selectors.runbook_for_editor(request.user, slug)
    initial = {
        "title": runbook.title,
        "slug": runbook.slug,
        "stage": runbook.stage,
        "feed_kinds": ", ".join(runbook.applies_to.get("feed_kinds", [])),
        "sites": ", ".join(runbook.applies_to.get("sites", [])),
        "owner": runbook.owner.username if runbook.owner_id else "",
        "review_days": runbook.review_days,
        "body": runbook.current.body if runbook.current else "",
        "base_revision": runbook.revision_number,
    }
    form = RunbookForm(request.POST or None, initial=initial)
    form.fields["slug"].help_text = "A new slug moves the runbook to a new address."
    conflict = None
    chosen = []
    if request.method == "POST":
        try:
            chosen = selectors.entries_behind_revision(
                request.user, request.POST.getlist("entries")
            )
        except ValidationError as exc:
            _add_errors(form, exc)
    if request.method == "POST" and form.is_valid():
        try:
            saved = _save_from_form(request, runbook, form, chosen)
        except services.StaleRevision as exc:
            conflict = exc.current
            form.add_error(None, str(exc))
            # Keep the editor's text; point the next save at the newer revision.
            form.data = form.data.copy()
            form.data["base_revision"] = str(conflict.number)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            return redirect("runbooks:detail", slug=saved.slug)
    context = {
        "form": form,
        "runbook": runbook,
        "conflict": conflict,
        "conflict_rows": (
            diff.side_by_side(conflict.body, form.data.get("body", "")) if conflict else None
        ),
        "chosen_entries": chosen,
    }
    status = 409 if conflict else 400 if form.is_bound and form.errors else 200
    return render(request, "runbooks/edit.html", context, status=status)


def _save_from_form(request, runbook, form, entries):
    """Save the editor's form; the message says what changed, never "saved" for nothing."""
    d = form.cleaned_data
    before = (runbook.slug, runbook.title, runbook.stage, runbook.applies_to,
              runbook.review_days, runbook.owner_id)  # fmt: skip
    revision = services.save_revision(
        runbook=runbook,
        author=request.user,
        body=d["body"],
        base_revision=d["base_revision"],
        summary=d["summary"],
        entries=entries,
        title=d["title"],
        slug=d["slug"],
        stage=d["stage"],
        applies_to=form.applies_to(),
        review_days=d["review_days"],
        owner=d["owner"],
    )
    saved = selectors.runbooks_for_user(request.user).get(pk=runbook.pk)
    after = (saved.slug, saved.title, saved.stage, saved.applies_to,
             saved.review_days, saved.owner_id)  # fmt: skip
    renamed = f" Its address is now /runbooks/{saved.slug}/." if saved.slug != runbook.slug else ""
    if revision.number != d["base_revision"]:
        cited = f", citing {len(entries)} entr{'y' if len(entries) == 1 else 'ies'}"
        cited = cited if entries else ""
        messages.success(request, f"Saved as revision {revision.number}{cited}.{renamed}")
    elif before != after:
        messages.success(request, f"Details saved; the text is unchanged.{renamed}")
    else:
        messages.info(request, "Nothing changed, so nothing was saved.")
    return saved


@login_required
@require_POST
def runbook_preview(request):
    """The editor's preview: the body rendered and sanitized by the renderer revisions use."""
    if not selectors.can_edit(request.user):
        return JsonResponse({"detail": "Only runbook editors preview."}, status=403)
    errors: dict = {}
    body = services.clean_body(request.POST.get("body", ""), errors)
    if errors:
        return JsonResponse(errors, status=400)
    return JsonResponse(
        {"html": services.render_body(body), "steps": len(services.parse_steps(body))}
    )


@login_required
def entry_picker(request):
    """Search-as-you-type choices: learnings and actions whose text has every word typed
    (or whose id starts so). ?for=link: only events where you may link them."""
    entries = selectors.entries_to_pick(
        request.user, request.GET.get("q", "")[:200], to_link=request.GET.get("for") == "link"
    )
    return JsonResponse(
        {
            "results": [
                {
                    "id": str(e.pk),
                    "ref": str(e.pk)[:8],
                    "kind": e.get_kind_display(),
                    "event": e.event.name,
                    "when": e.occurred_at.isoformat(),
                    "label": f"{e.get_kind_display()} · {e.event.name} · "
                    f"{e.occurred_at.astimezone(e.event.tz):%Y-%m-%d %H:%M %Z} · "
                    f"{Truncator(e.body).chars(110)}",
                }
                for e in entries
            ]
        }
    )


@login_required
@require_POST
def runbook_review(request, slug):
    runbook = selectors.runbook_for_editor(request.user, slug)
    services.mark_reviewed(runbook=runbook, actor=request.user)
    messages.success(request, "Marked as reviewed.")
    return redirect("runbooks:detail", slug=slug)


@login_required
def revision_detail(request, slug, number):
    runbook = selectors.runbook_for_user(request.user, slug)
    revision = selectors.revision_of(runbook, number)
    listed = {r.pk: r for r in selectors.revisions_with_entries(runbook, request.user)}
    revision.visible_entries = listed[revision.pk].visible_entries
    return render(
        request,
        "runbooks/revision.html",
        {
            "runbook": runbook,
            "revision": revision,
            "can_edit": selectors.can_edit(request.user, runbook),
        },
    )


@login_required
@require_POST
def revision_restore(request, slug, number):
    runbook = selectors.runbook_for_editor(request.user, slug)
    revision = services.restore_revision(runbook=runbook, number=number, author=request.user)
    messages.success(request, f"Revision {number} restored as revision {revision.number}.")
    return redirect("runbooks:detail", slug=slug)


@login_required
def runbook_diff(request, slug):
    """Two revisions side by side or inline (?from=&to=&mode=inline)."""
    runbook = selectors.runbook_for_user(request.user, slug)
    current = runbook.revision_number
    to_n = request.GET.get("to") or current
    from_n = request.GET.get("from") or max(1, int(to_n) - 1 if str(to_n).isdigit() else 1)
    old = selectors.revision_of(runbook, from_n)
    new = selectors.revision_of(runbook, to_n)
    mode = "inline" if request.GET.get("mode") == "inline" else "side"
    return render(
        request,
        "runbooks/diff.html",
        {
            "runbook": runbook,
            "old": old,
            "new": new,
            "mode": mode,
            "rows": diff.side_by_side(old.body, new.body) if mode == "side" else None,
            "lines": diff.inline(old.body, new.body) if mode == "inline" else None,
            "stats": diff.stats(old.body, new.body),
            "numbers": list(runbook.revisions.order_by("number").values_list("number", flat=True)),
        },
    )


# --- Runs -----------------------------------------------------------------------------


@login_required
@require_POST
def run_start(request, slug):
    runbook = selectors.runbook_for_user(request.user, slug)
    event = event_for_user(request.user, request.POST.get("event", ""), Role.OPERATOR)
    feed = event.feeds.filter(slug=request.POST.get("feed", "")).first()
    try:
        run = services.start_run(runbook=runbook, event=event, started_by=request.user, feed=feed)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("runbooks:detail", slug=slug)
    return redirect("runbooks:run", run_id=run.pk)


@login_required
def run_detail(request, run_id):
    """The checklist: steps under their headings, what was recorded, time per step."""
    run = selectors.run_for_user(request.user, run_id)
    changed_from = selectors.changed_since_last_run(run)
    groups = selectors.step_groups(run)
    context = {
        "run": run,
        "groups": groups,
        "progress": selectors.run_progress(groups),
        "can_run": not run.finished and has_role(request.user, run.event, Role.OPERATOR),
        "changed_from": changed_from,
        "changed_rows": (
            diff.inline(changed_from.body, run.revision.body, context=1) if changed_from else None
        ),
    }
    return render(request, "runbooks/run.html", context)


@login_required
def run_changes(request, run_id):
    """Polled every second by each open copy of a checklist: the steps changed after the
    run's change number `after` (and the `steps` asked for by number, whatever their
    change), drawn by the same rows as the page."""
    run = selectors.run_for_user(request.user, run_id)
    try:
        after = int(request.GET.get("after", 0))
        numbers = [int(n) for n in request.GET.get("steps", "").split(",") if n.strip()][:100]
    except ValueError:
        return JsonResponse({"detail": "after and steps are whole numbers."}, status=400)
    body = {"cursor": run.change_count, "finished": run.finished, "steps": []}
    if numbers or after < run.change_count:
        steps = selectors.steps_changed_after(run, after, also=numbers)
        can_run = not run.finished and has_role(request.user, run.event, Role.OPERATOR)
        rows = checklist.step_rows(run, steps, can_run=can_run, csrf_token=get_token(request))
        body["steps"] = [
            {"number": s.number, "version": s.version, "state": s.state, "html": html}
            for s, html in zip(steps, rows, strict=True)
        ]
    return JsonResponse(body)


@login_required
@require_POST
def run_step(request, run_id, number):
    run = selectors.run_for_user(request.user, run_id, Role.OPERATOR)
    action = request.POST.get("action", "")
    state = {"done": RunStep.State.DONE, "skip": RunStep.State.SKIPPED, "undo": "pending"}.get(
        action
    )
    note = request.POST.get("note") if action == "note" else None
    try:
        services.record_step(
            run=run,
            number=number,
            actor=request.user,
            state=state,
            reason=request.POST.get("reason", "") if action == "skip" else "",
            note=note,
        )
    except services.RunFinished as exc:
        messages.error(request, str(exc))
        response = run_detail(request, run.pk)
        response.status_code = 409
        return response
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, f"Step {number}: {message}")
    return redirect(reverse("runbooks:run", args=[run.pk]) + f"#step-{number}")


@login_required
@require_POST
def run_finish(request, run_id):
    run = selectors.run_for_user(request.user, run_id, Role.OPERATOR)
    services.finish_run(run=run, actor=request.user)
    messages.success(request, "Run finished.")
    return redirect("runbooks:run", run_id=run.pk)
