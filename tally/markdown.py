"""Markdown for everything users write: python-markdown, then sanitized with nh3.

One renderer for entries, runbooks and reports, so a fix to sanitizing is made once.
Task lists (`- [ ] step`, `- [x] step`) render as list items with a box mark (no form inputs).
"""

import re

import markdown as md
import nh3

EXTENSIONS = ["tables", "fenced_code", "sane_lists", "nl2br"]
ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "i", "kbd", "li", "ol", "p", "pre", "s", "span", "strong", "sub",
    "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "code": {"class"},
    "li": {"class"},
    "ul": {"class"},
    "td": {"align"},
    "th": {"align"},
    "span": {"class"},
}
URL_SCHEMES = {"http", "https", "mailto"}
_TASK = re.compile(r"<li>\s*(?:<p>)?\[( |x|X)\]\s")


def _checkbox(match: re.Match) -> str:
    done = match.group(1) in "xX"
    prefix = "<p>" if "<p>" in match.group(0) else ""
    mark = "☑" if done else "☐"
    css = "task done" if done else "task"
    return f'<li class="{css}">{prefix}<span class="task-box">{mark}</span> '


def _attribute_filter(tag: str, attr: str, value: str) -> str | None:
    """Keep only harmless class names."""
    if attr == "class" and not re.fullmatch(r"[\w\- ]{0,64}", value):
        return None
    return value


def render_markdown(text: str) -> str:
    """Markdown to HTML that is safe to put in any page or PDF."""
    html = md.markdown(text or "", extensions=EXTENSIONS, output_format="html")
    html = _TASK.sub(_checkbox, html)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        attribute_filter=_attribute_filter,
        strip_comments=True,
    )
