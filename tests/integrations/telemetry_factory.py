"""Payloads in the gear's own formats for detection tests (built like the demo's)."""

import json
from datetime import UTC, datetime, timedelta

from integrations import services
from integrations.models import IngestBatch
from tests.conftest import EVENT_START
from tests.workers import wait_for

# One SRT connection for every batch a test builds: `time` is the socket's age in ms, so that
# consecutive batches read as the same connection (not a reconnect).
SOCKET_OPENED = EVENT_START - timedelta(days=1)


def srt_lines(
    start: datetime, seconds: int, *, step: int = 1, lost=None, skip=None, sid: int = 4242
) -> bytes:
    """srt-live-transmit -pf:json records every `step` s; lost(t) packets lost at offset t."""
    records = []
    for t in range(0, seconds, step):
        if skip and skip(t):
            continue
        moment = start + timedelta(seconds=t)
        packets = 150 * step
        loss = lost(t) if lost else 0
        records.append(
            json.dumps(
                {
                    "sid": sid,
                    "timepoint": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+0000"),
                    "time": int((moment - SOCKET_OPENED).total_seconds() * 1000),
                    "link": {"rtt": 70.0, "bandwidth": 12.0},
                    "recv": {
                        "packets": packets,
                        "packetsLost": loss,
                        "packetsDropped": 0,
                        "packetsRetransmitted": loss,
                        "bytes": packets * 1316,
                        "mbitRate": 1.6,
                    },
                }
            )
        )
    return ("\n".join(records) + "\n").encode()


def eventbridge(alarm_id: str, state: str, moment: datetime) -> bytes:
    arn = "arn:aws:medialive:us-west-2:111122223333:channel:ch-kn1"
    return json.dumps(
        {
            "version": "0",
            "id": f"ev-{alarm_id}-{state}",
            "detail-type": "MediaLive Channel Alert",
            "source": "aws.medialive",
            "account": "111122223333",
            "time": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": "us-west-2",
            "resources": [arn],
            "detail": {
                "alarm_state": state,
                "alarm_id": alarm_id,
                "alert_type": "Input Loss",
                "pipeline": "0",
                "channel_arn": arn,
                "message": "Waiting for RTP input",
            },
        }
    ).encode()


def ingest(event, fmt: str, body: bytes, feed=None, **options) -> IngestBatch:
    """Accept and store a payload through the services the endpoints use."""
    batch, _ = services.ingest_batch(event=event, feed=feed, fmt=fmt, body=body, options=options)
    services.process_batch(batch_id=batch.pk)
    # In a transactional test a real worker may have claimed the batch first (the claim skips
    # a locked row): wait for it to finish rather than reading the row mid-flight.
    wait_for(lambda: IngestBatch.objects.get(pk=batch.pk).state != "pending", timeout=30)
    batch.refresh_from_db()
    assert batch.state == "done", (batch.state, batch.error)
    return batch
