"""What the buddy programme's effect report needs decided, as pure functions: when each
department first took part, and the weeks the report measures."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

# Weeks measured before the first round, so each department has a "before" to compare with.
WEEKS_BEFORE = 12


def first_rounds(grouped: Iterable[tuple[int, datetime]]) -> dict[int, datetime]:
    """Each department's first round: the earliest round in which someone from it was put in a
    group (a person left out of a round has not yet taken part)."""
    first: dict[int, datetime] = {}
    for department_id, paired_at in grouped:
        if department_id not in first or paired_at < first[department_id]:
            first[department_id] = paired_at
    return first


def departments_started(
    departments: Iterable[int], first: dict[int, datetime]
) -> dict[int, datetime | None]:
    """Every department, with its first round or None (not yet in the programme): those not
    yet in it are the comparison."""
    return {d: first.get(d) for d in sorted(set(departments) | set(first))}


def report_weeks(first: dict[int, datetime], now: datetime) -> tuple[datetime, datetime]:
    """From WEEKS_BEFORE weeks before the first round (or before now, with no round) to now."""
    earliest = min(first.values(), default=now)
    return earliest - timedelta(weeks=WEEKS_BEFORE), now
