import random

import pytest

from followthrough.practice.sim.calendar import (
    HOURS_PER_WEEK,
    ArrivalProfile,
    finish_time,
    next_opening,
    open_hours_between,
)

WEEKDAYS = frozenset(range(5))
MONDAY_9 = 9.0
FRIDAY = 4 * 24.0


def test_work_inside_opening_hours_finishes_straight_away() -> None:
    assert finish_time(MONDAY_9, 2.0, 9.0, 17.0, WEEKDAYS) == pytest.approx(11.0)


def test_work_pauses_overnight() -> None:
    # Start Monday 16:00 with 3 hours: 1 hour on Monday, 2 hours on Tuesday from 09:00.
    assert finish_time(16.0, 3.0, 9.0, 17.0, WEEKDAYS) == pytest.approx(24.0 + 11.0)


def test_work_left_on_friday_resumes_on_monday() -> None:
    assert finish_time(FRIDAY + 16.0, 2.0, 9.0, 17.0, WEEKDAYS) == pytest.approx(7 * 24.0 + 10.0)


def test_a_request_arriving_at_night_waits_for_opening() -> None:
    assert next_opening(22.0, 9.0, 17.0, WEEKDAYS) == pytest.approx(24.0 + 9.0)
    assert next_opening(3.0, 9.0, 17.0, WEEKDAYS) == pytest.approx(9.0)


def test_closing_time_itself_is_closed() -> None:
    assert next_opening(17.0, 9.0, 17.0, WEEKDAYS) == pytest.approx(24.0 + 9.0)


def test_a_week_offers_five_working_days() -> None:
    assert open_hours_between(0.0, 7 * 24.0, 9.0, 17.0, WEEKDAYS) == pytest.approx(40.0)


def test_arrivals_by_a_profile_come_only_in_its_hours() -> None:
    # All the weight on Monday 10:00-11:00 and Wednesday 14:00-16:00 (twice as much).
    weights = [0.0] * HOURS_PER_WEEK
    weights[10] = 1.0
    weights[2 * 24 + 14] = weights[2 * 24 + 15] = 1.0
    profile = ArrivalProfile(weights)
    now = 0.0
    rng = random.Random(7)
    hours = []
    for _ in range(3000):
        now = profile.after(now, rng.expovariate(1.0 / 5.0))
        hours.append(now % HOURS_PER_WEEK)
    assert all(10 <= h < 11 or 2 * 24 + 14 <= h < 2 * 24 + 16 for h in hours)
    monday = sum(1 for h in hours if h < 11) / len(hours)
    assert monday == pytest.approx(1 / 3, abs=0.03)
    # The mean rate is kept: 3000 gaps of mean 5 hours take about 3000 * 5 hours.
    assert now == pytest.approx(3000 * 5.0, rel=0.05)


def test_a_week_of_mean_rate_hours_is_a_week_from_anywhere() -> None:
    profile = ArrivalProfile([float(h % 24 >= 9 and h % 24 < 17) for h in range(HOURS_PER_WEEK)])
    for now in (9.5, 3 * 24 + 16.25, 5 * 24 + 12.0):
        later = profile.after(now, float(HOURS_PER_WEEK))
        # From a closed hour the walk starts at the next open one.
        assert later % HOURS_PER_WEEK == pytest.approx(profile.after(now, 0.0) % HOURS_PER_WEEK)
        assert later - profile.after(now, 0.0) == pytest.approx(HOURS_PER_WEEK)


def test_a_profile_needs_a_weight_for_every_hour_of_the_week() -> None:
    with pytest.raises(ValueError, match="168"):
        ArrivalProfile([1.0] * 24)
    with pytest.raises(ValueError, match="168"):
        ArrivalProfile([0.0] * HOURS_PER_WEEK)


# Day 2 of the clock is a Wednesday; a team off that day (a holiday) works around it.
WEDNESDAY = 2


def test_work_left_before_a_holiday_resumes_the_day_after() -> None:
    # Tuesday 16:00 with 2 hours: 1 hour on Tuesday, then Thursday 09:00-10:00.
    tuesday_16 = 24.0 + 16.0
    assert finish_time(tuesday_16, 2.0, 9.0, 17.0, WEEKDAYS) == pytest.approx(2 * 24.0 + 10.0)
    assert finish_time(tuesday_16, 2.0, 9.0, 17.0, WEEKDAYS, {WEDNESDAY}) == pytest.approx(
        3 * 24.0 + 10.0
    )


def test_work_started_on_a_holiday_waits_for_the_next_working_day() -> None:
    wednesday_10 = WEDNESDAY * 24.0 + 10.0
    assert finish_time(wednesday_10, 1.0, 9.0, 17.0, WEEKDAYS, {WEDNESDAY}) == pytest.approx(
        3 * 24.0 + 10.0
    )
    assert next_opening(wednesday_10, 9.0, 17.0, WEEKDAYS, {WEDNESDAY}) == pytest.approx(
        3 * 24.0 + 9.0
    )


def test_a_holiday_next_to_a_weekend_adds_its_day_to_the_wait() -> None:
    friday_12 = FRIDAY + 12.0
    # Thursday 16:00 + 2 hours: Thursday's last hour, Friday off, Monday 09:00-10:00.
    thursday_16 = 3 * 24.0 + 16.0
    assert finish_time(thursday_16, 2.0, 9.0, 17.0, WEEKDAYS, {4}) == pytest.approx(7 * 24.0 + 10.0)
    assert next_opening(friday_12, 9.0, 17.0, WEEKDAYS, {4}) == pytest.approx(7 * 24.0 + 9.0)
    # A Monday holiday after the weekend: the next opening is Tuesday's.
    assert next_opening(FRIDAY + 18.0, 9.0, 17.0, WEEKDAYS, {7}) == pytest.approx(8 * 24.0 + 9.0)


def test_a_holiday_takes_its_day_out_of_the_capacity() -> None:
    assert open_hours_between(0.0, 7 * 24.0, 9.0, 17.0, WEEKDAYS, {WEDNESDAY}) == pytest.approx(
        32.0
    )
    # A holiday on a day the team does not work anyway changes nothing; one in the second
    # week counts in the second week only.
    assert open_hours_between(0.0, 7 * 24.0, 9.0, 17.0, WEEKDAYS, {5, 9}) == pytest.approx(40.0)
    assert open_hours_between(0.0, 14 * 24.0, 9.0, 17.0, WEEKDAYS, {9}) == pytest.approx(72.0)
