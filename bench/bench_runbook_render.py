"""Figure: rendering a 2,000-line runbook (Markdown → sanitized HTML, plus its steps) ≤ 50 ms.

Baseline: python-markdown alone on the same text (no task lists, no nh3), same run.
"""

import statistics
import sys
import time

from common import percentile, report, setup_django


def runbook_text(lines: int = 2000) -> str:
    out = []
    section = 0
    while len(out) < lines:
        section += 1
        out += [
            f"## Section {section}: contribution path {section % 2 and 'A' or 'B'}",
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


def main() -> int:
    setup_django()
    from runbooks.services import _render_section, parse_steps, render_body
    from tally.markdown import render_markdown

    text = runbook_text()
    assert len(text.splitlines()) == 2000
    lines = text.splitlines()
    cold, edited = [], []
    for i in range(20):
        _render_section.cache_clear()
        t0 = time.perf_counter()
        render_markdown(text)
        cold.append((time.perf_counter() - t0) * 1000)
    _render_section.cache_clear()
    render_body(text)
    for i in range(40):
        # A new revision: one step changed somewhere in the runbook.
        changed = list(lines)
        k = (i * 97) % len(changed)
        changed[k] = changed[k] + f" (edit {i})"
        body = "\n".join(changed)
        t0 = time.perf_counter()
        render_body(body)
        parse_steps(body)
        edited.append((time.perf_counter() - t0) * 1000)
    p95 = percentile(edited, 95)
    report(
        "runbook render 2000 lines (new revision, one line changed) p95",
        p95,
        "ms",
        "<= 50 ms",
        p95 <= 50,
        baseline=f"cold full render (python-markdown + nh3, no section cache) p95 {percentile(cold, 95):.0f} ms, median {statistics.median(cold):.0f} ms",
    )
    return 0 if p95 <= 50 else 1


if __name__ == "__main__":
    sys.exit(main())
