"""Ingest endpoints (raw bodies, stored before the answer), batch status and telemetry reads."""

import zlib
from datetime import UTC, datetime

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.authentication import (
    BaseAuthentication,
    SessionAuthentication,
    TokenAuthentication,
    get_authorization_header,
)
from rest_framework.response import Response
from rest_framework.views import APIView

from retro import services as retro_services
from retro.models import Event, Role
from retro.selectors import can_edit_entry, entry_for_user, event_for_user, has_role
from tally.api import Conflict

from . import anomalies, review, selectors, services, snapshots
from .formats import FormatError
from .formats.base import decode_text, load_json
from .models import Anomaly, IngestBatch, IngestKey, TelemetrySnapshot


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is over the ingest limit."
    default_code = "payload_too_large"


class IngestKeyAuthentication(BaseAuthentication):
    """`Authorization: Bearer <ingest key>`: the request acts for the key's event only."""

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != b"bearer":
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Malformed Bearer header.")
        key = services.check_ingest_key(parts[1].decode("latin-1"))
        if key is None:
            raise exceptions.AuthenticationFailed("Unknown or revoked ingest key.")
        return AnonymousUser(), key

    def authenticate_header(self, request):
        return "Bearer"


class IngestKeyScheme(OpenApiAuthenticationExtension):
    """Document ingest keys in the OpenAPI schema (HTTP bearer)."""

    target_class = "integrations.api.IngestKeyAuthentication"
    name = "ingestKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "An event's ingest key."}


class LengthRequired(exceptions.APIException):
    status_code = status.HTTP_411_LENGTH_REQUIRED
    default_detail = "Send the body with a Content-Length (no chunked upload)."
    default_code = "length_required"


def read_body(request, limit: int) -> bytes:
    """The raw body, refused over `limit`; gzip is inflated with a hard cap (memory bounded).

    A chunked body without a Content-Length is a 411 (tally.middleware.BodyLimitMiddleware
    answers it first; this keeps the view from reading such a body as empty).
    """
    length = request.META.get("CONTENT_LENGTH") or "0"
    if (
        not request.META.get("CONTENT_LENGTH")
        and "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
    ):
        raise LengthRequired()
    if length.isdigit() and int(length) > limit:
        raise PayloadTooLarge(f"The body is over the {limit}-byte limit.")
    body = request.body
    if len(body) > limit:
        raise PayloadTooLarge(f"The body is over the {limit}-byte limit.")
    if request.META.get("HTTP_CONTENT_ENCODING", "").strip().lower() in ("gzip", "x-gzip"):
        body = gunzip_capped(body, limit)
    return body


