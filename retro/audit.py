"""The audit log: one function every service calls after a change a lead may ask about."""

from typing import Any

from django.db import models

from .models import AuditLog, Event


def record(
    *,
    actor,
    action: str,
    obj: models.Model,
    event: Event | None = None,
    summary: str = "",
    changes: dict[str, Any] | None = None,
) -> AuditLog:
    """Write one audit line: who did `action` to `obj`, with old/new values."""
    return AuditLog.objects.create(
        event=event,
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        summary=summary[:300],
        changes=changes or {},
    )
