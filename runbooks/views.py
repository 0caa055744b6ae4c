"""HTML views for runbooks, their revisions and runs, and the search page."""

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from retro.models import Role, Stage
from retro.selectors import event_for_user, events_for_user, has_role

from . import diff, selectors, services
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
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            return redirect("runbooks:detail", slug=runbook.slug)
    return render(request, "runbooks/edit.html", {"form": form, "runbook": None})


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
        "linkable": selectors.linkable_entries(request.user, events=events),
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
    conflict = None
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.save_revision(
                runbook=runbook,
                author=request.user,
                body=d["body"],
                base_revision=d["base_revision"],
                summary=d["summary"],
                title=d["title"],
                stage=d["stage"],
                applies_to=form.applies_to(),
                review_days=d["review_days"],
                owner=d["owner"],
            )
        except services.StaleRevision as exc:
            conflict = exc.current
            form.add_error(None, str(exc))
            # Keep the editor's text; point the next save at the newer revision.
            form.data = form.data.copy()
            form.data["base_revision"] = str(conflict.number)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, "Saved as a new revision.")
            return redirect("runbooks:detail", slug=runbook.slug)
    context = {
        "form": form,
        "runbook": runbook,
        "conflict": conflict,
        "conflict_rows": (
            diff.side_by_side(conflict.body, form.data.get("body", "")) if conflict else None
        ),
    }
    return render(request, "runbooks/edit.html", context, status=409 if conflict else 200)


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
