"""Figure: rendering a 2,000-line runbook <= 50 ms.

What an operator waits for, on a scratch PostgreSQL database ``bench_runbook_render`` (Redis
as the render cache when CELERY_BROKER_URL/REDIS is configured, as in production):
- open: GET the runbook page (the whole view: access check, queries, steps, template) for a
  runbook whose current revision is 2,000 lines (~100 headed sections, ~1,000 steps);
- checklist: GET the run page of a run of that revision (every step with its controls);
- render an edit: a new revision's body with one line changed, to sanitized HTML plus its
  steps (render_body + parse_steps, what saving renders; unchanged sections come from the
  shared render cache). The whole save through the service (lock, render, insert, search
  index of 2,000 lines, audit) is shown too, without a target: most of it is PostgreSQL's
  to_tsvector.
Markdown is turned into HTML once per piece of text, when a revision is saved or a run
starts, and kept (RunbookRevision.body_html, RunStep.html, the shared render cache), so none
of these renders the whole text again.

Reported alongside, same run, as baselines:
- cold: tally.markdown.render_markdown on the whole 2,000-line text in one piece, which is
  what the first save of a never-seen text costs and what every page view cost before the
  HTML was kept. It is bound by python-markdown itself (~0.1-0.3 ms a line on this machine);
- the old run page, rendering every step's Markdown at view time.
"""

import statistics
import sys
import time

from common import percentile, report, setup_django

DB_NAME = "bench_runbook_render"
WARMUP, RUNS = 10, 100  # as the other page benchmarks


def runbook_text(lines: int = 2000, salt: str = "") -> str:
    out = []
    section = 0
    while len(out) < lines:
        section += 1
        out += [
            f"## Section {section}: contribution path {'A' if section % 2 else 'B'}{salt}",
            "",
            "| item | value |",
            "|---|---|",
            f"| stream id | `kn1-contrib-{section}` |",
            "",
            "```",
            f"srt-live-transmit srt://:{5000 + section}?latency=500 udp://127.0.0.1:{6000 + section}",
            "```",
            "",
        ]
        out += [
            f"- [ ] Step {section}.{i}: check **SRT latency** and [the dashboard](https://example.test/{i}) <b>now</b>"
            for i in range(10)
        ]
        out.append("")
    return "\n".join(out[:lines])


def timed(fn, rounds: int, warmup: int = 0) -> list[float]:
    times = []
    for i in range(warmup + rounds):
        started = time.perf_counter()
        fn(i)
        if i >= warmup:
            times.append((time.perf_counter() - started) * 1000)
    return times


def fixtures(text: str):
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from retro.models import Event, Membership, Role
    from runbooks import services
    from runbooks.models import Runbook, RunbookRevision, RunbookRun

    user, _ = get_user_model().objects.get_or_create(username="bench-runbook-lead")
    event, _ = Event.objects.get_or_create(
        slug="bench-runbook",
        defaults={"name": "Runbook bench", "start": timezone.now(), "end": timezone.now()},
    )
    Membership.objects.get_or_create(event=event, user=user, defaults={"role": Role.LEAD})
    RunbookRun.objects.filter(runbook__slug="bench-2000").delete()  # runs protect revisions
    Runbook.objects.filter(slug="bench-2000").update(current=None)
    RunbookRevision.objects.filter(runbook__slug="bench-2000").delete()
    Runbook.objects.filter(slug="bench-2000").delete()
    runbook = services.create_runbook(
        title="2,000-line bench runbook",
        slug="bench-2000",
        stage="contribution",
        body=text,
        author=user,
        owner=user,
    )
    run = services.start_run(runbook=runbook, event=event, started_by=user)
    return user, runbook, run


def main() -> int:
    setup_django(DB_NAME)
    from django.test import Client

    from runbooks import selectors, services
    from tally import markdown as tm

    text = runbook_text()
    assert len(text.splitlines()) == 2000
    user, runbook, run = fixtures(text)
    steps = run.steps.count()
    assert steps >= 900, steps
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)

    def get(url):
        def fetch(_):
            response = client.get(url)
            assert response.status_code == 200, response.status_code
            return response

        return fetch

    page = get(f"/runbooks/{runbook.slug}/")(0).content.decode()
    assert page.count('class="task"') + page.count('class="task done"') >= 900
    checklist = get(f"/runbooks/runs/{run.pk}/")(0).content.decode()
    assert checklist.count('class="rb-step ') == steps, "every step on the checklist"
    assert "<strong>SRT latency</strong>" in checklist

    opened = timed(get(f"/runbooks/{runbook.slug}/"), RUNS, WARMUP)
    listed = timed(get(f"/runbooks/runs/{run.pk}/"), RUNS, WARMUP)

    lines = text.splitlines()
    state = {"base": runbook.revision_number, "runbook": runbook}

    def edit(i):
        changed = list(lines)
        k = (i * 97) % len(changed)
        changed[k] = changed[k] + f" (edit {i} {time.time_ns()})"
        services.save_revision(
            runbook=state["runbook"],
            author=user,
            body="\n".join(changed),
            base_revision=state["base"],
            summary=f"edit {i}",
        )
        state["base"] += 1

    saved = timed(edit, RUNS, 2)

    def render_edit(i):
        changed = list(lines)
        changed[(i * 89) % len(changed)] += f" (render {i} {time.time_ns()})"
        body = "\n".join(changed)
        services.render_body(body)
        services.parse_steps(body)

    edited = timed(render_edit, RUNS, 2)

    # Baselines, same run.
    cold = timed(lambda _: tm.render_markdown(text), 8)
    steps_text = [s.text for _, group in selectors.step_groups(run) for s in group]
    old_checklist = timed(lambda _: [tm.render_markdown(text) for text in steps_text], 8)

    def show(name, values):
        print(
            f"  {name:<62} median {statistics.median(values):6.1f} ms"
            f"  p95 {percentile(values, 95):6.1f} ms"
        )

    print(f"2,000-line runbook, {steps} steps:")
    show("open: GET runbook page", opened)
    show("checklist: GET run page", listed)
    show("edit: render a new revision with one line changed", edited)
    show("  (the whole save through the service, no target)", saved)
    show("baseline: render_markdown of the whole text (cold)", cold)
    show("baseline: step Markdown rendered at view time (old run page)", old_checklist)
    results = [
        ("open the runbook page (GET)", opened),
        ("open its run checklist (GET)", listed),
        ("render an edit of one line (new revision)", edited),
    ]
    ok_all = True
    for name, values in results:
        p95 = percentile(values, 95)
        ok = p95 <= 50
        ok_all &= ok
        report(
            f"2,000-line runbook: {name} p95",
            p95,
            "ms",
            "<= 50 ms",
            ok,
            baseline=f"whole text rendered cold p95 {percentile(cold, 95):.0f} ms, median "
            f"{statistics.median(cold):.0f} ms; old run page step rendering median "
            f"{statistics.median(old_checklist):.0f} ms (same run)",
        )
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
