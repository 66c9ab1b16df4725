"""Did the buddy programme change anything between departments? The departments that took
part (from their first round) against those not (yet) in it, on relationship health with the
other departments, bounce rate and time to accept an offer: Insight's difference-in-differences
report at the department level, never worked out again here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from followthrough.insight.effect import (
    OUTCOME_NAMES,
    RELATIONSHIP_HEALTH,
    OutcomeEffect,
    programme_effect,
)
from followthrough.insight.sql import home_teams
from followthrough.org.models import Department, Team
from followthrough.programmes import effect_rules
from followthrough.programmes.models import BuddyAssignment, BuddyRound

# The measures the buddy programme is meant to move: better relations with the other
# departments, fewer requests sent back, faster accepts.
OUTCOMES = (RELATIONSHIP_HEALTH, OUTCOME_NAMES["bounce_rate"], OUTCOME_NAMES["accept_hours"])


@dataclass(frozen=True)
class DepartmentStart:
    name: str
    first_round: datetime | None


@dataclass(frozen=True)
class BuddyEffect:
    start: datetime
    end: datetime
    departments: list[DepartmentStart]  # those taking part first (by first round), then the rest
    outcomes: list[OutcomeEffect]  # empty when no round has been paired yet

    @property
    def taking_part(self) -> list[DepartmentStart]:
        return [d for d in self.departments if d.first_round is not None]

    @property
    def not_yet(self) -> list[DepartmentStart]:
        return [d for d in self.departments if d.first_round is None]


def first_rounds(session: Session) -> dict[int, datetime]:
    """Each department's first round, by the home team of the people grouped in it."""
    home = home_teams()
    rows = session.execute(
        select(Team.department_id, BuddyRound.paired_at)
        .select_from(BuddyAssignment)
        .join(BuddyRound, BuddyRound.id == BuddyAssignment.round_id)
        .join(home, home.c.person_id == BuddyAssignment.person_id)
        .join(Team, Team.id == home.c.team_id)
        .where(BuddyAssignment.group_number.is_not(None))
        .distinct()
    )
    return effect_rules.first_rounds((int(d), at) for d, at in rows)


def teams_joined(session: Session) -> dict[int, datetime]:
    """Each team's department's first round: from then on the programme may have changed how
    the team accepts other departments' requests, so the simulation fitted to the desk reads
    the team's times from then (`practice.fitted.history.read_history`'s changes)."""
    first = first_rounds(session)
    return {
        team_id: first[department]
        for team_id, department in session.execute(select(Team.id, Team.department_id))
        if department in first
    }


def buddy_effect(session: Session, now: datetime) -> BuddyEffect:
    """The buddy programme's effect on the departments that took part, measured up to `now`."""
    first = first_rounds(session)
    names = {row.id: row.name for row in session.execute(select(Department.id, Department.name))}
    started = effect_rules.departments_started(names, first)
    start, end = effect_rules.report_weeks(first, now)
    outcomes = (
        programme_effect(session, "department", started, start, end, outcomes=OUTCOMES)
        if first
        else []
    )
    ordered = sorted(
        started.items(),
        key=lambda item: (item[1] is None, item[1] or now, names.get(item[0], "")),
    )
    departments = [DepartmentStart(names.get(d, "A removed department"), at) for d, at in ordered]
    return BuddyEffect(start, end, departments, outcomes)
