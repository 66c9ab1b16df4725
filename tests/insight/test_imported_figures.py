"""Imported history is measured honestly, on SQLite and PostgreSQL.

A small log from another desk is imported beside the hand-made story (tests/insight/conftest.py).
The other system's targets are unknown and it sent no update reminders, so its team's scorecard
shows no OLA attainment and no "updates on time" (None, "—"), while the live Policy Admin team
in the same database keeps its own figures, worked out here from the story:

- resolutions: R1 at +4 h and R3 6 h after opening (within the 16 business hours of "Correct a
  policy document"), R2 71 h after opening (past it): OLA 2 of 3;
- updates: cleo's on R1 at +2 h came before any reminder (on time); R2's reminder at +48 h is a
  missed update, and dan's update after it is late: on time 1 of 2.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from followthrough.db import Database
from followthrough.history.importer import import_history
from followthrough.insight import recognition
from followthrough.insight import scorecard as sc
from followthrough.org.models import Team
from followthrough.requests.board import attainment
from tests.conftest import T0
from tests.factories import World
from tests.insight.conftest import Story

START, END = T0 - timedelta(days=1), T0 + timedelta(days=6)
TEAM = "Imported Desk"
# 2 March 2026 is T0's Monday. IMP-2 takes four days: past any target a desk would set, were
# it measured against one.
LOG = f"""case_id,activity,timestamp,resource,group
IMP-1,Open,2026-03-02T09:30:00Z,Ines Import,{TEAM}
IMP-1,Accept,2026-03-02T10:00:00Z,Ines Import,{TEAM}
IMP-1,Update,2026-03-02T11:00:00Z,Ines Import,{TEAM}
IMP-1,Resolve,2026-03-02T13:00:00Z,Ines Import,{TEAM}
IMP-2,Open,2026-03-03T09:00:00Z,Ines Import,{TEAM}
IMP-2,Accept,2026-03-03T10:00:00Z,Ines Import,{TEAM}
IMP-2,Comment,2026-03-05T10:00:00Z,Ines Import,{TEAM}
IMP-2,Resolve,2026-03-06T12:00:00Z,Ines Import,{TEAM}
"""


@pytest.fixture
def imported(db: Database, story: Story, tmp_path: Path) -> int:
    path = tmp_path / "other-desk.csv"
    path.write_text(LOG, encoding="utf-8")
    with db.unit_of_work() as session:
        import_history(session, path, T0 + timedelta(days=7))
    with db.unit_of_work(readonly=True) as session:
        team = session.scalar(select(Team.id).where(Team.name == TEAM))
    assert team is not None
    return team


def _figures(db: Database, world: World, team_id: int) -> sc.Figures:
    with db.unit_of_work(readonly=True) as session:
        card = sc.scorecard(
            session,
            world.actor(session, "lee"),
            "team",
            team_id,
            START,
            END,
            minimum_group_size=1,
        )
    assert card.figures is not None
    return card.figures


def test_an_imported_team_shows_no_ola_and_no_updates_on_time(
    db: Database, world: World, imported: int
) -> None:
    figures = _figures(db, world, imported)
    assert figures.requests_handled == 2
    assert figures.ola_attainment is None
    assert figures.updates_on_time is None
    # Its waits are real: accepted 30 min and 1 h after opening.
    assert figures.mean_accept_hours == pytest.approx(0.75)


def test_a_live_team_in_the_same_database_keeps_its_figures(
    db: Database, world: World, imported: int
) -> None:
    figures = _figures(db, world, world.teams["admin"])
    assert figures.requests_handled == 3
    assert figures.ola_attainment == pytest.approx(2 / 3)
    assert figures.updates_on_time == pytest.approx(1 / 2)


def test_the_lead_board_and_the_digest_count_only_measured_resolutions(
    db: Database, world: World, imported: int
) -> None:
    with db.unit_of_work(readonly=True) as session:
        [week] = attainment(session, imported, T0 + timedelta(days=6), weeks=1)
        [live] = attainment(session, world.teams["admin"], T0 + timedelta(days=6), weeks=1)
        digest = recognition.digest(session, recognition.week_of(T0))
    assert (week.resolved, week.resolved_measured, week.resolved_in_time) == (2, 0, 0)
    assert (live.resolved, live.resolved_measured, live.resolved_in_time) == (3, 3, 2)
    # The week: the story's three resolutions (two in time) and the two imported ones.
    assert (digest.resolved, digest.measured, digest.within_target) == (5, 3, 2)
