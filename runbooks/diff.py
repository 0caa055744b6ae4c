"""Differences between two revisions' bodies, as rows templates and the API render.

Text stays plain here; templates escape it (autoescape) and the API returns it as JSON.
"""

import difflib
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    kind: str  # equal | replace | delete | insert
    left_no: int | None
    left: str
    right_no: int | None
    right: str


@dataclass(frozen=True)
class Line:
    kind: str  # equal | delete | insert | gap
    left_no: int | None
    right_no: int | None
    text: str


def side_by_side(old: str, new: str, context: int = 3) -> list[Row]:
    """Changed lines paired left/right, with `context` unchanged lines around them."""
    a, b = old.splitlines(), new.splitlines()
    rows: list[Row] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for group in matcher.get_grouped_opcodes(context):
        if rows:
            rows.append(Row("gap", None, "…", None, "…"))
        for tag, i1, i2, j1, j2 in group:
            span = max(i2 - i1, j2 - j1)
            for k in range(span):
                li, rj = i1 + k, j1 + k
                left = a[li] if li < i2 else ""
                right = b[rj] if rj < j2 else ""
                rows.append(
                    Row(
                        tag,
                        li + 1 if li < i2 else None,
                        left,
                        rj + 1 if rj < j2 else None,
                        right,
                    )
                )
    return rows


def inline(old: str, new: str, context: int = 3) -> list[Line]:
    """One column: removed lines then added lines, with context around each change."""
    a, b = old.splitlines(), new.splitlines()
    lines: list[Line] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for group in matcher.get_grouped_opcodes(context):
        if lines:
            lines.append(Line("gap", None, None, "…"))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines.extend(Line("equal", i + 1, j1 + (i - i1) + 1, a[i]) for i in range(i1, i2))
                continue
            lines.extend(Line("delete", i + 1, None, a[i]) for i in range(i1, i2))
            lines.extend(Line("insert", None, j + 1, b[j]) for j in range(j1, j2))
    return lines


def unified(old: str, new: str, old_name: str, new_name: str) -> str:
    return "\n".join(
        difflib.unified_diff(old.splitlines(), new.splitlines(), old_name, new_name, lineterm="")
    )


def stats(old: str, new: str) -> dict:
    added = removed = 0
    for line in inline(old, new, context=0):
        added += line.kind == "insert"
        removed += line.kind == "delete"
    return {"added": added, "removed": removed}
