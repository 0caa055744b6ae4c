"""Markdown as the plain text a search snippet shows: no `**`, `#`, `- [ ]` or link targets."""

import re

_RULES = [
    (re.compile(r"```+|~~~+"), " "),  # code fences
    # Images: their alt text; links: their text (also when a snippet cuts the target short).
    (re.compile(r"!\[([^\]]*)\]\([^)\s]*\)?"), r"\1"),
    (re.compile(r"\[([^\]]+)\]\([^)\s]*\)?"), r"\1"),
    (re.compile(r"<(https?://[^>\s]+)>"), r"\1"),  # autolinks
    (re.compile(r"(?m)^\s{0,3}#{1,6}\s+"), ""),  # headings
    (re.compile(r"(?m)^\s{0,3}>\s?"), ""),  # quotes
    (re.compile(r"(?m)^\s*(?:[-*+]|\d+[.)])\s+\[[ xX]\]\s+"), ""),  # task items
    (re.compile(r"(?m)^\s*(?:[-*+]|\d+[.)])\s+"), ""),  # list items
    # The same marks inside a line: a snippet's fragments start anywhere in the text.
    (re.compile(r"(?:^|(?<=\s))[-*+]\s+\[[ xX]\]\s+"), ""),
    (re.compile(r"(?:^|(?<=\s))#{1,6}\s+"), ""),
    (re.compile(r"(?m)^\s*(?:-{3,}|\*{3,}|_{3,})\s*$"), " "),  # rules
    (re.compile(r"(?m)^\s*\|?(?:\s*:?-{3,}:?\s*\|)+\s*:?-*:?\s*$"), " "),  # table rules
    (re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1"), r"\2"),  # bold
    (re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])"), r"\1"),  # italic
    (re.compile(r"(?<![\w_])_(?=\S)(.+?)(?<=\S)_(?![\w_])"), r"\1"),
    (re.compile(r"~~(?=\S)(.+?)(?<=\S)~~"), r"\1"),  # strikethrough
    (re.compile(r"`+([^`]*)`+"), r"\1"),  # inline code
    (re.compile(r"\s\|\s"), " · "),  # table cells
]


def plain_text(markdown: str) -> str:
    """The words of a Markdown text, its syntax left out, on one line."""
    text = markdown or ""
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    text = text.replace("`", "").replace("**", "")
    return " ".join(text.split())
