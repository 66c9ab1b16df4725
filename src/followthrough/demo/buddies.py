"""The demo's buddy programme: departments join in waves, their people are paired every two
weeks by the programme's own pairing and say whether they met, with an effect built into the
history: a department in the programme accepts other departments' requests sooner and sends
fewer of them back.

As with the training programme (programme.py), who joins when is fixed before the history is
simulated, so the simulation can ask, at each offer, whether the department receiving it had
joined yet. The enrolments, rounds and answers are then written through the buddy programme's
service, as its people and the sweeper would: the pairs are the product's own, steered by the
silo map of the history written so far. With `effect` 0 the same programme is written and
nothing changes in the history: the effect report must then find no effect."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from followthrough.demo.company import TEAMS, Company
from followthrough.programmes import service as buddies
from followthrough.programmes.models import BuddyAssignment
from followthrough.programmes.scheduled import ROUND_EVERY

# The share of the time to accept another department's request, and of the bounces back to
# another department, that a department saves once it is in the programme.
EFFECT = 0.5
# Weeks after the history's start at which each department's people are first paired; the
# departments not named (Underwriting, People) are not yet in the programme at the end.
DEPARTMENT_WAVES: dict[str, int] = {
    "Policy Administration": 9,
    "Customer Service": 9,
    "Claims": 13,
    "Finance": 13,
    "IT": 17,
}
# People opt in this long before their department's first round.
OPT_IN_BEFORE = timedelta(days=2)
# Every seventh person asks for a trio.
TRIO_EVERY = 7
# Of those asked "did you meet?", the share who answer, and of those the share who met.
ANSWER_CHANCE = 0.9
MET_CHANCE = 0.8
# Answers come this long after the question.
ANSWER_AFTER = timedelta(days=1)

DEPARTMENT_OF_TEAM = {team.key: team.department for team in TEAMS}


@dataclass(frozen=True)
class BuddyPlan:
    """Each department's first round (by name), and how much being in the programme helps."""

    joined: dict[str, datetime]
    effect: float

    def took_part(self, department: str, at: datetime) -> bool:
        joined = self.joined.get(department)
        return joined is not None and at >= joined

    def accept_share(self, team: str, from_team: str, at: datetime) -> float:
        """The share of its usual time to accept that `team` takes for a request from
        `from_team` at `at`: less once its department is in the programme, for another
        department's request."""
        department = DEPARTMENT_OF_TEAM[team]
        if department == DEPARTMENT_OF_TEAM[from_team] or not self.took_part(department, at):
            return 1.0
        return 1.0 - self.effect

    def bounce_chance(self, team: str, to_team: str, usual: float, at: datetime) -> float:
        """The chance `team` sends a request back to `to_team` at `at`, whose usual chance is
        `usual`: lower once `team`'s department is in the programme, towards another one."""
        department = DEPARTMENT_OF_TEAM[team]
        if department == DEPARTMENT_OF_TEAM[to_team] or not self.took_part(department, at):
            return usual
        return usual * (1.0 - self.effect)


def round_times(first: datetime, end: datetime) -> list[datetime]:
    """A round every ROUND_EVERY (the scheduler's two weeks) from `first` until `end`."""
    times = []
    at = first
    while at < end:
        times.append(at)
        at += ROUND_EVERY
    return times


def plan_buddies(start: datetime, end: datetime, *, effect: float = EFFECT) -> BuddyPlan:
    """Each wave's departments join at the first round on or after its week (rounds from the
    first wave on); the history runs from `start` to `end`."""
    rounds = round_times(start + timedelta(weeks=min(DEPARTMENT_WAVES.values())), end)
    joined = {
        department: next(at for at in rounds if at >= start + timedelta(weeks=weeks))
        for department, weeks in DEPARTMENT_WAVES.items()
    }
    return BuddyPlan(joined, effect)


def write_buddies(
    session: Session, company: Company, plan: BuddyPlan, end: datetime, seed: int
) -> None:
    """Opt each department's people in before its first round, pair every round until `end`
    through the programme's service, ask "did you meet?" a week later and record answers."""
    rng = random.Random(seed)
    joining: dict[datetime, list[str]] = {}
    for department, at in plan.joined.items():
        joining.setdefault(at, []).extend(
            h
            for h in sorted(company.home_team)
            if DEPARTMENT_OF_TEAM[company.home_team[h]] == department
        )
    for at in round_times(min(plan.joined.values()), end):
        for n, handle in enumerate(sorted(joining.get(at, ()))):
            buddies.set_enrolment(
                session,
                company.people[handle],
                opted_in=True,
                prefers_trio=n % TRIO_EVERY == TRIO_EVERY - 1,
                now=at - OPT_IN_BEFORE,
            )
        row = buddies.pair_round(session, at, seed=rng.randrange(2**31))
        answered_at = at + buddies.ASK_AFTER + ANSWER_AFTER
        if answered_at >= end:
            continue
        buddies.ask_did_you_meet(session, at + buddies.ASK_AFTER)
        grouped = session.scalars(
            select(BuddyAssignment.person_id)
            .where(BuddyAssignment.round_id == row.id, BuddyAssignment.group_number.is_not(None))
            .order_by(BuddyAssignment.person_id)
        ).all()
        for person_id in grouped:
            if rng.random() < ANSWER_CHANCE:
                met = rng.random() < MET_CHANCE
                buddies.answer_met(session, person_id, row.id, met=met, now=answered_at)
