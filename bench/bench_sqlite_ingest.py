"""Embedded default (SQLite, eager tasks): ingest rate while another thread writes entries.

Runs the real services (ingest_batch -> eager process_batch) on a scratch SQLite file, with a
second thread creating retro entries through the ORM at the same time. Counts any
"database is locked" error (target: zero) and the samples stored per second (target 9,000).
"""

import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.pop("DATABASE_URL", None)
os.environ.pop("CELERY_BROKER_URL", None)
os.environ["TALLY_DATA_DIR"] = tempfile.mkdtemp(prefix="tally-bench-sqlite-")
os.environ.setdefault("TALLY_LOG_LEVEL", "WARNING")

from bench.common import report, setup_django

setup_django()

from datetime import UTC, datetime, timedelta  # noqa: E402

from django.db import OperationalError, close_old_connections, connection  # noqa: E402

from integrations import services  # noqa: E402
from integrations.models import IngestBatch  # noqa: E402
from retro.models import Entry, Event, Feed  # noqa: E402

BATCHES = 40
RECORDS = 60  # SRT JSON records per batch, 36 metrics each


DAY = (datetime.now(UTC) - timedelta(days=1)).replace(hour=17, minute=0, second=0, microsecond=0)


def srt_body(batch: int) -> bytes:
    import json

    start = DAY + timedelta(minutes=batch)
    template = Path("tests/integrations/captures/clean-1.srt-stats.jsonl").read_text().splitlines()
    lines = []
    for i in range(RECORDS):
        record = json.loads(template[i % len(template)])
        record["timepoint"] = (start + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%S.%f+0000")
        record["time"] = (batch * RECORDS + i + 1) * 1000
        lines.append(json.dumps(record))
    return ("\n".join(lines) + "\n").encode()


def main() -> int:
    now = datetime.now(UTC)
    event = Event.objects.create(name="Bench", slug="bench", start=now, end=now + timedelta(days=1))
    feed = Feed.objects.create(event=event, slug="f", name="f", stage="contribution")
    bodies = [srt_body(b) for b in range(BATCHES)]
    errors: list[str] = []
    stop = threading.Event()
    entries = [0]

    def writer():
        while not stop.is_set():
            try:
                Entry.objects.create(event=event, kind="learning", body="Writer thread entry")
                entries[0] += 1
            except OperationalError as err:
                errors.append(str(err))
            time.sleep(0.005)
        close_old_connections()
        connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    started = time.perf_counter()
    for body in bodies:
        try:
            services.ingest_batch(event=event, feed=feed, fmt="srt-json", body=body)
        except OperationalError as err:
            errors.append(str(err))
    elapsed = time.perf_counter() - started
    stop.set()
    thread.join()
    samples = sum(IngestBatch.objects.values_list("samples", flat=True))
    pending = IngestBatch.objects.exclude(state="done").count()
    rate = samples / elapsed
    locked = sum("locked" in e for e in errors)
    print(
        f"{samples} samples in {BATCHES} batches, {elapsed:.2f}s; {entries[0]} entries written "
        f"concurrently; {locked} 'database is locked'; {pending} batches not done"
    )
    ok = rate >= 9000 and locked == 0 and pending == 0
    report(
        "sqlite_ingest_rate",
        rate,
        "samples/s",
        ">= 9000, 0 locked",
        ok,
        baseline=f"{entries[0]} concurrent ORM entry writes, {locked} locked errors",
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
