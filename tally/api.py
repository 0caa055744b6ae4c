"""API plumbing shared by every app: one exception handler, so errors look the same."""

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, parsers, permissions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import ClosedForWrites, Moved


class Conflict(exceptions.APIException):
    """A write against a stale version or a closed object."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "Conflict."
    default_code = "conflict"


class ApiDocsPermission(permissions.BasePermission):
    """The schema and its docs page: anyone when TALLY_API_DOCS_PUBLIC, signed-in users else."""

    def has_permission(self, request, view) -> bool:
        return settings.TALLY_API_DOCS_PUBLIC or bool(
            request.user and request.user.is_authenticated
        )


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser: JSON nested too deep to parse, or a NUL in any string, is a 400."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON parse error: nested too deeply.") from None
        if where := _nul_at(data, ""):
            raise exceptions.ValidationError({where: ["Contains a NUL character."]})
        return data


def _nul_at(value, path: str) -> str | None:
    """The path of the first string (key or value) holding a NUL character, or None.
    Iterative: a body nested as deep as the parser allows cannot exhaust the stack here."""
    stack = [(path, value)]
    while stack:
        here, item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return here or "body"
        elif isinstance(item, dict):
            for key, child in item.items():
                name = f"{here}.{key}" if here else str(key)
                if "\x00" in str(key):
                    return name.replace("\x00", "\\0")
                stack.append((name, child))
        elif isinstance(item, list):
            stack.extend((f"{here}[{n}]", child) for n, child in enumerate(item))
    return None


def validation_error_to_dict(error: DjangoValidationError) -> dict:
    """Field messages from a Django ValidationError, non-field ones under 'detail'."""
    if hasattr(error, "error_dict"):
        result = {}
        for field, errors in error.message_dict.items():
            key = "detail" if field == "__all__" else field
            result.setdefault(key, []).extend(errors)
        return result
    return {"detail": error.messages}


def exception_handler(exc, context):
    """Map service-level errors: ValidationError to 400 with field messages, ClosedForWrites to
    409, Moved to a 301/308 redirect, Http404 and PermissionDenied to DRF's; keep DRF's others."""
    if isinstance(exc, DjangoValidationError):
        return Response(validation_error_to_dict(exc), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Moved):
        request = context["request"]
        location = exc.location(request)
        return Response(
            {"detail": f"Moved to {location}."},
            status=exc.status(request),
            headers={"Location": location},
        )
    if isinstance(exc, ClosedForWrites):
        exc = Conflict(str(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    return drf_exception_handler(exc, context)


# Response fields that a serializer leaves out for some objects (e.g. the action fields of
# an entry that is not an action): present in the schema, but not required.
OPTIONAL_RESPONSE_FIELDS = {"Entry": ("owner", "due", "status", "source_entry")}


def mark_optional_fields(result, generator, request, public):
    """drf-spectacular postprocessing hook: un-require OPTIONAL_RESPONSE_FIELDS."""
    schemas = result.get("components", {}).get("schemas", {})
    for name, fields in OPTIONAL_RESPONSE_FIELDS.items():
        component = schemas.get(name)
        if component and "required" in component:
            component["required"] = [f for f in component["required"] if f not in fields]
    return result
