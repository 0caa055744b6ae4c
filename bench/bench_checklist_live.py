"""A checklist tick -> visible on a second open copy of the run: p95 <= 2 s, two real browser
sessions (Playwright driving Debian's chromium) against gunicorn with sync workers.

Operator A ticks a step (it goes through the offline send queue); we time until lead B's copy
of the same run shows the step done. The baseline is the poll interval (1 s).
"""

import os
import random
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_live_update import ARGS, free_port, wait_for
from common import ROOT, percentile, report, setup_django

DB = "tally_bench_checklist_live"
TICKS = 40
WARMUP = 3


def open_run(browser, base, username, password, run_id):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit], input[type=submit]")
    page.goto(f"{base}/runbooks/runs/{run_id}/")
    page.wait_for_selector('#live-status[data-state="live"]', timeout=15_000)
    return context, page


def make_run():
    """A fresh runbook of TICKS + WARMUP steps and one run of it on the bench event."""
    from board_data import fresh_event

    from runbooks import services
    from runbooks.models import Runbook

    event, users = fresh_event()
    Runbook.objects.filter(slug="bench-checklist").delete()
    steps = "\n".join(f"- [ ] Check item {n} on the multiviewer" for n in range(TICKS + WARMUP))
    runbook = services.create_runbook(
        title="Bench checklist",
        slug="bench-checklist",
        stage="handoff",
        body=f"# Bench\n\n## Steps\n{steps}\n",
        author=users["lead"],
    )
    return services.start_run(runbook=runbook, event=event, started_by=users["operator"])


def measure(base, run_id, password) -> list[float]:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    delays = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=ARGS)
        ctx_a, a = open_run(browser, base, "bench-operator", password, run_id)
        ctx_b, b = open_run(browser, base, "bench-lead", password, run_id)
        for n in range(1, TICKS + WARMUP + 1):
            started = time.monotonic()
            a.locator(f"#step-{n} button.rb-done").click()
            b.wait_for_selector(f"#step-{n}.state-done", timeout=10_000)
            if n > WARMUP:  # the first ticks warm the workers up
                delays.append(time.monotonic() - started)
            time.sleep(random.uniform(0.1, 1.0))  # land anywhere in B's poll cycle
        ctx_a.close()
        ctx_b.close()
        browser.close()
    return delays


def main() -> int:
    setup_django(DB)
    from board_data import PASSWORD

    if not os.path.exists(shutil.which("chromium") or "/usr/bin/chromium"):
        print("Debian's chromium is missing: cannot measure")
        return 1
    run = make_run()
    from django.db import connections

    connections.close_all()
    port = free_port()
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="tally.settings", TALLY_LOGIN_MAX_FAILURES="1000")
    env.setdefault("SECRET_KEY", secrets.token_urlsafe(64))
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "tally.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", "3", "--worker-class", "sync", "--timeout", "60",
         "--log-level", "warning"],
        cwd=ROOT,
        env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base}/healthz")
        delays = measure(base, run.pk, PASSWORD)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
    p95 = percentile(delays, 95)
    print(
        f"tick -> visible: p50 {percentile(delays, 50):.2f} s, p95 {p95:.2f} s, "
        f"max {max(delays):.2f} s over {len(delays)} ticks (gunicorn, 3 sync workers)"
    )
    ok = p95 <= 2.0
    report(
        "checklist tick -> visible on a second copy p95",
        p95,
        "s",
        "<= 2 s",
        ok,
        baseline="poll interval 1.0 s",
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
