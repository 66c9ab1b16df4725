"""Business-hours calendar rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from followthrough.org.rules import (
    WorkingCalendar,
    add_business_hours,
    add_business_seconds,
    business_hours_between,
    business_seconds_between,
)

UTC_9_TO_5 = WorkingCalendar()
MONDAY_9 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
calendars = st.builds(
    WorkingCalendar,
    timezone=st.sampled_from(["UTC", "Europe/London", "America/New_York", "Asia/Kolkata"]),
    day_start_minute=st.integers(0, 12 * 60),
    day_end_minute=st.integers(13 * 60, 24 * 60),
    working_days=st.frozensets(st.integers(1, 7), min_size=1),
    holidays=st.frozensets(st.dates(date(2025, 1, 1), date(2027, 12, 31)), max_size=20),
)


def test_a_working_day_has_eight_business_hours() -> None:
    assert business_hours_between(UTC_9_TO_5, MONDAY_9, MONDAY_9 + timedelta(days=1)) == 8


def test_weekends_do_not_count() -> None:
    friday_16 = datetime(2026, 3, 6, 16, 0, tzinfo=UTC)
    assert add_business_hours(UTC_9_TO_5, friday_16, 2) == datetime(2026, 3, 9, 10, 0, tzinfo=UTC)


def test_holidays_do_not_count() -> None:
    calendar = WorkingCalendar(holidays=frozenset({date(2026, 3, 3)}))
    assert add_business_hours(calendar, MONDAY_9, 9) == datetime(2026, 3, 4, 10, 0, tzinfo=UTC)


def test_time_before_opening_starts_at_opening() -> None:
    early = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
    assert add_business_hours(UTC_9_TO_5, early, 1) == datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    assert business_hours_between(UTC_9_TO_5, early, MONDAY_9) == 0


def test_business_hours_follow_the_teams_time_zone() -> None:
    london = WorkingCalendar(timezone="Europe/London")
    # In summer London is UTC+1: 09:00 local is 08:00 UTC.
    summer_monday = datetime(2026, 7, 6, 8, 0, tzinfo=UTC)
    assert add_business_hours(london, summer_monday, 8) == datetime(2026, 7, 6, 16, 0, tzinfo=UTC)


def test_a_calendar_must_have_working_time() -> None:
    with pytest.raises(ValueError, match="start before"):
        WorkingCalendar(day_start_minute=600, day_end_minute=600)
    with pytest.raises(ValueError, match="working days"):
        WorkingCalendar(working_days=frozenset())


@given(calendars, instants, st.floats(0, 200 * 3600))
def test_adding_then_measuring_gives_back_the_same_business_time(
    calendar: WorkingCalendar, start: datetime, seconds: float
) -> None:
    end = add_business_seconds(calendar, start, seconds)
    assert end >= start
    assert business_seconds_between(calendar, start, end) == pytest.approx(seconds, abs=1e-3)


@given(calendars, instants, instants)
def test_business_time_is_never_negative_and_never_more_than_wall_time(
    calendar: WorkingCalendar, a: datetime, b: datetime
) -> None:
    seconds = business_seconds_between(calendar, a, b)
    assert seconds >= 0
    assert seconds <= max(0.0, (b - a).total_seconds()) + 1e-6


@given(calendars, instants, instants, instants)
def test_business_time_adds_up_over_consecutive_spans(
    calendar: WorkingCalendar, a: datetime, b: datetime, c: datetime
) -> None:
    a, b, c = sorted((a, b, c))
    whole = business_seconds_between(calendar, a, c)
    parts = business_seconds_between(calendar, a, b) + business_seconds_between(calendar, b, c)
    assert whole == pytest.approx(parts, abs=1e-3)


def test_a_year_of_business_hours_on_a_sparse_calendar_is_far_off_but_never_an_error() -> None:
    """Half an hour a week: a year of business hours (8,760 h) is 17,520 weeks away, past the
    search's 200 years, so the due time is the end of the search: later than any real date."""
    sparse = WorkingCalendar(
        day_start_minute=9 * 60, day_end_minute=9 * 60 + 30, working_days=frozenset({3})
    )
    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    due = add_business_hours(sparse, start, 8760)
    assert due > start + timedelta(days=199 * 365)
    # Within reach, the same calendar is exact: two half-hours are the second Wednesday's end.
    assert add_business_hours(sparse, start, 1) == datetime(2026, 3, 11, 9, 30, tzinfo=UTC)
