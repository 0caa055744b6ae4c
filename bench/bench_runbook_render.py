"""Figure: rendering a 2,000-line runbook (Markdown → sanitized HTML, plus its steps) ≤ 50 ms.

Measured in one run, medians and p95 over repeated renders of the same 2,000-line text:
- baseline: the renderer as it was (markdown.markdown() building a parser per call, nh3
  calling the class filter back for every attribute);
- cold: tally.markdown.render_markdown on the whole text, and runbooks.services.render_body
  with its section cache emptied (what saving a new runbook costs in a fresh process);
- incremental: render_body + parse_steps of a new revision with one line changed (the
  unchanged sections come from the cache: what saving an edit costs);
- the parts: python-markdown alone and nh3 alone, to show where the cold time goes.
The cold figure is the one the issue names; it is reported as measured.
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
            f"## Section {section}: contribution path {'A' if section % 2 else 'B'}",
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


def timed(fn, rounds: int) -> list[float]:
    times = []
    for i in range(rounds):
        t0 = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - t0) * 1000)
    return times


def main() -> int:
    setup_django()
    import markdown
    import nh3

    from runbooks.services import _render_section, parse_steps, render_body
    from tally import markdown as tm

    text = runbook_text()
    assert len(text.splitlines()) == 2000
    lines = text.splitlines()

    def baseline(_):
        html = markdown.markdown(text, extensions=tm.EXTENSIONS, output_format="html")
        return nh3.clean(
            tm._TASK.sub(tm._checkbox, html),
            tags=tm.ALLOWED_TAGS,
            attributes=tm.ALLOWED_ATTRIBUTES,
            url_schemes=tm.URL_SCHEMES,
            link_rel="noopener noreferrer nofollow",
            attribute_filter=tm._attribute_filter,
            strip_comments=True,
        )

    assert baseline(0) == tm.render_markdown(text), "the fast renderer must not change output"

    def cold_body(_):
        _render_section.cache_clear()
        render_body(text)
        parse_steps(text)

    def edited(i):
        changed = list(lines)
        k = (i * 97) % len(changed)
        changed[k] = changed[k] + f" (edit {i})"
        body = "\n".join(changed)
        render_body(body)
        parse_steps(body)

    rounds = 12
    html = markdown.markdown(text, extensions=tm.EXTENSIONS, output_format="html")
    base = timed(baseline, rounds)
    cold = timed(lambda _: tm.render_markdown(text), rounds)
    cold_sections = timed(cold_body, rounds)
    md_only = timed(lambda _: tm._converter().reset().convert(text), rounds)
    nh3_only = timed(lambda _: nh3.clean(html, tags=tm.ALLOWED_TAGS), rounds)
    _render_section.cache_clear()
    render_body(text)
    incremental = timed(edited, 40)

    def show(name, values):
        print(
            f"  {name:<58} median {statistics.median(values):6.1f} ms  p95 {percentile(values, 95):6.1f} ms"
        )

    print("2,000-line runbook:")
    show("baseline: markdown.markdown() + nh3 with class filter", base)
    show("cold: render_markdown (whole text)", cold)
    show("cold: render_body + parse_steps, section cache empty", cold_sections)
    show("  part: python-markdown convert (reused parser)", md_only)
    show("  part: nh3.clean (no filter)", nh3_only)
    show("incremental: new revision, one line changed", incremental)
    cold_p95 = percentile(cold, 95)
    report(
        "runbook render 2000 lines, cold (render_markdown) p95",
        cold_p95,
        "ms",
        "<= 50 ms",
        cold_p95 <= 50,
        baseline=f"previous renderer p95 {percentile(base, 95):.0f} ms, median "
        f"{statistics.median(base):.0f} ms (same run)",
    )
    inc_p95 = percentile(incremental, 95)
    report(
        "runbook render 2000 lines, new revision with one line changed (section cache) p95",
        inc_p95,
        "ms",
        "<= 50 ms",
        inc_p95 <= 50,
        baseline=f"cold render_body p95 {percentile(cold_sections, 95):.0f} ms (same run)",
    )
    return 0 if cold_p95 <= 50 else 1


if __name__ == "__main__":
    sys.exit(main())
