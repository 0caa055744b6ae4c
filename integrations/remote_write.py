"""Prometheus remote write in: ``POST /api/v1/ingest/prometheus/{event}/``.

Authenticated like every ingest endpoint (the event's ingest key as ``Authorization: Bearer``,
or an operator's token). The snappy-compressed ``WriteRequest`` is checked as a whole, stored as
a batch (format ``prometheus``) and answered 202; the worker parses it, routes each series to a
feed (formats/prometheus.py) and stores it like every other batch, each (feed, metric, time)
once. Prometheus retries 5xx and drops 4xx, so a body that is not snappy or not a WriteRequest
is a 400 with the reason, and a body in remote-write 2.0 is a 415.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from .api import IngestApi

PROTOCOL_VERSION = "0.1.0"


class RemoteWriteApi(IngestApi):
    """Prometheus remote-write 1.0 requests (Content-Encoding: snappy, protobuf WriteRequest)."""

    @extend_schema(request=None, responses={202: dict, 400: dict, 415: dict})
    def post(self, request, event: str):
        ev = self.event_for(request, event)
        refused = _refused_encoding(request)
        if refused is not None:
            return refused
        response = self.accept(request, event=ev, fmt="prometheus")
        if response.status_code == status.HTTP_400_BAD_REQUEST:
            response.data["detail"] = f"Not a remote-write body: {response.data['detail']}"
        return response


def _refused_encoding(request) -> Response | None:
    """A 415 for encodings this endpoint cannot read (remote-write 2.0, zstd, ...)."""
    encoding = request.META.get("HTTP_CONTENT_ENCODING", "snappy").strip().lower()
    if encoding not in ("snappy", ""):
        return Response(
            {"detail": f"Content-Encoding {encoding!r} is not supported: send snappy."},
            status=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
        )
    content_type = (request.content_type or "").lower()
    if "io.prometheus.write.v2" in content_type:
        return Response(
            {"detail": "Remote-write 2.0 is not supported: send prometheus.WriteRequest (1.0)."},
            status=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
        )
    return None
