"""The fitted scenario's calendars: each team's week and time zone, and when requests arrive."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from followthrough.practice.fitted.fit import (
    build_scenario,
    department_id,
    hours_ahead,
    journey_id,
    run_start,
)
from followthrough.practice.fitted.history import (
    History,
    PairHistory,
    TeamHistory,
    changes_within,
)

LONDON = TeamHistory(
    team_id=1,
    name="Claims",
    staff=4,
    opens=9.0,
    closes=17.0,
    working_days="12345",
    received=300,
    accepted=300,
    mean_accept_hours=3.0,
    resolved=300,
    mean_resolve_hours=20.0,
    sd_work_hours=15.0,
    mean_work_hours=17.0,
    offers=300,
    bounces=0,
    handed_on=0,
    resolve_target_hours=16.0,
    timezone="Europe/London",
)
KOLKATA = replace(
    LONDON,
    team_id=2,
    name="Core Systems",
    received=100,
    opens=9.5,
    closes=18.0,
    working_days="123456",
    timezone="Asia/Kolkata",
)


def _desk(since: datetime, until: datetime) -> History:
    return History(
        since, until, (LONDON, KOLKATA), (PairHistory(1, 1, 300), PairHistory(1, 2, 100)), {}
    )


def test_a_team_in_another_time_zone_is_ahead_by_its_offset_from_the_main_one() -> None:
    # Most requests go to London: the clock is London's. In July Kolkata (UTC+5:30) is 4.5
    # hours ahead of London (UTC+1).
    july = _desk(datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 8, 1, tzinfo=UTC))
    assert hours_ahead(july, july.since, july.until) == {1: 0.0, 2: 4.5}


def test_the_offset_is_averaged_over_the_months_simulated_across_the_change_of_clocks() -> None:
    desk = _desk(datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 8, 1, tzinfo=UTC))
    # 20 September to 20 November: London is on summer time until 25 October (35 days at 4.5
    # hours behind Kolkata), then on GMT (26 days at 5.5).
    ahead = hours_ahead(desk, datetime(2026, 9, 20, tzinfo=UTC), datetime(2026, 11, 20, tzinfo=UTC))
    assert ahead[2] == pytest.approx((35 * 4.5 + 26 * 5.5) / 61, abs=0.001)


def test_each_department_works_its_own_week_in_its_own_hours() -> None:
    desk = _desk(datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 8, 1, tzinfo=UTC))
    scenario = build_scenario(desk, {1: 2.0, 2: 4.0}, {1: 10.0, 2: 30.0})
    london = scenario.department(department_id(1))
    kolkata = scenario.department(department_id(2))
    assert london.workdays == (0, 1, 2, 3, 4)
    assert (kolkata.workdays, kolkata.opens, kolkata.closes) == ((0, 1, 2, 3, 4, 5), 9.5, 18.0)
    assert kolkata.hours_ahead == 4.5


def test_a_run_starts_on_the_periods_own_weekday_and_hour_of_the_main_clock() -> None:
    # Sunday 20 September 2026, 00:00 UTC is 01:00 in London (summer time): the clock's week
    # began on Monday 14 September, 6 days and 1 hour before.
    assert run_start("Europe/London", datetime(2026, 9, 20, tzinfo=UTC)) == (
        date(2026, 9, 14),
        6 * 24.0 + 1.0,
    )
    # In the week the clocks go back (Sunday 25 October) the hours are those of the wall clock.
    assert run_start("Europe/London", datetime(2026, 10, 25, 12, tzinfo=UTC)) == (
        date(2026, 10, 19),
        6 * 24.0 + 12.0,
    )
    # Wednesday 20 May, 20:00 UTC is Thursday 01:30 in Kolkata.
    assert run_start("Asia/Kolkata", datetime(2026, 5, 20, 20, tzinfo=UTC)) == (
        date(2026, 5, 18),
        3 * 24.0 + 1.5,
    )


def test_holidays_fall_on_their_days_of_the_runs_clock_and_thin_the_raisers_rate() -> None:
    # Kolkata's holidays of 2 and 20 October and London's of 31 August; the run is 20
    # September to 20 November, whose clock's day 0 is Monday 14 September.
    desk = _desk(datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 9, 30, tzinfo=UTC))
    holidays = {1: (date(2026, 8, 31),), 2: (date(2026, 10, 2), date(2026, 10, 20))}
    desk = replace(desk, teams=tuple(replace(t, holidays=holidays[t.team_id]) for t in desk.teams))
    period = (datetime(2026, 9, 20, tzinfo=UTC), datetime(2026, 11, 20, tzinfo=UTC))
    scenario = build_scenario(desk, {1: 2.0, 2: 4.0}, {1: 10.0, 2: 30.0}, days=61, period=period)
    assert scenario.starts_at == 6 * 24.0 + 1.0
    assert scenario.department(department_id(2)).holidays == (18, 36)
    # London's holiday is before the run: not in it.
    assert scenario.department(department_id(1)).holidays == ()
    # The fit's 91 days held London's holiday, a Monday: its teams raised their requests on
    # 90 days, and the simulation, which raises none on holidays, gets them at that rate.
    rates = {j.id: j.per_day for j in scenario.journeys}
    assert rates[journey_id(1, 2)] == pytest.approx(100 / 90)
    assert rates[journey_id(1, 1)] == pytest.approx(300 / 90)


def test_a_change_counts_if_the_period_has_two_weeks_after_it() -> None:
    since, until = datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 9, 30, tzinfo=UTC)
    changes = {
        1: datetime(2026, 6, 20, tzinfo=UTC),  # before the period: all of it is after
        2: datetime(2026, 8, 1, tzinfo=UTC),
        3: datetime(2026, 9, 16, tzinfo=UTC),  # exactly two weeks before its end
        4: datetime(2026, 9, 17, tzinfo=UTC),  # 13 days: too few
        5: datetime(2026, 10, 5, tzinfo=UTC),  # after it
    }
    assert changes_within(changes, since, until) == {2: changes[2], 3: changes[3]}


def test_the_calibration_measures_a_changed_teams_acceptance_over_the_months_since() -> None:
    # Wednesday 1 July 00:00 UTC is 01:00 in London, 2 days and 1 hour into the clock's week;
    # Claims changed on Wednesday 15 July 00:00 UTC, 14 days later.
    desk = _desk(datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 9, 30, tzinfo=UTC))
    changed = datetime(2026, 7, 15, tzinfo=UTC)
    desk = replace(
        desk,
        teams=tuple(replace(t, accept_since=changed) if t.team_id == 1 else t for t in desk.teams),
    )
    hours = ({1: 2.0, 2: 4.0}, {1: 10.0, 2: 30.0})
    measured = build_scenario(desk, *hours, as_measured=True)
    assert measured.department(department_id(1)).accept_counted_from == 2 * 24.0 + 1.0 + 14 * 24.0
    assert measured.department(department_id(2)).accept_counted_from == 0.0
    # The fitted company itself (what-ifs, the game, the back-test) counts every acceptance.
    assert build_scenario(desk, *hours).department(department_id(1)).accept_counted_from == 0.0
