"""XSS: every renderer of user text produces nothing executable, and every page escapes
entry bodies, tags and names."""

from datetime import timedelta
from html.parser import HTMLParser

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retro import services
from retro.models import Feed, Session
from tally.markdown import ALLOWED_TAGS, render_markdown

ATTACKS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    '<iframe src="https://evil.example"></iframe>',
    '<form action="https://evil.example"><input name=x></form>',
    '<a href="#" style="position:fixed;top:0">overlay</a>',
    "<style>body{display:none}</style>",
    '<svg onload="alert(1)"><circle/></svg>',
    '<object data="x.swf"></object><embed src="x">',
    "![img](http://169.254.169.254/latest/meta-data)",
    '<a href="vbscript:msgbox(1)">x</a>',
    '<div onmouseover="alert(1)">hover</div>',
    "`<script>`",
    "<scr<script>ipt>alert(1)</script>",
    '"><script>alert(1)</script>',
    '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
]


class Inspector(HTMLParser):
    """Collects anything executable or fetching in rendered HTML."""

    def __init__(self):
        super().__init__()
        self.problems = []

    def handle_starttag(self, tag, attrs):
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"tag {tag}")
        for name, value in attrs:
            value = (value or "").strip().lower()
            if name.startswith("on") or name in ("style", "src", "srcset", "action", "formaction"):
                self.problems.append(f"attribute {name}")
            if (
                name == "href"
                and not value.startswith(("http://", "https://", "mailto:", "#", "/"))
                and ":" in value.split("/")[0]
            ):
                self.problems.append(f"href {value}")


def problems_in(html: str) -> list[str]:
    inspector = Inspector()
    inspector.feed(html)
    return inspector.problems


def test_known_attacks_render_to_nothing_executable():
    for attack in ATTACKS:
        html = render_markdown(attack)
        assert problems_in(html) == [], (attack, html)
        assert "<script" not in html.lower()


fragments = st.sampled_from(
    [
        *ATTACKS,
        "**bold**",
        "| a | b |\n|---|---|\n| 1 | 2 |",
        "- [ ] step",
        "```\ncode <b>\n```",
        "\n",
        " ",
        "<",
        ">",
        '"',
        "'",
        "&",
    ]
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(fragments, st.text(max_size=20)), max_size=12))
def test_any_mix_of_markdown_and_html_renders_safely(parts):
    html = render_markdown("".join(parts))
    assert problems_in(html) == []


HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_pages_escape_bodies_tags_and_names(viewer_client, operator, event):
    event.name = f"Summit {HOSTILE}"
    event.venue = HOSTILE
    event.save()
    Feed.objects.filter(slug="kn1-asl").update(name=f"ASL {HOSTILE}")
    Session.objects.filter(slug="kn1").update(title=f"Keynote {HOSTILE}")
    entry, _ = services.log_entry(
        event=event,
        author=operator,
        kind="learning",
        body=f"loss {HOSTILE}",
        tags=["srt", "<b>x</b>"],
        occurred_at=event.start + timedelta(hours=3),
        feeds=[event.feeds.get(slug="kn1-asl")],
    )
    pages = [
        "/",
        f"/events/{event.slug}/",
        f"/events/{event.slug}/board/",
        f"/events/{event.slug}/retro/",
        f"/events/{event.slug}/actions/",
        f"/entries/{entry.pk}/",
        "/search/?q=loss",
    ]
    for url in pages:
        response = viewer_client.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        assert '<script>alert("x")' not in body, url
        assert "<img src=x onerror" not in body, url
    api = viewer_client.get(f"/api/v1/entries/{entry.pk}/").json()
    assert api["body"].endswith(HOSTILE)  # the raw Markdown, as JSON text
    assert problems_in(api["body_html"]) == []