def gunzip_capped(body: bytes, limit: int) -> bytes:
    """Inflate gzip, stopping at `limit` bytes: 413 past it, 400 when truncated or corrupt."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as err:
        raise exceptions.ParseError(f"Invalid gzip body: {err}.") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise PayloadTooLarge(f"The gzip body inflates past the {limit}-byte limit.")
    if not inflater.eof:
        raise exceptions.ParseError("Truncated gzip body.")
    return out


def format_error_body(err: FormatError) -> dict:
    return {"detail": str(err), "line": err.line, "field": err.field}


class IngestApi(APIView):
    """Shared plumbing: token (operator+) or an ingest key of the same event."""

    authentication_classes = [TokenAuthentication, SessionAuthentication, IngestKeyAuthentication]
    permission_classes: list = []
    minimum_role = Role.OPERATOR

    def event_for(self, request, slug: str | None) -> Event:
        if isinstance(request.auth, IngestKey):
            if slug is not None and request.auth.event.slug != slug:
                raise Http404("No such event.")
            return request.auth.event
        if not request.user.is_authenticated:
            raise exceptions.NotAuthenticated()
        if not slug:
            raise ValidationError({"event": "Name the event (?event=<slug>) or use an ingest key."})
        return event_for_user(request.user, slug, self.minimum_role)

    def accept(self, request, *, event, fmt, feed=None, options=None) -> Response:
        body = read_body(request, settings.TALLY_INGEST_MAX_BYTES)
        user = request.user if request.user.is_authenticated else None
        try:
            batch, _ = services.ingest_batch(
                event=event,
                feed=feed,
                fmt=fmt,
                body=body,
                content_type=request.content_type or "",
                options=options,
                submitted_by=user,
            )
        except FormatError as err:
            return Response(format_error_body(err), status=status.HTTP_400_BAD_REQUEST)
        return Response({"batch": batch.pk}, status=status.HTTP_202_ACCEPTED)


def _media(request) -> str:
    return (request.content_type or "").split(";")[0].strip().lower()


class SrtIngestApi(IngestApi):
    """srt-live-transmit stats: JSON lines (application/json, x-ndjson) or CSV (text/csv)."""

    @extend_schema(request=None, responses={202: dict})
    def post(self, request, event: str, feed: str):
        ev = self.event_for(request, event)
        fd = get_object_or_404(ev.feeds, slug=feed)
        fmt = "srt-csv" if _media(request) in ("text/csv", "application/csv") else "srt-json"
        counters = request.query_params.get("counters") or None
        if counters not in (None, "auto", "interval", "cumulative"):
            raise ValidationError({"counters": "Use auto, interval or cumulative."})
        return self.accept(request, event=ev, fmt=fmt, feed=fd, options={"counters": counters})


class FfmpegIngestApi(IngestApi):
    """ffmpeg -progress output; ?started_at= stamps blocks from the encoder start."""

    @extend_schema(request=None, responses={202: dict})
    def post(self, request, event: str, feed: str):
        ev = self.event_for(request, event)
        fd = get_object_or_404(ev.feeds, slug=feed)
        started = request.query_params.get("started_at")
        if started:
            started = selectors.parse_time("started_at", started, None).isoformat()
        return self.accept(
            request, event=ev, fmt="ffmpeg", feed=fd, options={"started_at": started or None}
        )


class GenericIngestApi(IngestApi):
    """The generic JSON/CSV format (see README), for a feed or matched by source id."""

    @extend_schema(request=None, responses={202: dict})
    def post(self, request, event: str, feed: str | None = None):
        ev = self.event_for(request, event)
        fd = get_object_or_404(ev.feeds, slug=feed) if feed else None
        fmt = (
            "generic-csv" if _media(request) in ("text/csv", "application/csv") else "generic-json"
        )
        return self.accept(request, event=ev, fmt=fmt, feed=fd)


class GenericFeedIngestApi(GenericIngestApi):
    """The generic format for one feed named in the URL (samples need no source)."""

    @extend_schema(
        request=None, responses={202: dict}, operation_id="v1_ingest_generic_feed_create"
    )
    def post(self, request, event: str, feed: str | None = None):
        return super().post(request, event, feed)


class EventBridgeIngestApi(IngestApi):
    """EventBridge events (one or a JSON list); token + ?event=, or an ingest key."""

    @extend_schema(request=None, responses={202: dict})
    def post(self, request):
        ev = self.event_for(request, request.query_params.get("event"))
        return self.accept(request, event=ev, fmt="eventbridge")


class FirehoseIngestApi(APIView):
    """Amazon Data Firehose HTTP endpoint delivery (CloudWatch Metric Streams JSON)."""

    authentication_classes: list = []
    permission_classes: list = []

    def reply(self, request_id: str, code: int = 200, error: str | None = None):
        body = {"requestId": request_id, "timestamp": int(timezone.now().timestamp() * 1000)}
        if error is not None:
            body["errorMessage"] = error
        return JsonResponse(body, status=code)

    @extend_schema(request=None, responses={200: dict})
    def post(self, request):
        request_id = request.META.get("HTTP_X_AMZ_FIREHOSE_REQUEST_ID", "")[:200]
        key = services.check_ingest_key(request.META.get("HTTP_X_AMZ_FIREHOSE_ACCESS_KEY"))
        if key is None:
            return self.reply(request_id, 401, "Unknown or revoked access key.")
        try:
            body = read_body(request, settings.TALLY_FIREHOSE_MAX_BYTES)
            envelope = load_json(decode_text(body))
            if not isinstance(envelope, dict) or not isinstance(envelope.get("records"), list):
                raise FormatError(
                    "expected an object with a 'records' list", line=1, field="records"
                )
        except exceptions.APIException as err:
            return self.reply(request_id, err.status_code, str(err.detail))
        except FormatError as err:
            return self.reply(request_id, 400, str(err))
        request_id = request_id or str(envelope.get("requestId") or "")[:200]
        if not envelope["records"]:
            return self.reply(request_id)  # nothing to store
        services.ingest_batch(
            event=key.event,
            fmt="firehose",
            body=body,
            content_type=request.content_type or "",
            request_id=request_id or None,
            validate=False,  # the envelope was checked above; datapoints parse in the worker
        )
        return self.reply(request_id)


def batch_json(batch: IngestBatch) -> dict:
    return {
        "id": batch.pk,
        "event": batch.event.slug,
        "feed": batch.feed.slug if batch.feed else None,
        "format": batch.format,
        "state": batch.state,
        "samples": batch.samples,
        "replaced": batch.replaced,
        "duplicates": batch.duplicates,
        "alerts": batch.alerts,
        "rejected": batch.rejected_count,
        "rejected_records": batch.rejected,
        "unmapped_sources": sorted(batch.unmapped),
        "attempts": batch.attempts,
        "error": batch.error,
        "received_at": batch.received_at.isoformat(),
        "processed_at": batch.processed_at.isoformat() if batch.processed_at else None,
    }


class BatchDetailApi(IngestApi):
    """GET an ingest batch's state, counts and error."""

    minimum_role = Role.VIEWER

    @extend_schema(responses={200: dict})
    def get(self, request, pk: int):
        batch = (
            IngestBatch.objects.defer("body").select_related("event", "feed").filter(pk=pk).first()
        )
        if batch is None:
            raise Http404("No such batch.")
        if isinstance(request.auth, IngestKey):
            if request.auth.event_id != batch.event_id:
                raise Http404("No such batch.")
        elif not request.user.is_authenticated:
            raise exceptions.NotAuthenticated()
        elif not has_role(request.user, batch.event, Role.VIEWER):
            raise Http404("No such batch.")
        return Response(batch_json(batch))


