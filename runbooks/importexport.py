"""Runbooks as a folder of Markdown files with YAML front matter, so teams keep them in git.

    ---
    title: Fail a contribution path over to B
    stage: contribution
    owner: lead
    applies_to: {feed_kinds: [program], sites: [venue-encode]}
    review_days: 180
    ---
    # Fail a contribution path over to B
    - [ ] ...

The slug is the file name without `.md`.
"""

from dataclasses import dataclass
from pathlib import Path

import yaml
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from retro.models import Stage
from tally.validators import make_slug

from . import services
from .models import Runbook

REQUIRED = ("title", "stage")
KNOWN = {"title", "stage", "owner", "applies_to", "review_days"}


class ImportProblem(Exception):
    """A file that cannot be imported; the message names the problem."""


@dataclass
class FileResult:
    path: Path
    status: str  # created | updated | unchanged | error
    message: str = ""


def split_front_matter(text: str) -> tuple[dict, str]:
    text = text.lstrip("\ufeff")
    if not text.startswith("---"):
        raise ImportProblem("no YAML front matter (the file must start with a '---' line)")
    parts = text.split("\n", 1)
    rest = parts[1] if len(parts) > 1 else ""
    head, sep, body = rest.partition("\n---")
    if not sep:
        raise ImportProblem("the front matter is not closed by a '---' line")
    try:
        meta = yaml.safe_load(head) or {}
    except yaml.YAMLError as exc:
        raise ImportProblem(f"the front matter is not valid YAML: {exc}") from exc
    if not isinstance(meta, dict):
        raise ImportProblem("the front matter must be a mapping of fields")
    return meta, body.split("\n", 1)[1] if "\n" in body else ""


def _parse(path: Path) -> tuple[str, dict, str]:
    meta, body = split_front_matter(path.read_text(encoding="utf-8"))
    missing = [k for k in REQUIRED if not meta.get(k)]
    if missing:
        raise ImportProblem(f"missing front matter field(s): {', '.join(missing)}")
    unknown = set(meta) - KNOWN
    if unknown:
        raise ImportProblem(f"unknown front matter field(s): {', '.join(sorted(unknown))}")
    if meta["stage"] not in Stage.values:
        raise ImportProblem(f"unknown stage {meta['stage']!r} (use {', '.join(Stage.values)})")
    slug = make_slug(path.stem)
    if not slug:
        raise ImportProblem("the file name gives no slug")
    if meta.get("owner"):
        owner = get_user_model().objects.filter(username=meta["owner"]).first()
        if owner is None:
            raise ImportProblem(f"unknown owner {meta['owner']!r}")
        meta["owner"] = owner
    return slug, meta, body


@transaction.atomic
def import_file(path: Path, *, author=None) -> FileResult:
    """Create or update one runbook from a file; an unchanged file makes no revision."""
    slug, meta, body = _parse(path)
    runbook = Runbook.objects.filter(slug=slug).first()
    fields = {
        "title": meta["title"],
        "stage": meta["stage"],
        "owner": meta.get("owner"),
        "applies_to": meta.get("applies_to"),
        "review_days": meta.get("review_days", 180),
    }
    if runbook is None:
        services.create_runbook(
            slug=slug, body=body, author=author, summary=f"Imported from {path.name}", **fields
        )
        return FileResult(path, "created")
    before = runbook.revision_number
    services.save_revision(
        runbook=runbook,
        author=author,
        body=body,
        base_revision=before,
        summary=f"Imported from {path.name}",
        **fields,
    )
    runbook.refresh_from_db()
    return FileResult(path, "updated" if runbook.revision_number != before else "unchanged")


def import_dir(directory: Path, *, author=None, out=None) -> list[FileResult]:
    """Import every *.md file; a bad file is reported and skipped, the others still import."""
    files = sorted(Path(directory).glob("*.md"))
    results = []
    for i, path in enumerate(files, 1):
        try:
            result = import_file(path, author=author)
        except ImportProblem as exc:
            result = FileResult(path, "error", str(exc))
        except ValidationError as exc:
            result = FileResult(path, "error", "; ".join(exc.messages))
        results.append(result)
        if out:
            detail = f": {result.message}" if result.message else ""
            out(f"[{i}/{len(files)}] {path.name}: {result.status}{detail}")
    return results


def export_text(runbook: Runbook) -> str:
    meta = {
        "title": runbook.title,
        "stage": runbook.stage,
        "owner": runbook.owner.username if runbook.owner_id else None,
        "applies_to": {
            key: (runbook.applies_to or {}).get(key, []) for key in ("feed_kinds", "sites")
        },
        "review_days": runbook.review_days,
    }
    meta = {k: v for k, v in meta.items() if v is not None}
    head = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)
    body = runbook.current.body if runbook.current_id else ""
    return f"---\n{head}---\n{body}"


def export_dir(directory: Path, *, out=None) -> int:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    count = 0
    for runbook in Runbook.objects.select_related("current", "owner").order_by("slug"):
        (directory / f"{runbook.slug}.md").write_text(export_text(runbook), encoding="utf-8")
        count += 1
        if out:
            out(f"{runbook.slug}.md (r{runbook.revision_number})")
    return count
