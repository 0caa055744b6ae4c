"""Validators shared by every app's models."""

from django.core.validators import RegexValidator
from django.utils.text import slugify

# Slugs end up in URLs, file names and other tools' configuration: plain ASCII only, so no
# look-alike letters, invisible characters or path parts ("../") can hide in one.
validate_slug = RegexValidator(
    r"\A[a-z0-9]+(?:-[a-z0-9]+)*\Z",
    "Use lowercase ASCII letters, digits and single hyphens (e.g. kn1-contrib-a).",
    code="invalid_slug",
)


def make_slug(text: str, max_length: int = 100) -> str:
    """A slug validate_slug accepts, made from a title or file name ("" when nothing is left)."""
    ascii_only = slugify(text).replace("_", "-")
    return "-".join(part for part in ascii_only.split("-") if part)[:max_length].strip("-")
