"""The shapes of a team's times on its working clock: working hours as the calendar counts them,
and the Kaplan-Meier shape of times some of which are still running."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from followthrough.org.rules import WorkingCalendar, business_hours_between
from followthrough.practice.fitted.shapes import mean_margin, survival_shape, working_clock

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


def _normal_margin(values: np.ndarray) -> float:
    """The margin a normal approximation gives: 1.96 standard errors, as a share of the mean."""
    return 1.959964 * float(values.std(ddof=1)) / math.sqrt(values.size) / float(values.mean())


def test_a_mean_of_symmetric_times_has_about_the_normal_margin() -> None:
    values = np.random.default_rng(3).normal(10.0, 2.0, 2_000)
    assert mean_margin(values, values.size) == pytest.approx(_normal_margin(values), rel=0.15)


def test_a_mean_of_skewed_times_is_covered_more_often_than_the_normal_margin_covers_it() -> None:
    # Hours to accept as a desk has them: most soon, a few after days (log-normal, sigma 1.5).
    # Over 300 samples of 300 times, how often the true mean is within each margin of the
    # sample's mean, as the back-test asks of a fit exactly right.
    rng = np.random.default_rng(5)
    sigma = 1.5
    true_mean = math.exp(sigma**2 / 2)
    samples = [rng.lognormal(0.0, sigma, 300) for _ in range(300)]

    def covered(margin_of: Callable[[np.ndarray], float]) -> int:
        return sum(abs(true_mean / s.mean() - 1) <= margin_of(s) for s in samples)

    by_bootstrap = covered(lambda s: mean_margin(s, s.size))
    by_normal = covered(_normal_margin)
    # The normal margin is short of 95% here (the skew); the bootstrap's comes closer.
    assert by_normal < 0.92 * len(samples)
    assert by_bootstrap >= by_normal + 0.02 * len(samples)


def test_a_sample_of_the_times_narrows_the_margin_to_the_whole_count() -> None:
    values = np.random.default_rng(8).lognormal(0.0, 1.0, 1_000)
    whole = mean_margin(values, 1_000)
    # The same 1,000 as every fourth of 4,000: each side narrows by half, on the ratio scale.
    assert math.log1p(mean_margin(values, 4_000)) == pytest.approx(math.log1p(whole) / 2)
    # A count below the sample's size is taken as the sample.
    assert mean_margin(values, 10) == whole


def test_a_mean_that_cannot_be_told_has_no_margin() -> None:
    assert mean_margin(np.array([3.0]), 1) == math.inf
    assert mean_margin(np.array([]), 0) == math.inf
    assert mean_margin(np.array([0.0, 0.0, 0.0]), 3) == math.inf
