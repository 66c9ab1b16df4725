"""The buddy effect report's pure rules: each department's first round, the comparison, and
the weeks measured."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from followthrough.programmes.effect_rules import (
    WEEKS_BEFORE,
    departments_started,
    first_rounds,
    report_weeks,
)

MONDAY = datetime(2026, 3, 2, 9, tzinfo=UTC)


def test_a_department_starts_at_its_earliest_round_whatever_the_order() -> None:
    later = MONDAY + timedelta(weeks=2)
    rows = [(1, later), (2, later), (1, MONDAY), (1, later + timedelta(weeks=2))]
    assert first_rounds(rows) == {1: MONDAY, 2: later}
    assert first_rounds([]) == {}


def test_departments_not_in_any_round_are_the_comparison() -> None:
    started = departments_started([3, 1, 2], {1: MONDAY})
    assert started == {1: MONDAY, 2: None, 3: None}
    assert list(started) == [1, 2, 3]
    # A department grouped in a round but since removed is still counted as taking part.
    assert departments_started([2], {5: MONDAY}) == {2: None, 5: MONDAY}


def test_the_weeks_measured_start_well_before_the_first_round() -> None:
    now = MONDAY + timedelta(weeks=20)
    second = MONDAY + timedelta(weeks=4)
    start, end = report_weeks({1: second, 2: MONDAY}, now)
    assert start == datetime(2025, 12, 8, 9, tzinfo=UTC)  # 12 weeks before 2 March 2026
    assert WEEKS_BEFORE == 12
    assert end == now
    assert report_weeks({}, now) == (now - timedelta(weeks=12), now)
