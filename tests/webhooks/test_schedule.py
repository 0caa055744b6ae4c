"""The retry schedule: a plain function of attempts and time since the first attempt."""

import itertools
from datetime import UTC, datetime, timedelta

from webhooks.schedule import LONGEST_WAIT, retry_delay, schedule

FIRST = datetime(2030, 1, 1, tzinfo=UTC)  # any instant: only differences matter


def test_waits_double_from_the_first_delay():
    waits = [retry_delay(attempts=n, first_attempt_at=FIRST, now=FIRST) for n in (1, 2, 3, 4)]
    assert waits == [10, 20, 40, 80]


def test_waits_are_at_most_half_an_hour_apart():
    assert retry_delay(attempts=20, first_attempt_at=FIRST, now=FIRST) == LONGEST_WAIT == 1800


def test_the_last_attempt_falls_at_the_end_of_the_day_then_it_gives_up():
    almost = FIRST + timedelta(hours=24) - timedelta(seconds=7)
    assert retry_delay(attempts=40, first_attempt_at=FIRST, now=almost) == 7
    day_later = FIRST + timedelta(hours=24)
    assert retry_delay(attempts=41, first_attempt_at=FIRST, now=day_later) is None


def test_the_whole_schedule_covers_24_hours_with_growing_waits():
    waits = schedule()
    assert sum(waits) == 24 * 3600
    assert waits[:3] == [10, 20, 40]
    assert all(a <= b for a, b in itertools.pairwise(waits[:-1]))
    assert max(waits) == LONGEST_WAIT
    assert 50 < len(waits) < 60  # about fifty attempts in a day, not thousands


def test_the_window_and_first_delay_are_settings(settings):
    settings.TALLY_WEBHOOK_RETRY_FIRST_SECONDS = 1
    settings.TALLY_WEBHOOK_GIVE_UP_SECONDS = 10
    assert schedule() == [1, 2, 4, 3]
