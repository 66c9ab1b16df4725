"""The shapes of a team's times on its working clock: working hours as the calendar counts them,
and the Kaplan-Meier shape of times some of which are still running."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from followthrough.org.rules import WorkingCalendar, business_hours_between
from followthrough.practice.fitted.shapes import survival_shape, working_clock

LONDON = WorkingCalendar(
    timezone="Europe/London",
    day_start_minute=9 * 60,
    day_end_minute=17 * 60,
    working_days=frozenset({1, 2, 3, 4, 5}),
    holidays=frozenset({date(2026, 8, 31)}),
)
KOLKATA_SATURDAYS = WorkingCalendar(
    timezone="Asia/Kolkata",
    day_start_minute=9 * 60 + 30,
    day_end_minute=18 * 60,
    working_days=frozenset({1, 2, 3, 4, 5, 6}),
)


@pytest.mark.parametrize("calendar", [LONDON, KOLKATA_SATURDAYS])
def test_the_working_clock_counts_the_hours_the_calendar_counts(
    calendar: WorkingCalendar,
) -> None:
    # Over a bank holiday and the end of summer time (25 October 2026).
    since = datetime(2026, 8, 20, tzinfo=UTC)
    until = datetime(2026, 11, 10, tzinfo=UTC)
    rng = random.Random(4)
    pairs = []
    for _ in range(300):
        start = since + timedelta(seconds=rng.uniform(0, (until - since).total_seconds()))
        end = start + timedelta(hours=rng.choice([0.2, 3.0, 30.0, 400.0]) * rng.random())
        pairs.append((start, min(end, until)))
    clock = working_clock(calendar, since, until)
    got = clock.hours_between(
        np.array([s.timestamp() for s, _ in pairs]), np.array([e.timestamp() for _, e in pairs])
    )
    want = [business_hours_between(calendar, s, e) for s, e in pairs]
    assert got.tolist() == pytest.approx(want, abs=1e-6)


def test_times_all_seen_to_end_keep_their_mean_and_order() -> None:
    hours = np.arange(1.0, 401.0)  # 1 .. 400: four to a bin of a hundred
    shape = survival_shape(hours, np.ones(400, dtype=bool), bins=100)
    assert shape.mean == pytest.approx(200.5)
    # Each value is the mean of its four times, over the mean.
    assert shape.values[0] == pytest.approx(2.5 / 200.5, abs=1e-4)
    assert shape.values[-1] == pytest.approx(398.5 / 200.5, abs=1e-4)
    assert sum(shape.values) / 100 == pytest.approx(1.0, abs=1e-4)


def test_a_time_still_running_counts_as_at_least_that_long() -> None:
    # Kaplan-Meier by hand: 1 ends (4 at risk: S = 3/4), 2 ends (3 at risk: S = 1/2), 2 is
    # still running, 3 ends (1 at risk: S = 0). Mass 1/4 at 1, 1/4 at 2, 1/2 at 3: mean 2.25.
    shape = survival_shape(
        np.array([3.0, 2.0, 1.0, 2.0]), np.array([True, False, True, True]), bins=4
    )
    assert shape.mean == pytest.approx(2.25)
    assert shape.values == pytest.approx((1 / 2.25, 2 / 2.25, 3 / 2.25, 3 / 2.25), abs=1e-4)


def test_what_is_still_running_after_the_longest_end_is_put_at_its_longest_wait() -> None:
    # 1 ends (S = 1/2); 5 is still running: its half is put at 5, a floor.
    shape = survival_shape(np.array([1.0, 5.0]), np.array([True, False]), bins=2)
    assert shape.mean == pytest.approx(3.0)
    assert shape.values == pytest.approx((1 / 3, 5 / 3), abs=1e-4)


def test_nothing_ended_is_no_shape() -> None:
    assert survival_shape(np.array([4.0]), np.array([False])).values == ()
    assert survival_shape(np.array([]), np.array([], dtype=bool)).values == ()
