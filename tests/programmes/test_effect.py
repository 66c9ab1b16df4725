"""The buddy programme's effect report on a real database (SQLite and PostgreSQL): departments
whose people were paired accept offers faster from their first round; the report, at the
department level, recovers the change and names who took part and who did not (yet)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from followthrough.db import Database
from followthrough.history.models import Event
from followthrough.history.payloads import EventKind
from followthrough.org import service as org
from followthrough.programmes.effect import buddy_effect
from followthrough.programmes.models import BuddyAssignment, BuddyRound
from tests.factories import World

START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday
WEEKS = 20
# Department n's first round, in weeks from START (None: never grouped).
WAVES = (7, 7, 7, 11, 11, 11, None, None, None)
BEFORE_HOURS = 10.0
AFTER_HOURS = 6.0  # the programme's built-in effect: offers accepted 4 hours sooner


def build_history(db: Database) -> dict[str, datetime | None]:
    """Nine departments of one team of two; each team accepts twelve offers a week, waiting
    about ten hours, six once its department has taken part. The never-grouped departments'
    people were opted in but left out of a round, which is not taking part."""
    rng = random.Random(5)
    first: dict[str, datetime | None] = {}
    with db.unit_of_work() as session:
        rounds = {
            week: BuddyRound(
                paired_at=START + timedelta(weeks=week, hours=10),
                seed=week,
                people=0,
                groups=0,
                left_out=0,
            )
            for week in (7, 11, 15)
        }
        session.add_all(rounds.values())
        session.flush()
        for n, wave in enumerate(WAVES):
            name = f"Dept {n}"
            department = org.add_department(session, name)
            team = org.add_team(session, department.id, f"Desk {n}")
            people = [
                org.add_person(session, f"d{n}p{i}", f"Person {n}.{i}", f"d{n}p{i}@example.com").id
                for i in range(2)
            ]
            for person in people:
                org.add_member(session, team.id, person)
            if wave is None:
                # Left out of the first round: told so, but not yet taking part.
                session.add(
                    BuddyAssignment(round_id=rounds[7].id, person_id=people[0], group_number=None)
                )
                first[name] = None
            else:
                for week in (w for w in rounds if w >= wave):
                    session.add(
                        BuddyAssignment(
                            round_id=rounds[week].id, person_id=people[0], group_number=n
                        )
                    )
                first[name] = rounds[wave].paired_at
            level = rng.gauss(0, 1)
            for week in range(WEEKS):
                for k in range(12):
                    at = START + timedelta(weeks=week, days=k % 5, hours=11, minutes=k)
                    took_part = wave is not None and at >= START + timedelta(weeks=wave, hours=10)
                    hours = (AFTER_HOURS if took_part else BEFORE_HOURS) + level + rng.gauss(0, 1)
                    session.add(
                        Event(
                            kind=EventKind.ACCEPTED,
                            at=at,
                            team_id=team.id,
                            person_id=people[k % 2],
                            actor_id=people[k % 2],
                            payload={"waited_seconds": hours * 3600},
                        )
                    )
    return first


def test_the_report_recovers_faster_accepts_in_departments_that_took_part(
    db: Database, world: World
) -> None:
    first = build_history(db)
    now = START + timedelta(weeks=WEEKS)
    with db.unit_of_work(readonly=True) as session:
        report = buddy_effect(session, now)
    taking_part = {d.name: d.first_round for d in report.taking_part}
    assert taking_part == {name: at for name, at in first.items() if at is not None}
    assert [d.name for d in report.taking_part][:3] == ["Dept 0", "Dept 1", "Dept 2"]
    not_yet = {d.name for d in report.not_yet}
    assert {"Dept 6", "Dept 7", "Dept 8"} <= not_yet
    assert not_yet.isdisjoint(taking_part)
    assert report.start == START + timedelta(weeks=7 - 12, hours=10)
    assert report.end == now

    by_name = {o.outcome.name: o for o in report.outcomes}
    accept = by_name["accept_hours"]
    assert accept.verdict == "better"
    assert accept.subjects_in == 6
    assert accept.overall is not None
    assert accept.overall.low <= AFTER_HOURS - BEFORE_HOURS <= accept.overall.high
    # No request was resolved, so there is no bounce rate to compare, and the report says so.
    bounce = by_name["bounce_rate"]
    assert bounce.verdict == "too little data"
    assert bounce.summary.startswith("Too little data to tell for bounces per request handled")


def test_with_no_round_there_is_nothing_to_measure(db: Database, world: World) -> None:
    now = START + timedelta(weeks=WEEKS)
    with db.unit_of_work(readonly=True) as session:
        report = buddy_effect(session, now)
    assert report.outcomes == []
    assert report.taking_part == []
    assert {d.name for d in report.not_yet} >= {"Claims", "Policy Administration"}
