"""Recognitions and the weekly digest over the hand-made story."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from followthrough.db import Database
from followthrough.errors import Conflict, NotFound
from followthrough.insight import recognition
from followthrough.insight.models import Recognition
from followthrough.insight.rules import PersonRecord
from tests.conftest import T0
from tests.factories import World
from tests.insight.conftest import Story

START, END = T0 - timedelta(days=1), T0 + timedelta(days=6)
LOW = {"min_spanning": 1, "min_promises": 1, "min_praise": 1}


def test_person_records_count_cross_team_work_promises_and_praise_from_other_departments(
    db: Database, world: World, story: Story
) -> None:
    p = world.people
    with db.unit_of_work(readonly=True) as session:
        records = {
            r.person_id: r
            for r in recognition.person_records(session, START, END, {p["cleo"], p["dan"]})
        }
        only_dan = recognition.person_records(session, START, END, {p["dan"]})
    # cleo resolved R3, which crossed to Claims and back; asha (Claims) praised her.
    assert records[p["cleo"]] == PersonRecord(p["cleo"], 1, 1, 0, 1)
    assert records[p["dan"]] == PersonRecord(p["dan"], 0, 0, 1, 0)
    assert only_dan == [PersonRecord(p["dan"], 0, 0, 1, 0)]


def _count(db: Database) -> int:
    with db.unit_of_work(readonly=True) as session:
        return int(session.scalar(select(func.count()).select_from(Recognition)) or 0)


def test_suggestions_store_nothing_and_go_only_to_the_persons_leads(
    db: Database, world: World, story: Story
) -> None:
    with db.unit_of_work() as session:
        todo = recognition.suggestions_for(session, world.actor(session, "lee"), START, END, **LOW)
        # Another start date is another period: still nothing stored.
        later = recognition.suggestions_for(
            session, world.actor(session, "lee"), START + timedelta(hours=1), END, **LOW
        )
        # carl leads Claims, hana leads HR, ada is an admin: none of them leads cleo.
        others = [
            recognition.suggestions_for(session, world.actor(session, h), START, END, **LOW)
            for h in ("carl", "hana", "ada", "cleo", "asha")
        ]
    assert {(s.person, s.reason) for s in todo} == {
        ("Cleo Clerk", "cross_team"),
        ("Cleo Clerk", "promises"),
        ("Cleo Clerk", "praise"),
    }
    assert len(later) == 3
    assert others == [[], [], [], [], []]
    assert _count(db) == 0


def test_only_a_lead_of_the_person_decides_and_only_once(
    db: Database, world: World, story: Story
) -> None:
    cleo = world.people["cleo"]
    with db.unit_of_work() as session:
        for handle in ("carl", "ada", "cleo"):
            with pytest.raises(NotFound):
                recognition.decide(
                    session,
                    world.actor(session, handle),
                    cleo,
                    "praise",
                    START,
                    END,
                    True,
                    T0,
                    **LOW,
                )
        with pytest.raises(NotFound):
            # Nothing in the history supports this one (dan broke his promise).
            recognition.decide(
                session,
                world.actor(session, "lee"),
                world.people["dan"],
                "promises",
                START,
                END,
                True,
                T0,
                **LOW,
            )
    assert _count(db) == 0
    with db.unit_of_work() as session:
        view = recognition.decide(
            session, world.actor(session, "lee"), cleo, "praise", START, END, True, T0, **LOW
        )
        assert (view.state, view.confirmed_by, view.person) == (
            "confirmed",
            "Lee Lead",
            "Cleo Clerk",
        )
    with db.unit_of_work() as session, pytest.raises(Conflict):
        recognition.decide(
            session, world.actor(session, "lee"), cleo, "praise", START, END, False, T0, **LOW
        )
    with db.unit_of_work(readonly=True) as session:
        todo = recognition.suggestions_for(session, world.actor(session, "lee"), START, END, **LOW)
    assert {s.reason for s in todo} == {"cross_team", "promises"}
    assert _count(db) == 1


def test_the_weekly_digest_has_confirmed_recognitions_and_the_week_wins(
    db: Database, world: World, story: Story
) -> None:
    cleo = world.people["cleo"]
    with db.unit_of_work() as session:
        lee = world.actor(session, "lee")
        recognition.decide(session, lee, cleo, "praise", START, END, True, T0, **LOW)
        recognition.decide(session, lee, cleo, "promises", START, END, False, T0, **LOW)
    with db.unit_of_work(readonly=True) as session:
        week = recognition.digest(session, recognition.week_of(T0 + timedelta(days=2)))
    assert week.week_start == T0.replace(hour=0)
    assert [r.person for r in week.recognitions] == ["Cleo Clerk"]
    assert (week.resolved, week.within_target, week.promises_kept, week.praise) == (3, 2, 1, 1)
    assert week.mean_rating == pytest.approx(3.5)
