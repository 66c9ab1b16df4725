"""The buddy programme: opt in or out, pair a round from the silo map, introduce, ask "did you
meet?", and count the answers. Services only flush; the request or job boundary commits.

The friction between departments is read from Insight (relationship health's trust per team
pair and the silo map's bounces per department pair), never worked out again here.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from followthrough.db import row_to_change
from followthrough.errors import InvalidInput, NotFound
from followthrough.insight.health import trust_scores
from followthrough.insight.silo import bounced_requests, load_org
from followthrough.insight.sql import home_teams
from followthrough.notify.service import notify
from followthrough.org.models import Department, Holiday, Person, Team
from followthrough.org.rules import WorkingCalendar
from followthrough.programmes import rules
from followthrough.programmes.models import BuddyAssignment, BuddyEnrolment, BuddyRound

# How far back the silo map's bounces are counted for the weights.
FRICTION_WINDOW = timedelta(days=90)
# A round's groups are asked "did you meet?" this long after they were introduced.
ASK_AFTER = timedelta(days=7)
NOTIFICATION_KIND = "buddy"


def set_enrolment(
    session: Session, person_id: int, *, opted_in: bool, prefers_trio: bool, now: datetime
) -> BuddyEnrolment:
    """Opt a person in or out of the buddy programme (and say whether a trio suits them)."""
    enrolment = row_to_change(
        session,
        BuddyEnrolment,
        {"person_id": person_id},
        lambda: BuddyEnrolment(
            person_id=person_id, opted_in=opted_in, prefers_trio=prefers_trio, changed_at=now
        ),
    )
    enrolment.opted_in = opted_in
    enrolment.prefers_trio = prefers_trio
    enrolment.changed_at = now
    session.flush()
    return enrolment


def department_friction(session: Session, now: datetime) -> dict[tuple[int, int], float]:
    """Friction per department pair from Insight's relationship health and silo map."""
    org = load_org(session)
    trust: dict[tuple[int, int], list[float]] = defaultdict(list)
    for (a_team, b_team), score in sorted(trust_scores(session, now).items()):
        a = org.department_of.get(a_team)
        b = org.department_of.get(b_team)
        if a is not None and b is not None and a != b:
            trust[rules.unordered(a, b)].append(score)
    bounces: dict[tuple[int, int], int] = defaultdict(int)
    for (a, b), requests in sorted(
        bounced_requests(session, now - FRICTION_WINDOW, now, org).items()
    ):
        if a != b:
            bounces[rules.unordered(a, b)] += len(requests)
    evidence = {
        pair: rules.PairEvidence(tuple(trust.get(pair, ())), bounces.get(pair, 0))
        for pair in set(trust) | set(bounces)
    }
    return rules.department_friction(evidence)


@dataclass(frozen=True)
class Participant:
    person_id: int
    name: str
    department_id: int
    department: str
    prefers_trio: bool
    team_id: int


def participants(session: Session) -> list[Participant]:
    """Active people who opted in and belong to a team (their home team, as Insight reads it)."""
    home = home_teams()
    rows = session.execute(
        select(
            Person.id,
            Person.name,
            Team.department_id,
            Department.name,
            BuddyEnrolment.prefers_trio,
            Team.id,
        )
        .join(BuddyEnrolment, BuddyEnrolment.person_id == Person.id)
        .join(home, home.c.person_id == Person.id)
        .join(Team, Team.id == home.c.team_id)
        .join(Department, Department.id == Team.department_id)
        .where(BuddyEnrolment.opted_in.is_(True), Person.active.is_(True))
        .order_by(Person.id)
    )
    return [Participant(*row) for row in rows]


def _weeks(session: Session, team_ids: set[int], start: datetime) -> dict[int, int]:
    # Each team's working week from `start`, in its own zone, days, hours and holidays.
    holidays: dict[int, set[date]] = defaultdict(set)
    for team_id, day in session.execute(
        select(Holiday.team_id, Holiday.day).where(
            Holiday.team_id.in_(team_ids),
            Holiday.day >= (start - timedelta(days=1)).date(),
            Holiday.day <= (start + timedelta(days=8)).date(),
        )
    ):
        holidays[team_id].add(day)
    weeks = {}
    for team in session.scalars(select(Team).where(Team.id.in_(team_ids))):
        calendar = WorkingCalendar(
            timezone=team.timezone,
            day_start_minute=team.day_start_minute,
            day_end_minute=team.day_end_minute,
            working_days=frozenset(int(d) for d in team.working_days),
            holidays=frozenset(holidays[team.id]),
        )
        weeks[team.id] = rules.working_week(calendar, start)
    return weeks


