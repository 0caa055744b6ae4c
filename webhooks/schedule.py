"""When a failed delivery is tried again: exponential backoff inside the give-up window."""

from datetime import UTC, datetime, timedelta

from django.conf import settings

LONGEST_WAIT = 30 * 60.0  # below the broker's visibility timeout (1 h), so no early redelivery


def retry_delay(*, attempts: int, first_attempt_at: datetime, now: datetime) -> float | None:
    """Seconds until the next attempt after `attempts` failed ones, or None to give up.

    The waits double from TALLY_WEBHOOK_RETRY_FIRST_SECONDS (10 s, 20 s, 40 s, ...), are at
    most 30 minutes, and the last attempt falls at the end of TALLY_WEBHOOK_GIVE_UP_SECONDS
    (24 h) after the first one.
    """
    window = settings.TALLY_WEBHOOK_GIVE_UP_SECONDS
    left = window - (now - first_attempt_at).total_seconds()
    if left <= 0:
        return None
    first = settings.TALLY_WEBHOOK_RETRY_FIRST_SECONDS
    wait = min(first * 2 ** min(max(attempts - 1, 0), 30), LONGEST_WAIT)
    return min(wait, left)


def schedule() -> list[float]:
    """Every wait of a delivery that always fails at once (for the README and the tests)."""
    start = now = datetime(2000, 1, 1, tzinfo=UTC)
    waits, attempts = [], 1
    while (wait := retry_delay(attempts=attempts, first_attempt_at=start, now=now)) is not None:
        waits.append(wait)
        now += timedelta(seconds=wait)
        attempts += 1
    return waits
