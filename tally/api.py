"""API plumbing shared by every app: one exception handler, so errors look the same."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class Conflict(exceptions.APIException):
    """A write against a stale version or a closed object."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "Conflict."
    default_code = "conflict"


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
    """Map service-level ValidationErrors to 400 with field messages; keep DRF's others."""
    if isinstance(exc, DjangoValidationError):
        return Response(validation_error_to_dict(exc), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    return drf_exception_handler(exc, context)