def recent_groups(session: Session, rounds: int) -> list[list[tuple[int, ...]]]:
    """The groups of the last `rounds` rounds, newest first."""
    round_ids = list(
        session.scalars(select(BuddyRound.id).order_by(BuddyRound.id.desc()).limit(rounds))
    )
    grouped: dict[int, dict[int, list[int]]] = {r: defaultdict(list) for r in round_ids}
    for round_id, person_id, number in session.execute(
        select(BuddyAssignment.round_id, BuddyAssignment.person_id, BuddyAssignment.group_number)
        .where(BuddyAssignment.round_id.in_(round_ids), BuddyAssignment.group_number.is_not(None))
        .order_by(BuddyAssignment.person_id)
    ):
        if number is not None:  # the query leaves the left-out out; this tells mypy
            grouped[round_id][number].append(person_id)
    return [[tuple(g) for g in grouped[r].values()] for r in round_ids]


def left_out_last_round(session: Session) -> set[int]:
    latest = session.scalar(select(func.max(BuddyRound.id)))
    if latest is None:
        return set()
    return set(
        session.scalars(
            select(BuddyAssignment.person_id).where(
                BuddyAssignment.round_id == latest, BuddyAssignment.group_number.is_(None)
            )
        )
    )


def pair_round(
    session: Session,
    now: datetime,
    *,
    seed: int | None = None,
    cooldown_rounds: int = rules.DEFAULT_COOLDOWN_ROUNDS,
) -> BuddyRound:
    """Pair everyone who opted in, write the round, and introduce each group by notification
    (which queues the mail); whoever is left out is told they come first next round."""
    people = participants(session)
    if seed is None:
        seed = random.SystemRandom().randrange(2**31)
    week_start = now.replace(second=0, microsecond=0)
    weeks = _weeks(session, {p.team_id for p in people}, week_start)
    recent = rules.pairs_of(g for groups in recent_groups(session, cooldown_rounds) for g in groups)
    first = left_out_last_round(session)
    pairing = rules.pair_people(
        [
            rules.Candidate(
                p.person_id, p.department_id, weeks[p.team_id], p.prefers_trio, p.person_id in first
            )
            for p in people
        ],
        department_friction(session, now),
        recent,
        seed,
    )
    row = BuddyRound(
        paired_at=now,
        seed=seed,
        people=len(people),
        groups=len(pairing.groups),
        left_out=len(pairing.left_out),
    )
    session.add(row)
    session.flush()
    by_id = {p.person_id: p for p in people}
    for number, group in enumerate(pairing.groups, start=1):
        for person in group:
            session.add(BuddyAssignment(round_id=row.id, person_id=person, group_number=number))
            others = [by_id[o] for o in group if o != person]
            names = " and ".join(f"{o.name} ({o.department})" for o in others)
            notify(
                session,
                person,
                NOTIFICATION_KIND,
                f"Your buddy this round: {names}. Find half an hour this week to talk about "
                f"your work and what you need from each other's teams.",
                now,
            )
    for person in pairing.left_out:
        session.add(BuddyAssignment(round_id=row.id, person_id=person, group_number=None))
        notify(
            session,
            person,
            NOTIFICATION_KIND,
            "Nobody was free to be your buddy this round (an odd number, or no one whose working "
            "hours overlap yours). You will be paired first in the next round.",
            now,
        )
    session.flush()
    return row


def ask_did_you_meet(session: Session, now: datetime) -> int:
    """Ask everyone grouped in rounds introduced at least ASK_AFTER ago whether they met; how
    many were asked. Each round is asked once."""
    due = list(
        session.scalars(
            select(BuddyRound).where(
                BuddyRound.asked_at.is_(None), BuddyRound.paired_at <= now - ASK_AFTER
            )
        )
    )
    asked = 0
    for row in due:
        for person_id in session.scalars(
            select(BuddyAssignment.person_id).where(
                BuddyAssignment.round_id == row.id,
                BuddyAssignment.group_number.is_not(None),
                BuddyAssignment.met.is_(None),
            )
        ):
            notify(
                session,
                person_id,
                NOTIFICATION_KIND,
                "Did you meet your buddy? Say so on your buddy page: it tells us whether "
                "the programme works.",
                now,
            )
            asked += 1
        row.asked_at = now
    session.flush()
    return asked


