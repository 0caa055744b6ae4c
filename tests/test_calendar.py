"""The suite does not rot with the calendar: no test module pins a day that is already past
unless it controls the clock it is compared against.

A module controls its clock when it freezes it (time-machine) or hands an explicit `now=` to
the code under test (the pure parsers). Anything else computes its times from now, as
`tests/conftest.py` does for the shared event. Captured telemetry under `captures/` keeps
the days it was recorded on: tests move it with `tests/retime.py`. Days outside the years
Tally accepts at all (tally.times: 1970 to 2999) are hostile input, not clocks, and pass.
"""

import re
from datetime import UTC, date, datetime
from pathlib import Path

from tally.times import FIRST_YEAR

TESTS = Path(__file__).resolve().parent
LITERAL = re.compile(
    r"(?:datetime|date)\(\s*(?P<y>\d{4}),\s*(?P<m>\d{1,2}),\s*(?P<d>\d{1,2})"
    r"|(?P<iso>\d{4}-\d{2}-\d{2})(?=[T\s\"' ]|$)"
)
CLOCK_CONTROL = re.compile(r"\btime_machine\b|\bfreeze_time\b|\bnow=")


def literal_days(text: str) -> list[tuple[int, date]]:
    """(line number, day) of every date literal in a module's source."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        for match in LITERAL.finditer(line):
            try:
                if match["iso"]:
                    day = date.fromisoformat(match["iso"])
                else:
                    day = date(int(match["y"]), int(match["m"]), int(match["d"]))
            except ValueError:
                continue
            found.append((number, day))
    return found


def stale_literals(today: date) -> list[str]:
    """Every past date literal in a module that does not control its clock."""
    stale = []
    for path in sorted(TESTS.rglob("*.py")):
        if "captures" in path.parts or path == Path(__file__).resolve():
            continue
        text = path.read_text()
        if CLOCK_CONTROL.search(text):
            continue
        stale += [
            f"{path.relative_to(TESTS)}:{line}: {day}"
            for line, day in literal_days(text)
            if day < today and day.year >= FIRST_YEAR
        ]
    return stale


def test_no_module_pins_a_past_day_without_controlling_its_clock():
    stale = stale_literals(datetime.now(UTC).date())
    assert not stale, "Dates already past (compute them from now, or freeze the clock):\n" + (
        "\n".join(stale)
    )


def test_the_scan_finds_a_pinned_day_in_every_spelling():
    source = (
        'START = datetime(2026, 11, 23, 15)\nDUE = date(2020, 1, 1)\nT = "2026-11-23T18:00:00Z"\n'
    )
    assert [line for line, _ in literal_days(source)] == [1, 2, 3]
    assert literal_days("version = '3.2.1'; port = 2026") == []
