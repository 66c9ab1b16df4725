"""The ripple to customers over the hand-made story.

Case CLM-1 (Mrs Jones) opened at T0-2h and waited on R1 (Policy Admin T0 to +4h) and R3 (Policy
Admin +1h to +4h, Claims +4h to +6h, back at Policy Admin +6h to +7h). Its wait, 9 hours, splits:
front line 2 h (before any request), Policy Admin 1 + 3 + 1 = 5 h (two requests at once count
once), Claims 2 h.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from followthrough.db import Database
from followthrough.errors import NotFound
from followthrough.insight import ripple
from followthrough.insight.rules import FRONT_LINE
from tests.conftest import T0
from tests.factories import World
from tests.insight.conftest import Story, at

START, END = T0 - timedelta(days=1), T0 + timedelta(days=6)
NOW = END


def test_a_case_wait_is_split_between_the_teams_that_held_its_requests(
    db: Database, world: World, story: Story
) -> None:
    with db.unit_of_work(readonly=True) as session:
        result = ripple.case_ripple(session, None, story.case, NOW)
    assert result.requests == [story.r1, story.r3]
    assert (result.wait_start, result.wait_end) == (at(-2), at(7))
    assert not result.still_waiting
    assert result.total_hours == pytest.approx(9)
    assert result.hours_by_team == pytest.approx({"Policy Admin": 5, "Claims": 2, FRONT_LINE: 2})


def test_a_case_still_waiting_runs_until_now(db: Database, world: World, story: Story) -> None:
    with db.unit_of_work(readonly=True) as session:
        result = ripple.case_ripple(session, None, story.case, at(5))
    assert result.still_waiting
    # Until +5h: front line 2, Policy Admin 1 + 3, Claims 1.
    assert result.hours_by_team == pytest.approx({"Policy Admin": 4, "Claims": 1, FRONT_LINE: 2})


def test_team_ripple_counts_customers_who_waited_over_the_threshold_because_of_its_queue(
    db: Database, world: World, story: Story
) -> None:
    with db.unit_of_work(readonly=True) as session:
        admin = ripple.team_ripple(
            session, None, world.teams["admin"], START, END, NOW, threshold=timedelta(hours=4)
        )
        claims = ripple.team_ripple(
            session, None, world.teams["claims"], START, END, NOW, threshold=timedelta(hours=4)
        )
        hr = ripple.team_ripple(session, None, world.teams["hr"], START, END, NOW)
    assert (admin.customers_touched, admin.customers_waited_over) == (1, 1)
    assert admin.lines[0].customer == "Mrs Jones"
    assert admin.lines[0].team_hours == pytest.approx(5)
    assert (claims.customers_touched, claims.customers_waited_over) == (1, 0)
    assert (hr.customers_touched, hr.lines) == (0, [])


def test_an_unknown_case_is_not_found(db: Database, world: World, story: Story) -> None:
    with db.unit_of_work(readonly=True) as session, pytest.raises(NotFound):
        ripple.case_ripple(session, None, 99999, NOW)