def answer_met(
    session: Session, person_id: int, round_id: int, *, met: bool, now: datetime
) -> BuddyAssignment:
    """Record a person's answer to "did you meet?" for a round they were grouped in."""
    assignment = session.get(BuddyAssignment, (round_id, person_id))
    if assignment is None:
        raise NotFound("you had no buddy in that round", field="round")
    if assignment.group_number is None:
        raise InvalidInput("you were not paired in that round", field="round")
    assignment.met = met
    assignment.answered_at = now
    session.flush()
    return assignment


@dataclass(frozen=True)
class MyRound:
    round_id: int
    paired_at: datetime
    buddies: list[tuple[str, str]]  # (name, department)
    left_out: bool
    met: bool | None


@dataclass(frozen=True)
class MyBuddies:
    opted_in: bool
    prefers_trio: bool
    rounds: list[MyRound]


def my_buddies(session: Session, person_id: int, limit: int = 5) -> MyBuddies:
    """A person's choice and their last `limit` rounds, newest first, with who their buddies
    were."""
    enrolment = session.get(BuddyEnrolment, person_id)
    mine = list(
        session.execute(
            select(BuddyAssignment, BuddyRound.paired_at)
            .join(BuddyRound, BuddyRound.id == BuddyAssignment.round_id)
            .where(BuddyAssignment.person_id == person_id)
            .order_by(BuddyAssignment.round_id.desc())
            .limit(limit)
        )
    )
    home = home_teams()
    rounds = []
    for assignment, paired_at in mine:
        buddies: list[tuple[str, str]] = []
        if assignment.group_number is not None:
            buddies = [
                (name, department or "")
                for name, department in session.execute(
                    select(Person.name, Department.name)
                    .join(BuddyAssignment, BuddyAssignment.person_id == Person.id)
                    .outerjoin(home, home.c.person_id == Person.id)
                    .outerjoin(Team, Team.id == home.c.team_id)
                    .outerjoin(Department, Department.id == Team.department_id)
                    .where(
                        BuddyAssignment.round_id == assignment.round_id,
                        BuddyAssignment.group_number == assignment.group_number,
                        BuddyAssignment.person_id != person_id,
                    )
                    .order_by(Person.name)
                )
            ]
        rounds.append(
            MyRound(
                assignment.round_id,
                paired_at,
                buddies,
                assignment.group_number is None,
                assignment.met,
            )
        )
    return MyBuddies(
        opted_in=bool(enrolment and enrolment.opted_in),
        prefers_trio=bool(enrolment and enrolment.prefers_trio),
        rounds=rounds,
    )


@dataclass(frozen=True)
class RoundSummary:
    round_id: int
    paired_at: datetime
    people: int
    groups: int
    left_out: int
    across_departments: int  # groups with people from more than one department
    answered: int  # groups where someone answered
    met: int  # groups where someone said they met

    @property
    def meet_rate(self) -> float | None:
        return self.met / self.answered if self.answered else None


def round_summaries(session: Session, limit: int = 20) -> list[RoundSummary]:
    """The latest rounds, newest first, with how many groups met (counted per group: a group
    met when any of its people says so)."""
    rounds = list(session.scalars(select(BuddyRound).order_by(BuddyRound.id.desc()).limit(limit)))
    home = home_teams()
    answers: dict[tuple[int, int], list[bool | None]] = defaultdict(list)
    departments: dict[tuple[int, int], set[int | None]] = defaultdict(set)
    for round_id, number, met, department in session.execute(
        select(
            BuddyAssignment.round_id,
            BuddyAssignment.group_number,
            BuddyAssignment.met,
            Team.department_id,
        )
        .outerjoin(home, home.c.person_id == BuddyAssignment.person_id)
        .outerjoin(Team, Team.id == home.c.team_id)
        .where(
            BuddyAssignment.round_id.in_([r.id for r in rounds]),
            BuddyAssignment.group_number.is_not(None),
        )
    ):
        if number is not None:
            answers[(round_id, number)].append(met)
            departments[(round_id, number)].add(department)
    summaries = []
    for r in rounds:
        keys = [k for k in answers if k[0] == r.id]
        group_answers = [rules.group_met(answers[k]) for k in keys]
        summaries.append(
            RoundSummary(
                r.id,
                r.paired_at,
                r.people,
                r.groups,
                r.left_out,
                sum(len(departments[k]) > 1 for k in keys),
                sum(a is not None for a in group_answers),
                sum(a is True for a in group_answers),
            )
        )
    return summaries