class FeedTelemetryApi(APIView):
    """A feed's series over a time range: raw samples or 10 s / 1 min rollups (avg)."""

    @extend_schema(responses={200: dict})
    def get(self, request, event: str, feed: str):
        ev = event_for_user(request.user, event, Role.VIEWER)
        fd = get_object_or_404(ev.feeds, slug=feed)
        query = selectors.series_query(fd, request.query_params, datetime.now(UTC))
        return Response(
            {
                "feed": fd.slug,
                "start": query.start.isoformat(),
                "end": query.end.isoformat(),
                "step": query.step,
                "series": selectors.series(query),
            }
        )


# --- Anomalies, thresholds, entry telemetry (issue 5) ------------------------------------


def anomaly_json(anomaly) -> dict:
    return {
        "id": anomaly.pk,
        "feed": anomaly.feed_slug,
        "kind": anomaly.kind,
        "key": anomaly.key,
        "start": anomaly.start.isoformat(),
        "end": anomaly.end.isoformat() if anomaly.end else None,
        "peak": anomaly.peak,
        "unit": anomaly.unit,
        "source": {"type": anomaly.source, "detail": anomaly.detail},
        "reviewed": anomaly.reviewed,
        "dismissed": anomaly.dismissed_at is not None,
        "dismissed_reason": anomaly.dismissed_reason,
        "entries": anomaly.entry_ids,
        "affected_feeds": anomaly.affected,
    }


