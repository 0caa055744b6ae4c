"""The run page's checklist (groups of step rows), built in Python.

A 2,000-line runbook has ~1,000 steps; each row is a dozen template tags (two forms, URLs,
CSRF fields), which the template engine renders at ~0.5 ms a row. Built here with one URL
reverse and one CSRF field for the whole list, the rows cost a few microseconds each. Every
value from users is escaped; the step HTML was sanitized when the run started.
"""

from django.urls import reverse
from django.utils.dateformat import format as format_date
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import localtime

from .models import RunbookRun, RunStep
from .selectors import StepRow


def duration(seconds) -> str:
    """A step's or run's duration: '1h 05m' or '3m 07s'."""
    if seconds is None:
        return ""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {secs:02d}s"


_NUMBER = 987654321  # stands for the step number in the reversed URL

STATE_BADGE = {
    RunStep.State.DONE: "✓ Done",
    RunStep.State.SKIPPED: "⤼ Skipped",
    RunStep.State.PENDING: "Pending",
}


def _recorded(run: RunbookRun, step: StepRow) -> str:
    if step.state == RunStep.State.PENDING:
        return ""
    who = escape(step.recorded_by)
    when = format_date(localtime(step.recorded_at), "H:i:s T") if step.recorded_at else ""
    took = ""
    if run.finished_at and step.seconds is not None:
        took = f" · took {duration(step.seconds)}"
    reason = f" · reason: {escape(step.reason)}" if step.reason else ""
    return f'<p class="rb-recorded muted">{who} · {when}{took}{reason}</p>'


def _actions(step: StepRow, url: str, csrf: str) -> str:
    n = step.number
    if step.state != RunStep.State.PENDING:
        return (
            f'<div class="rb-step-actions"><form method="post" action="{url}">{csrf}'
            '<input type="hidden" name="action" value="undo">'
            '<button type="submit" class="rb-undo">Undo</button></form></div>'
        )
    return (
        f'<div class="rb-step-actions"><form method="post" action="{url}">{csrf}'
        '<input type="hidden" name="action" value="done">'
        '<button class="primary rb-done" type="submit">Done</button></form>'
        '<details class="rb-more"><summary>Skip / note</summary>'
        f'<form method="post" action="{url}" class="stack">{csrf}'
        f'<label for="reason-{n}">Reason for skipping</label>'
        f'<input id="reason-{n}" name="reason" maxlength="500">'
        '<button type="submit" name="action" value="skip">Skip step</button>'
        f'<label for="note-{n}">Note</label>'
        f'<textarea id="note-{n}" name="note" rows="2">{escape(step.note)}</textarea>'
        '<button type="submit" name="action" value="note">Save note</button></form>'
        "</details></div>"
    )


class _RowMaker:
    """Draws step rows with one URL reverse and one CSRF field for all of them."""

    def __init__(self, run: RunbookRun, *, can_run: bool, csrf_token: str):
        self.run = run
        self.can_run = can_run
        url = reverse("runbooks:run-step", args=[run.pk, _NUMBER])
        self.before, self.after = url.rsplit(str(_NUMBER), 1)
        self.csrf = f'<input type="hidden" name="csrfmiddlewaretoken" value="{escape(csrf_token)}">'

    def __call__(self, step: StepRow) -> str:
        url = f"{self.before}{step.number}{self.after}"
        return _row(self.run, step, _actions(step, url, self.csrf) if self.can_run else "")


def checklist(
    run: RunbookRun, groups: list[tuple[str, list[StepRow]]], *, can_run: bool, csrf_token: str
) -> SafeString:
    """Every group of steps under its heading (see templates/runbooks/run.html)."""
    row = _RowMaker(run, can_run=can_run, csrf_token=csrf_token)
    out = []
    for heading, steps in groups:
        out.append('<section class="rb-group">')
        if heading:
            out.append(f"<h2>{escape(heading)}</h2>")
        out.append('<ol class="rb-steps">')
        out.extend(row(step) for step in steps)
        out.append("</ol></section>")
    return mark_safe("".join(out))


def step_rows(
    run: RunbookRun, steps: list[StepRow], *, can_run: bool, csrf_token: str
) -> list[str]:
    """The rows of these steps, drawn as on the page (the live checklist's updates)."""
    row = _RowMaker(run, can_run=can_run, csrf_token=csrf_token)
    return [row(step) for step in steps]


def _row(run: RunbookRun, step: StepRow, actions: str) -> str:
    note = f'<p class="rb-note">📝 {escape(step.note)}</p>' if step.note else ""
    return (
        f'<li id="step-{step.number}" class="rb-step state-{step.state}" '
        f'data-step="{step.number}" data-version="{step.version}"><div class="rb-step-main">'
        f'<span class="rb-step-no" aria-hidden="true">{step.number}</span>'
        f'<div class="rb-step-text">{step.html}</div>'
        f'<span class="rb-state badge">{STATE_BADGE[step.state]}</span></div>'
        f"{_recorded(run, step)}{note}{actions}</li>"
    )
