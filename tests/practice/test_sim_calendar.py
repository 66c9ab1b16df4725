import pytest

from followthrough.practice.sim.calendar import finish_time, next_opening, open_hours_between

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