class AnomalyListApi(APIView):
    """GET an event's anomalies: ?feed=&reviewed=true|false&kind=."""

    @extend_schema(responses={200: dict})
    def get(self, request, event: str):
        ev = event_for_user(request.user, event, Role.VIEWER)
        items = review.anomalies_for_event(ev, request.query_params)
        return Response({"count": len(items), "results": [anomaly_json(a) for a in items]})


class AnomalyDismissApi(APIView):
    """POST {"reason"}: a lead dismisses an anomaly (it no longer counts as unreviewed)."""

    @extend_schema(request=dict, responses={200: dict})
    def post(self, request, event: str, pk: int):
        ev = event_for_user(request.user, event, Role.LEAD)
        anomaly = get_object_or_404(Anomaly, pk=pk, event=ev)
        reason = request.data.get("reason") if isinstance(request.data, dict) else None
        anomalies.dismiss_anomaly(anomaly=anomaly, actor=request.user, reason=str(reason or ""))
        anomaly = review.annotate_anomalies(ev, [Anomaly.objects.get(pk=pk)])[0]
        return Response(anomaly_json(anomaly))


class ThresholdsApi(APIView):
    """GET the event's anomaly thresholds (viewers); PATCH them (leads; 400 on bad numbers)."""

    @extend_schema(responses={200: dict})
    def get(self, request, event: str):
        ev = event_for_user(request.user, event, Role.VIEWER)
        return Response(anomalies.thresholds_for(ev))

    @extend_schema(request=dict, responses={200: dict})
    def patch(self, request, event: str):
        ev = event_for_user(request.user, event, Role.LEAD)
        if not isinstance(request.data, dict):
            raise ValidationError({"detail": "Send an object of threshold names and numbers."})
        return Response(
            anomalies.set_thresholds(event=ev, actor=request.user, values=dict(request.data))
        )


class EntryTelemetryApi(APIView):
    """GET an entry's frozen telemetry window; PUT {"window": {"start", "end"}} moves it."""

    @extend_schema(responses={200: dict})
    def get(self, request, pk):
        entry = entry_for_user(request.user, pk)
        snapshot = TelemetrySnapshot.objects.filter(entry=entry).first()
        content = None if snapshot else snapshots.build(entry)
        return Response(snapshots.as_json(snapshot, content))

    @extend_schema(request=dict, responses={200: dict})
    def put(self, request, pk):
        entry = entry_for_user(request.user, pk, Role.OPERATOR)
        if not can_edit_entry(request.user, entry):
            raise exceptions.PermissionDenied("Operators change their own entries; leads any.")
        window = request.data.get("window") if isinstance(request.data, dict) else None
        if not isinstance(window, dict):
            raise ValidationError({"window": 'Send {"window": {"start": ..., "end": ...}}.'})
        start = selectors.parse_time("start", _text(window.get("start")), None)
        end = selectors.parse_time("end", _text(window.get("end")), None)
        if start is None or end is None:
            raise ValidationError({"window": "Both start and end are required."})
        if end <= start:
            raise ValidationError({"end": "The window must end after it starts."})
        if not start <= entry.occurred_at <= end:
            raise ValidationError({"window": "The window must contain the entry's time."})
        try:
            retro_services.edit_entry(
                entry=entry,
                editor=request.user,
                version=entry.version,
                window_before=int((entry.occurred_at - start).total_seconds()),
                window_after=int((end - entry.occurred_at).total_seconds()),
            )
        except retro_services.RetroFinalized as err:
            raise Conflict(str(err)) from None
        entry.refresh_from_db()
        lo, hi = snapshots.window_of(entry)
        return Response({"window": {"start": snapshots.iso(lo), "end": snapshots.iso(hi)}})


def _text(value) -> str | None:
    return None if value is None else str(value)
