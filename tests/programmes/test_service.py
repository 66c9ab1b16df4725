"""The buddy programme on a real database (SQLite and PostgreSQL): opt in and out, rounds with
introductions by notification (mail queued), cooldown, the left-out person first next round,
"did you meet?" asked and counted, and the round on the sweeper's schedule."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from followthrough.db import Database
from followthrough.errors import InvalidInput, NotFound
from followthrough.notify.models import Notification, OutboxMessage
from followthrough.programmes import rules
from followthrough.programmes.scheduled import ROUND_EVERY, pair_buddies_when_due
from followthrough.programmes.service import (
    answer_met,
    ask_did_you_meet,
    department_friction,
    my_buddies,
    pair_round,
    recent_groups,
    round_summaries,
    set_enrolment,
)
from tests.conftest import T0, Clock
from tests.factories import World
from tests.insight.conftest import tell_story

# Claims: asha, carl; Policy Administration: cleo, lee; People: hana; Operations: tess.
DEPARTMENT = {
    "asha": "Claims",
    "carl": "Claims",
    "cleo": "Policy Administration",
    "lee": "Policy Administration",
    "hana": "People",
    "tess": "Operations",
}


def opt_in(db: Database, world: World, clock: Clock, *handles: str) -> None:
    with db.unit_of_work() as session:
        for handle in handles:
            set_enrolment(
                session, world.people[handle], opted_in=True, prefers_trio=False, now=clock.now
            )


def buddy_notes(db: Database, person_id: int) -> list[str]:
    with db.unit_of_work() as session:
        return list(
            session.scalars(
                select(Notification.message)
                .where(Notification.person_id == person_id, Notification.kind == "buddy")
                .order_by(Notification.id)
            )
        )


def test_a_round_pairs_people_who_opted_in_across_departments_and_introduces_them(
    db: Database, world: World, clock: Clock
) -> None:
    opt_in(db, world, clock, *DEPARTMENT)
    with db.unit_of_work() as session:
        # Opted out, and opted in without a team: neither is paired.
        set_enrolment(
            session, world.people["ada"], opted_in=False, prefers_trio=False, now=clock.now
        )
        set_enrolment(
            session, world.people["otto"], opted_in=True, prefers_trio=False, now=clock.now
        )
        row = pair_round(session, clock.now, seed=1)
        assert (row.people, row.groups, row.left_out) == (6, 3, 0)
        groups = recent_groups(session, 1)[0]
    handle_of = {v: k for k, v in world.people.items()}
    for group in groups:
        departments = {DEPARTMENT[handle_of[p]] for p in group}
        assert len(departments) == len(group)
    for handle in DEPARTMENT:
        (note,) = buddy_notes(db, world.people[handle])
        assert note.startswith("Your buddy this round:")
    assert buddy_notes(db, world.people["ada"]) == []
    assert buddy_notes(db, world.people["otto"]) == []
    with db.unit_of_work() as session:
        queued = session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .join(Notification, Notification.id == OutboxMessage.notification_id)
            .where(Notification.kind == "buddy", OutboxMessage.channel == "email")
        )
        assert queued == 6
        mine = my_buddies(session, world.people["asha"])
    assert mine.opted_in
    (latest,) = mine.rounds
    ((name, department),) = latest.buddies
    assert department != "Claims"
    assert name in buddy_notes(db, world.people["asha"])[0]


def test_nobody_meets_the_same_buddy_again_within_the_cooldown(
    db: Database, world: World, clock: Clock
) -> None:
    opt_in(db, world, clock, *DEPARTMENT)
    seen: list[frozenset[tuple[int, int]]] = []
    for number in range(3):
        with db.unit_of_work() as session:
            pair_round(session, clock.advance(days=14), seed=number, cooldown_rounds=2)
            seen.append(rules.pairs_of(recent_groups(session, 1)[0]))
    assert not seen[1] & seen[0]
    assert not seen[2] & (seen[0] | seen[1])


def test_the_person_left_out_is_told_and_paired_first_next_round(
    db: Database, world: World, clock: Clock
) -> None:
    opt_in(db, world, clock, "asha", "cleo", "hana", "tess", "lee")
    with db.unit_of_work() as session:
        first = pair_round(session, clock.now, seed=3)
        assert first.left_out == 1
    handle_of = {v: k for k, v in world.people.items()}
    with db.unit_of_work() as session:
        grouped = {p for g in recent_groups(session, 1)[0] for p in g}
    (left,) = [
        world.people[h]
        for h in ("asha", "cleo", "hana", "tess", "lee")
        if world.people[h] not in grouped
    ]
    assert "paired first in the next round" in buddy_notes(db, left)[0]
    for seed in range(5):  # whatever the draw, they come first
        with db.unit_of_work() as session:
            pair_round(session, clock.advance(days=14), seed=seed, cooldown_rounds=0)
            grouped_now = {p for g in recent_groups(session, 1)[0] for p in g}
            assert left in grouped_now, handle_of[left]
            (left,) = [
                world.people[h]
                for h in ("asha", "cleo", "hana", "tess", "lee")
                if world.people[h] not in grouped_now
            ]


def test_did_you_meet_is_asked_once_a_week_later_and_counted_per_group(
    db: Database, world: World, clock: Clock
) -> None:
    opt_in(db, world, clock, *DEPARTMENT)
    with db.unit_of_work() as session:
        row = pair_round(session, clock.now, seed=2)
        round_id = row.id
        assert ask_did_you_meet(session, clock.now + timedelta(days=6)) == 0
        assert ask_did_you_meet(session, clock.advance(days=7)) == 6
        assert ask_did_you_meet(session, clock.advance(days=1)) == 0
        groups = recent_groups(session, 1)[0]
    with db.unit_of_work() as session:
        # One group: one says yes, the other no (it counts as met); another: no; third: silent.
        answer_met(session, groups[0][0], round_id, met=True, now=clock.now)
        answer_met(session, groups[0][1], round_id, met=False, now=clock.now)
        answer_met(session, groups[1][0], round_id, met=False, now=clock.now)
    with db.unit_of_work() as session:
        (summary,) = round_summaries(session)
    assert (summary.groups, summary.answered, summary.met) == (3, 2, 1)
    assert summary.meet_rate == pytest.approx(0.5)
    assert summary.across_departments == 3
    assert any("Did you meet your buddy?" in n for n in buddy_notes(db, groups[2][0]))


def test_only_someone_who_was_paired_can_answer(db: Database, world: World, clock: Clock) -> None:
    opt_in(db, world, clock, "asha", "cleo", "hana")
    with db.unit_of_work() as session:
        row = pair_round(session, clock.now, seed=1)
        round_id = row.id
    with db.unit_of_work() as session, pytest.raises(NotFound):
        answer_met(session, world.people["otto"], round_id, met=True, now=clock.now)
    with db.unit_of_work() as session:
        grouped = {p for g in recent_groups(session, 1)[0] for p in g}
    (left,) = {world.people[h] for h in ("asha", "cleo", "hana")} - grouped
    with db.unit_of_work() as session, pytest.raises(InvalidInput):
        answer_met(session, left, round_id, met=True, now=clock.now)


def test_rounds_come_on_the_schedule(db: Database, world: World, clock: Clock) -> None:
    assert pair_buddies_when_due(db, clock.now) == 0  # nobody opted in: no round
    opt_in(db, world, clock, *DEPARTMENT)
    assert pair_buddies_when_due(db, clock.now) == 6
    assert pair_buddies_when_due(db, clock.now + ROUND_EVERY - timedelta(minutes=1)) == 6  # asked
    assert pair_buddies_when_due(db, clock.now + ROUND_EVERY) == 6
    with db.unit_of_work() as session:
        assert len(round_summaries(session)) == 2


def test_the_weights_come_from_insight_and_pair_the_teams_with_most_friction(
    db: Database, world: World, clock: Clock
) -> None:
    # Insight's story: Claims and Policy Administration bounce a request between them, decline
    # and break a promise; the other departments have no history at all.
    tell_story(db, world)
    now = T0 + timedelta(days=6)
    departments = world.departments
    claims_policy = rules.unordered(departments["Claims"], departments["Policy Administration"])
    with db.unit_of_work() as session:
        friction = department_friction(session, now)
    assert set(friction) == {claims_policy}
    # More than a pair without evidence counts for (rules.pair_weight's default).
    assert friction[claims_policy] > 0.25
    opt_in(db, world, clock, *DEPARTMENT)
    with db.unit_of_work() as session:
        pair_round(session, now, seed=5)
        groups = recent_groups(session, 1)[0]
    handle_of = {v: k for k, v in world.people.items()}
    pairs = {frozenset(DEPARTMENT[handle_of[p]] for p in group) for group in groups}
    assert pairs == {
        frozenset({"Claims", "Policy Administration"}),
        frozenset({"People", "Operations"}),
    }
