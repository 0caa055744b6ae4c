"""Markdown for everything users write: python-markdown, then sanitized with nh3.

One renderer for entries, runbooks and reports, so a fix to sanitizing is made once.
Task lists (`- [ ] step`, `- [x] step`) render as list items with a box mark (no form inputs).
"""

import hashlib
import re
import threading

import markdown as md
import nh3
from django.core.cache import cache

EXTENSIONS = ["tables", "fenced_code", "sane_lists", "nl2br"]
ALLOWED_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "code",
    "del",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "kbd",
    "li",
    "ol",
    "p",
    "pre",
    "s",
    "span",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
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
_SAFE_CLASS = r"[\w\- ]{0,64}"
_CLASS_WORD = re.compile("class", re.IGNORECASE)
_PLAIN_CLASS = re.compile(rf'\bclass="{_SAFE_CLASS}"')
_local = threading.local()


def _checkbox(match: re.Match) -> str:
    done = match.group(1) in "xX"
    prefix = "<p>" if "<p>" in match.group(0) else ""
    mark = "☑" if done else "☐"
    css = "task done" if done else "task"
    return f'<li class="{css}">{prefix}<span class="task-box">{mark}</span> '


def _attribute_filter(tag: str, attr: str, value: str) -> str | None:
    """Keep only harmless class names."""
    if attr == "class" and not re.fullmatch(_SAFE_CLASS, value):
        return None
    return value


def _converter() -> md.Markdown:
    """One Markdown instance per thread, reset before each use: markdown.markdown() builds
    the parser and every extension again on each call (half the cost of a short entry)."""
    converter = getattr(_local, "converter", None)
    if converter is None:
        converter = _local.converter = md.Markdown(extensions=EXTENSIONS, output_format="html")
    return converter


def _classes_are_plain(html: str) -> bool:
    """True when every "class" in the HTML is a plain `class="..."` the filter would keep.

    Then the attribute filter cannot change anything and nh3 can skip calling back into
    Python for every attribute (half its time). Any other spelling (unquoted, single quotes,
    entities, odd characters, upper case) takes the filtered path.
    """
    return len(_CLASS_WORD.findall(html)) == len(_PLAIN_CLASS.findall(html))


def render_markdown(text: str) -> str:
    """Markdown to HTML that is safe to put in any page or PDF."""
    html = _converter().reset().convert(text or "")
    html = _TASK.sub(_checkbox, html)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        attribute_filter=None if _classes_are_plain(html) else _attribute_filter,
        strip_comments=True,
    )


# Bump when the renderer's output changes (extensions, allowed tags), so cached HTML is redone.
RENDERER_VERSION = 1
CACHE_SECONDS = 30 * 24 * 3600


def _cache_key(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return f"md{RENDERER_VERSION}:{digest}"


def render_many(texts: list[str]) -> list[str]:
    """`render_markdown` of each text, through the shared cache (Redis with several web
    processes): text rendered once by any process is not rendered again by another.

    For long documents cut into pieces (runbook sections, checklist steps): python-markdown
    costs ~0.1-0.3 ms a line, and an edit changes one piece.
    """
    keys = [_cache_key(text) for text in texts]
    found = cache.get_many(set(keys))
    missing = {}
    for key, text in zip(keys, texts, strict=True):
        if key not in found and key not in missing:
            missing[key] = render_markdown(text)
    if missing:
        cache.set_many(missing, timeout=CACHE_SECONDS)
    return [found[key] if key in found else missing[key] for key in keys]
