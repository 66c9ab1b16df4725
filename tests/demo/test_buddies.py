"""The demo company's buddy programme: departments join in waves, a department in it accepts
other departments' requests sooner and sends fewer back, and the rounds are paired and asked
"did you meet?" through the programme's own service."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import func, select

from followthrough.db import Database
from followthrough.demo.buddies import DEPARTMENT_WAVES, BuddyPlan, plan_buddies
from followthrough.demo.generator import build_demo
from followthrough.demo.history import END, START
from followthrough.insight.sql import home_teams
from followthrough.org.models import Department, Team
from followthrough.programmes.effect import first_rounds
from followthrough.programmes.models import BuddyAssignment, BuddyEnrolment, BuddyRound

AT = datetime(2026, 8, 5, 10, tzinfo=UTC)
# Policy Admin and Renewals are both Policy Administration; Motor is Claims.
PLAN = BuddyPlan({"Policy Administration": AT}, 0.4)


def test_a_department_in_the_programme_accepts_other_departments_requests_sooner() -> None:
    assert PLAN.accept_share("policy_admin", "motor", AT - timedelta(seconds=1)) == 1.0
    assert PLAN.accept_share("policy_admin", "motor", AT) == pytest.approx(0.6)
    # Its own department's requests, and a department not in it, are as before.
    assert PLAN.accept_share("policy_admin", "renewals", AT) == 1.0
    assert PLAN.accept_share("motor", "policy_admin", AT) == 1.0
    assert (
        BuddyPlan({"Policy Administration": AT}, 0.0).accept_share("policy_admin", "motor", AT)
        == 1.0
    )


def test_a_department_in_the_programme_sends_fewer_requests_back_to_other_departments() -> None:
    assert PLAN.bounce_chance("policy_admin", "motor", 0.3, AT - timedelta(seconds=1)) == 0.3
    assert PLAN.bounce_chance("policy_admin", "motor", 0.3, AT) == pytest.approx(0.18)
    assert PLAN.bounce_chance("policy_admin", "renewals", 0.3, AT) == 0.3
    assert PLAN.bounce_chance("motor", "policy_admin", 0.3, AT) == 0.3


def test_departments_join_in_waves_on_a_round_and_two_are_not_yet_in() -> None:
    plan = plan_buddies(START, END)
    for department, weeks in DEPARTMENT_WAVES.items():
        # Rounds are two weeks apart from the first wave, so one falls on every wave's week.
        assert plan.joined[department] == START + timedelta(weeks=weeks)
    assert len(set(plan.joined.values())) == 3
    assert not {"Underwriting", "People"} & set(plan.joined)


def test_the_small_demo_pairs_the_departments_that_joined_through_the_programme(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    build_demo(url, requests=150, seed=3, console=Console(quiet=True))
    plan = plan_buddies(START, END)
    database = Database(url)
    try:
        with database.unit_of_work(readonly=True) as session:
            names = dict(session.execute(select(Department.id, Department.name)).all())
            # The report's first rounds are the plan's, department by department.
            found = {names[d]: at for d, at in first_rounds(session).items()}
            assert found == plan.joined
            rounds = session.scalar(select(func.count()).select_from(BuddyRound))
            # Weeks 9, 11, ..., 25 of the 26 weeks of history.
            assert rounds == 9
            home = home_teams()
            enrolled = set(
                session.scalars(
                    select(Department.name)
                    .select_from(BuddyEnrolment)
                    .join(home, home.c.person_id == BuddyEnrolment.person_id)
                    .join(Team, Team.id == home.c.team_id)
                    .join(Department, Department.id == Team.department_id)
                )
            )
            assert enrolled == set(plan.joined)
            answers = session.execute(
                select(BuddyAssignment.met, func.count()).group_by(BuddyAssignment.met)
            ).all()
            counted = dict(answers)
            assert counted.get(True, 0) > counted.get(False, 0) > 0
    finally:
        database.dispose()
