"""Recognitions and the weekly digest over the hand-made story."""

from __future__ import annotations

from datetime import timedelta

import pytest

from followthrough.db import Database
from followthrough.errors import Conflict, NotAllowed
from followthrough.insight import recognition
from followthrough.insight.rules import PersonRecord
from tests.conftest import T0
from tests.factories import World
from tests.insight.conftest import Story

START, END = T0 - timedelta(days=1), T0 + timedelta(days=6)
LOW = {"min_spanning": 1, "min_promises": 1, "min_praise": 1}


def test_person_records_count_cross_team_work_promises_and_praise_from_other_departments(
    db: Database, world: World, story: Story
) -> None:
    with db.unit_of_work(readonly=True) as session:
        records = {r.person_id: r for r in recognition.person_records(session, START, END)}
    p = world.people
    # cleo resolved R3, which crossed to Claims and back; asha (Claims) praised her.
    assert records[p["cleo"]] == PersonRecord(p["cleo"], 1, 1, 0, 1)
    assert records[p["dan"]] == PersonRecord(p["dan"], 0, 0, 1, 0)


def test_suggestions_are_stored_once_and_only_leads_of_the_person_decide(
    db: Database, world: World, story: Story
) -> None:
    with db.unit_of_work() as session:
        created = recognition.suggest(session, START, END, END, **LOW)
        assert {(r.person_id, r.reason) for r in created} == {
            (world.people["cleo"], "cross_team"),
            (world.people["cleo"], "promises"),
            (world.people["cleo"], "praise"),
        }
    with db.unit_of_work() as session:
        assert recognition.suggest(session, START, END, END, **LOW) == []
        assert recognition.suggestions_for(session, world.actor(session, "carl")) == []
        todo = recognition.suggestions_for(session, world.actor(session, "lee"))
        assert len(todo) == 3
        first = todo[0].id
        with pytest.raises(NotAllowed):
            recognition.decide(session, world.actor(session, "carl"), first, True, END)
    with db.unit_of_work() as session:
        view = recognition.decide(session, world.actor(session, "lee"), first, True, T0)
        assert (view.state, view.confirmed_by) == ("confirmed", "Lee Lead")
    with db.unit_of_work() as session, pytest.raises(Conflict):
        recognition.decide(session, world.actor(session, "lee"), first, False, T0)


def test_the_weekly_digest_has_confirmed_recognitions_and_the_week_wins(
    db: Database, world: World, story: Story
) -> None:
    with db.unit_of_work() as session:
        created = recognition.suggest(session, START, END, END, **LOW)
        recognition.decide(session, world.actor(session, "lee"), created[0].id, True, T0)
        recognition.decide(session, world.actor(session, "lee"), created[1].id, False, T0)
    with db.unit_of_work(readonly=True) as session:
        week = recognition.digest(session, recognition.week_of(T0 + timedelta(days=2)))
    assert week.week_start == T0.replace(hour=0)
    assert [r.person for r in week.recognitions] == ["Cleo Clerk"]
    assert (week.resolved, week.within_target, week.promises_kept, week.praise) == (3, 2, 1, 1)
    assert week.mean_rating == pytest.approx(3.5)
