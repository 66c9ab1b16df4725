"""Working hours on the simulation clock: hours since Monday 00:00 of the first week."""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Collection, Sequence

HOURS_PER_DAY = 24.0
HOURS_PER_YEAR = 365.0 * HOURS_PER_DAY


def next_opening(
    now: float,
    opens: float,
    closes: float,
    workdays: Collection[int],
    closed: Collection[int] = frozenset(),
) -> float:
    """The earliest moment at or after `now` when a team working these hours is at work.
    `closed` are the days (counted from day 0 of the clock) it does not work: its holidays."""
    day = int(now // HOURS_PER_DAY)
    hour = now - day * HOURS_PER_DAY
    if day % 7 in workdays and day not in closed:
        if opens <= hour < closes:
            return now
        if hour < opens:
            return day * HOURS_PER_DAY + opens
    day += 1
    while day % 7 not in workdays or day in closed:
        day += 1
    return day * HOURS_PER_DAY + opens


def finish_time(
    start: float,
    work: float,
    opens: float,
    closes: float,
    workdays: Collection[int],
    closed: Collection[int] = frozenset(),
) -> float:
    """When `work` hours started at `start` are done, if work pauses outside working hours
    and on the `closed` days."""
    # Written as one loop without calls: it runs for most requests in the engine.
    day = int(start // HOURS_PER_DAY)
    hour = start - day * HOURS_PER_DAY
    if day % 7 in workdays and hour < closes and day not in closed:
        if hour < opens:
            hour = opens
        if work <= closes - hour:
            return day * HOURS_PER_DAY + hour + work
        work -= closes - hour
    span = closes - opens
    while True:
        day += 1
        if day % 7 in workdays and day not in closed:
            if work <= span:
                return day * HOURS_PER_DAY + opens + work
            work -= span


def open_hours_between(
    start: float,
    end: float,
    opens: float,
    closes: float,
    workdays: Collection[int],
    closed: Collection[int] = frozenset(),
) -> float:
    """Working hours inside [start, end): the capacity one person offers in that window."""
    total = 0.0
    day = int(start // HOURS_PER_DAY)
    while day * HOURS_PER_DAY < end:
        if day % 7 in workdays and day not in closed:
            low = max(start, day * HOURS_PER_DAY + opens)
            high = min(end, day * HOURS_PER_DAY + closes)
            total += max(0.0, high - low)
        day += 1
    return total


HOURS_PER_WEEK = 168


class ArrivalProfile:
    """Arrivals that come more in some hours of the week than in others (a desk's mornings):
    one weight per hour of the week, Monday 00:00-01:00 first. A gap drawn at the mean rate is
    walked along the week's cumulative weight, so each hour gets its weight's share of the
    arrivals and the mean rate per week stays the same."""

    def __init__(self, weights: Sequence[float]) -> None:
        if len(weights) != HOURS_PER_WEEK or not sum(weights) > 0:
            raise ValueError(f"an arrival profile is {HOURS_PER_WEEK} weights, one above 0")
        scale = HOURS_PER_WEEK / sum(weights)
        self._weights = [w * scale for w in weights]
        self._before = [0.0, *itertools.accumulate(self._weights)]
        self._week = self._before[-1]  # 168 but for rounding

    def after(self, now: float, gap: float) -> float:
        """When `gap` hours at the mean rate have passed since `now`."""
        weeks, hour = divmod(now, HOURS_PER_WEEK)
        at = min(int(hour), HOURS_PER_WEEK - 1)
        target = self._before[at] + (hour - at) * self._weights[at] + gap
        more, rest = divmod(target, self._week)
        # The hour the rest of the weight falls in: never one of weight 0.
        at = bisect.bisect_right(self._before, rest) - 1
        return (weeks + more) * HOURS_PER_WEEK + at + (rest - self._before[at]) / self._weights[at]
