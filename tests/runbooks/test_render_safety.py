"""The renderer runbooks use: whatever Markdown/HTML comes in, nothing executable comes out."""

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runbooks.services import parse_steps
from tally.markdown import render_markdown

ATTACKS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD4=)",
    "![x](data:image/svg+xml;base64,PHN2Zz4=)",
    '<iframe src="https://evil.example"></iframe>',
    '<form action="https://evil.example"><input name=a><button>go</button></form>',
    '<div style="position:fixed;top:0;left:0;width:100%;height:100%">x</div>',
    "<style>body{display:none}</style>",
    '<svg onload="alert(1)"><use href="#x"/></svg>',
    '<object data="x.swf"></object><embed src="x">',
    '<meta http-equiv="refresh" content="0;url=https://evil.example">',
    '<a href="vbscript:msgbox(1)">v</a>',
    "<p onclick='x()' class=\"a\" style='color:red'>p</p>",
    '<span class="task done" onmouseover="x()">s</span>',
    "- [ ] <script>alert(1)</script> step",
    "- [x] [ok](javascript:alert(1))",
    "<base href='https://evil.example/'>",
    "<link rel=stylesheet href=//evil.example/x.css>",
    "`<script>`",
    "&lt;script&gt;",
]
PIECES = st.sampled_from(
    [
        *ATTACKS,
        "# Heading",
        "- [ ] step",
        "| a | b |\n|---|---|\n| 1 | 2 |",
        "```\ncode\n```",
        "text",
        "\n",
    ]
)

FORBIDDEN_TAGS = re.compile(
    r"<\s*(script|iframe|form|input|button|style|svg|object|embed|meta|base|link|img|textarea|select)\b",
    re.I,
)
EVENT_ATTR = re.compile(r"<[^>]*\son\w+\s*=", re.I)
STYLE_ATTR = re.compile(r"<[^>]*\sstyle\s*=", re.I)
BAD_URL = re.compile(r"""(href|src)\s*=\s*["']?\s*(javascript|data|vbscript):""", re.I)


def assert_inert(html: str) -> None:
    assert not FORBIDDEN_TAGS.search(html), html
    assert not EVENT_ATTR.search(html), html
    assert not STYLE_ATTR.search(html), html
    assert not BAD_URL.search(html), html


def test_known_attacks_render_inert():
    for attack in ATTACKS:
        assert_inert(render_markdown(attack))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(PIECES, st.text(max_size=40)), max_size=12))
def test_any_mix_of_markdown_and_attacks_renders_inert(parts):
    text = "\n".join(parts)
    assert_inert(render_markdown(text))
    for step in parse_steps(text):
        assert_inert(render_markdown(step.text))


def test_task_lists_tables_and_code_survive():
    html = render_markdown(
        "# Steps\n\n- [ ] one\n- [x] two\n\n| a |\n|---|\n| 1 |\n\n```\n<b>x</b>\n```"
    )
    assert 'class="task"' in html and 'class="task done"' in html
    assert "<table>" in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html


def _reference_render(text: str) -> str:
    """The renderer before it was optimised: a fresh python-markdown and the class filter
    on every attribute. The fast one must give exactly the same HTML."""
    import markdown
    import nh3

    from tally import markdown as tm

    html = markdown.markdown(text or "", extensions=tm.EXTENSIONS, output_format="html")
    html = tm._TASK.sub(tm._checkbox, html)
    return nh3.clean(
        html,
        tags=tm.ALLOWED_TAGS,
        attributes=tm.ALLOWED_ATTRIBUTES,
        url_schemes=tm.URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        attribute_filter=tm._attribute_filter,
        strip_comments=True,
    )


CLASSES = st.sampled_from(
    [
        '<span class="a b">x</span>',
        '<span class="x;y">z</span>',
        "<span class='x;y'>z</span>",
        '<span CLASS="bad;">x</span>',
        "<span class=bad;>x</span>",
        '<span class="a&amp;b">x</span>',
        '<span class="&#x3c;">x</span>',
        '<li class="task done">x</li>',
        '<code class="language-py">x</code>',
        f'<span class="{"a" * 70}">x</span>',
        "```js\nclass A {}\n```",
        "<span subclass='q' class=\"ok\">s</span>",
        "[x]: https://example.test\n\n[link][x]",
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(PIECES, CLASSES, st.text(max_size=40)), max_size=12))
def test_the_fast_renderer_gives_the_same_html_as_the_plain_pipeline(parts):
    text = "\n".join(parts)
    assert render_markdown(text) == _reference_render(text)
    assert render_markdown(text) == _reference_render(text)  # a reused parser keeps no state


def test_sections_from_the_shared_cache_are_what_the_renderer_gives():
    """render_many goes through the configured cache (Redis in CI): cached and fresh agree,
    empty and repeated pieces included, and the order is kept."""
    from runbooks.services import _sections, render_body
    from tally.markdown import render_many

    body = "## A\n- [ ] one **1**\n\n## B\n<script>x</script>\n\n## A\n- [ ] one **1**\n"
    pieces = [*_sections(body), ""]
    fresh = [render_markdown(piece) for piece in pieces]
    assert render_many(pieces) == fresh  # first call renders (or finds an earlier run's)
    assert render_many(pieces) == fresh  # second call is served from the cache
    assert render_body(body) == "\n".join(fresh[:-1])
