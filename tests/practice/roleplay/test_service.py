"""Role-play attempts stored on SQLite and PostgreSQL: turns, scores, versions, endings."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from followthrough.db import Database
from followthrough.errors import InvalidInput, NotFound
from followthrough.org import service as org
from followthrough.practice.roleplay import service
from followthrough.practice.roleplay.learned import load_learned
from followthrough.practice.roleplay.models import RolePlayTurn
from followthrough.practice.roleplay.rubric import default_rubric
from followthrough.practice.roleplay.scenario import shipped_scenario
from followthrough.practice.roleplay.scoring import ScoringModel
from tests.conftest import T0


@pytest.fixture
def people(db: Database) -> tuple[int, int]:
    with db.unit_of_work() as session:
        one = org.add_person(session, "rita", "Rita Roleplay", "rita@example.com").id
        two = org.add_person(session, "sol", "Sol Other", "sol@example.com").id
    return one, two


def test_a_played_attempt_keeps_its_turns_scores_version_and_ending(
    db: Database, people: tuple[int, int], model: ScoringModel
) -> None:
    rita, _ = people
    scenario = shipped_scenario("missed-call-back")
    with db.unit_of_work() as session:
        attempt = service.start_attempt(session, rita, scenario, model, T0)
        attempt_id = attempt.id
        # The first choice asks what happened (+5 trust) and leads to the first reply.
        service.take_choice(session, attempt, 0, T0, expected_turn=0)
        assert attempt.node == "what_happened"
        assert attempt.state == {"trust": 45, "customer": 30}
        reply = service.give_reply(
            session,
            attempt,
            "That sounds really stressful. What does Mr Patel need from us now?",
            model,
            T0,
            expected_turn=1,
        )
    # Shown: acknowledges feeling, asks the need, brings in the customer: 3 points, so trust
    # 45 + 3*8 = 69 and customer 30 + 3*6 = 48; trust >= 55 leads to the plan.
    assert reply.score.total == 3
    with db.unit_of_work() as session:
        stored = service.attempt_of(session, rita, attempt_id)
        assert stored.node == "plan"
        assert stored.state == {"trust": 69, "customer": 48}
        assert stored.scenario_version == scenario.version
        rubric, learned = default_rubric(), load_learned()
        assert stored.rubric_version == f"{rubric.version}+{learned.version}"
        turns = service.turns_of(session, stored)
        assert [t.kind for t in turns] == ["choice", "reply"]
        assert turns[1].points == 3
        assert turns[1].scores is not None
        quoted = {
            b["behaviour"]: b["span"]["text"] for b in turns[1].scores["behaviours"] if b["present"]
        }
        assert quoted["acknowledges_feeling"] == "That sounds really stressful."
        assert quoted["asks_need"] == "What does Mr Patel need from us now?"
        # Agreeing a step and a time ends it well: +3 or more points take customer past 60.
        service.give_reply(
            session,
            stored,
            "Leave it with me, I'll ring the garage with the code by 2pm today. Does that work?",
            model,
            T0,
        )
        assert stored.outcome == "good"
        assert stored.ended_at == T0
        assert stored.node == "promise_kept"


def test_another_persons_attempt_is_not_found(
    db: Database, people: tuple[int, int], model: ScoringModel
) -> None:
    rita, sol = people
    with db.unit_of_work() as session:
        attempt_id = service.start_attempt(session, rita, shipped_scenario("bad-day"), model, T0).id
    with db.unit_of_work() as session, pytest.raises(NotFound):
        service.attempt_of(session, sol, attempt_id)


def test_a_stale_or_empty_answer_is_refused_and_nothing_is_kept(
    db: Database, people: tuple[int, int], model: ScoringModel
) -> None:
    rita, _ = people
    with db.unit_of_work() as session:
        attempt = service.start_attempt(session, rita, shipped_scenario("bad-day"), model, T0)
        attempt_id = attempt.id
        service.take_choice(session, attempt, 0, T0, expected_turn=0)
    with db.unit_of_work() as session:
        attempt = service.attempt_of(session, rita, attempt_id)
        with pytest.raises(service.TurnTaken):
            service.take_choice(session, attempt, 0, T0, expected_turn=0)
        with pytest.raises(InvalidInput):
            service.give_reply(session, attempt, "   ", model, T0)
    with db.unit_of_work() as session:
        count = session.scalar(
            select(func.count())
            .select_from(RolePlayTurn)
            .where(RolePlayTurn.attempt_id == attempt_id)
        )
        assert count == 1
