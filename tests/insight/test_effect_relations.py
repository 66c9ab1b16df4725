"""Relationship health as an outcome of the programme effect report: each department's week
holds how the other departments experienced it, and its figure is that week's trust score."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from followthrough.insight.effect import RELATIONSHIP_HEALTH, Relations, Week, weekly_relations
from followthrough.insight.health import DayCount
from followthrough.insight.rules import Tally

MONDAY = datetime(2026, 3, 2, tzinfo=UTC)
STARTS = [MONDAY + timedelta(weeks=n) for n in range(3)]
# Teams 1 and 2 are department 10, team 3 department 20, team 4 department 30.
DEPARTMENT_OF = {1: 10, 2: 10, 3: 20, 4: 30}


def test_an_experience_counts_for_the_department_it_was_of_in_the_week_of_its_day() -> None:
    days = [
        DayCount(3, 1, "2026-03-02", True, 4),  # department 20 experienced 10, week 1
        DayCount(3, 2, "2026-03-08", False, 1),  # ... on Sunday, still week 1
        DayCount(4, 1, "2026-03-09", False, 2),  # department 30 experienced 10, week 2
        DayCount(1, 3, "2026-03-16", True, 5),  # 10 experienced 20, week 3
        DayCount(1, 2, "2026-03-03", False, 7),  # inside department 10: counts for nobody
        DayCount(3, 1, "2026-03-01", False, 9),  # before the first week
    ]
    assert weekly_relations(days, DEPARTMENT_OF, STARTS) == {
        (10, 1): Relations(4, 1),
        (10, 2): Relations(0, 2),
        (20, 3): Relations(5, 0),
    }


def test_at_team_level_a_team_is_its_own_subject() -> None:
    days = [DayCount(1, 2, "2026-03-04", True, 3), DayCount(2, 2, "2026-03-04", True, 1)]
    assert weekly_relations(days, {}, STARTS) == {(2, 1): Relations(3, 0)}


def test_the_weeks_figure_is_the_trust_score_of_its_experiences() -> None:
    def health(positive: int, negative: int) -> float | None:
        return RELATIONSHIP_HEALTH.value(Week(Tally(), Relations(positive, negative)))

    # Beta(r + 1, s + 1)'s mean: 3 good and 1 bad read (3 + 1) / (4 + 2).
    assert health(3, 1) == pytest.approx(4 / 6)
    assert health(0, 2) == pytest.approx(1 / 4)
    assert health(0, 0) is None
