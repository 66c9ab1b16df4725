"""The demo company's training programme: the communication module rolled out in waves, with an
effect built into the generated history. That the effect report recovers it (and says "no
effect shown" on the demo without it) is checked with the buddy programme's on the same two
full demos, in tests/demo/test_programme_effects.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import func, select

from followthrough.db import Database
from followthrough.demo import company as demo_company
from followthrough.demo.generator import build_demo
from followthrough.demo.history import START
from followthrough.demo.programme import WAVES, Rollout, plan_rollout
from followthrough.learning.models import CohortMember, LearningCohort, LearningModule

AT = datetime(2026, 6, 1, tzinfo=UTC)


def _everyone(team: demo_company.TeamSpec) -> tuple[str, ...]:
    return (team.lead, *((team.duty_owner,) if team.duty_owner else ()), *team.members)


def _company() -> demo_company.Company:
    """The demo company's teams as the generator writes them (lead, duty owner, members)."""
    company = demo_company.Company()
    for team in demo_company.TEAMS:
        company.members[team.key] = _everyone(team)
    return company


def test_completers_keep_the_lifted_share_of_their_would_be_broken_promises() -> None:
    rollout = Rollout({"ann": AT}, 0.5)
    assert rollout.keep_chance("ann", 0.6, AT - timedelta(seconds=1)) == 0.6
    assert rollout.keep_chance("ann", 0.6, AT) == pytest.approx(0.8)
    assert rollout.keep_chance("bob", 0.6, AT) == 0.6
    assert Rollout({"ann": AT}, 0.0).keep_chance("ann", 0.6, AT) == 0.6


def test_the_rollout_deals_people_into_waves_and_a_group_not_yet_reached() -> None:
    company = _company()
    everyone = {h for members in company.members.values() for h in members}
    rollout = plan_rollout(company, START)
    dates = sorted(set(rollout.completed.values()))
    assert dates == [START + timedelta(weeks=w) for w in WAVES]
    not_yet = everyone - set(rollout.completed)
    # One person in four is in no wave.
    assert len(not_yet) == len(everyone) // 4


def test_the_small_demo_writes_the_waves_through_the_programme(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    build_demo(url, requests=150, seed=3, console=Console(quiet=True))
    database = Database(url)
    try:
        with database.unit_of_work(readonly=True) as session:
            names = set(session.scalars(select(LearningModule.name)))
            assert {"Communication", "Feedback", "Business simulation"} <= names
            cohorts = session.scalars(
                select(LearningCohort.name).order_by(LearningCohort.opened_at)
            ).all()
            assert cohorts == [f"Wave {n}" for n in range(1, len(WAVES) + 1)]
            completed = session.scalar(
                select(func.count()).where(CohortMember.completed_at.is_not(None))
            )
            assert completed == len(plan_rollout(_company(), START).completed)
    finally:
        database.dispose()
