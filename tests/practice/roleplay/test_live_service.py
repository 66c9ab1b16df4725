"""Live role-play sessions on SQLite and PostgreSQL: joining in roles, turns, live marks, the
version the screens wait on, who sees a session, and the debrief's side-by-side scores."""

from __future__ import annotations

import random

import pytest
from sqlalchemy.exc import IntegrityError

from followthrough.db import Database
from followthrough.errors import Conflict, InvalidInput, NotAllowed, NotFound
from followthrough.org import service as org
from followthrough.practice.roleplay import live_rules, live_service
from followthrough.practice.roleplay.live_models import LiveMember
from followthrough.practice.roleplay.rubric import Behaviour, Block
from followthrough.practice.roleplay.scoring import ScoringModel
from tests.conftest import T0


@pytest.fixture
def people(db: Database) -> dict[str, int]:
    with db.unit_of_work() as session:
        return {
            handle: org.add_person(session, handle, handle.title(), f"{handle}@example.com").id
            for handle in ("fay", "pia", "oli", "cal", "out")
        }


def _open(db: Database, people: dict[str, int]) -> tuple[int, str]:
    with db.unit_of_work() as session:
        live = live_service.open_session(
            session, people["fay"], "missed-call-back", T0, random.Random(7)
        )
        return live.id, live.code


def test_a_trio_plays_marks_and_debriefs_with_three_scores_side_by_side(
    db: Database, people: dict[str, int], model: ScoringModel
) -> None:
    live_id, code = _open(db, people)
    assert len(code) == live_rules.CODE_LENGTH
    with db.unit_of_work() as session:
        # Typed on a phone: lower case, a space and a dash are all fine.
        typed = f"{code[:3].lower()} -{code[3:]}"
        live_service.join(session, people["pia"], typed, "1", "participant", model, T0)
        live_service.join(session, people["oli"], code, "1", "observer", model, T0)
        live_service.join(session, people["cal"], code, "1", "character", model, T0)
        assert live_service.current_version(session, live_id) == 3
    with db.unit_of_work() as session:
        live = live_service.visible_session(session, people["oli"], live_id)
        # The character's player says the opening line in their own words.
        live_service.mark(session, live, people["cal"], "line", 0, [], "You never rang me!", T0)
        live_service.take_turn(session, live, people["pia"], 0, "", 0, model, T0)
        live_service.take_turn(
            session,
            live,
            people["pia"],
            None,
            "That sounds really stressful. What does Mr Patel need from us now?",
            1,
            model,
            T0,
        )
        live_service.mark(
            session, live, people["oli"], "score", 2, ["asks_need", "deflects"], "", T0
        )
        # A second look: the observer's newest score for a turn is the one that counts.
        live_service.mark(
            session,
            live,
            people["oli"],
            "score",
            2,
            ["asks_need", "acknowledges_feeling"],
            "",
            T0,
        )
        live_service.mark(session, live, people["oli"], "note", 2, [], "Good open question", T0)
        live_service.mark(session, live, people["pia"], "score", 2, ["asks_need"], "", T0)
        assert live_service.current_version(session, live_id) == 3 + 7
    with db.unit_of_work(readonly=True) as session:
        live = live_service.visible_session(session, people["fay"], live_id)
        (group,) = live_service.board(session, live)
        assert [r.turn.kind for r in group.rounds] == ["choice", "reply"]
        assert group.rounds[0].said_before == "You never rang me!"
        choice, reply = group.rounds
        assert choice.automatic is None
        assert reply.automatic is not None
        # The scorer found feeling, need and customer (1 point each, see test_service).
        assert reply.automatic.heard == {
            Behaviour.ACKNOWLEDGES_FEELING,
            Behaviour.ASKS_NEED,
            Behaviour.CUSTOMER_VIEW,
        }
        assert reply.observer is not None
        assert reply.observer.heard == {Behaviour.ASKS_NEED, Behaviour.ACKNOWLEDGES_FEELING}
        assert reply.participant is not None
        assert reply.participant.blocks[Block.UNDERSTAND] == 1
        assert reply.participant.total == 1
        assert [n.text for n in reply.notes] == ["Good open question"]
        # Observer and scorer agree on 7 of the 8 behaviours (not on the customer's view).
        agreement = group.agreement()
        assert (agreement.agreed, agreement.decisions) == (7, 8)
        cohort = live_service.cohort_debrief([group])
        assert cohort.replies == 1
        assert cohort.means["observer"][Block.UNDERSTAND] == observer_understand(reply)
        assert cohort.means["participant"][Block.OWN] == 0


def observer_understand(reply: live_service.Round) -> float:
    assert reply.observer is not None
    return float(reply.observer.blocks[Block.UNDERSTAND])


def test_roles_are_kept_per_group_and_only_the_participant_answers(
    db: Database, people: dict[str, int], model: ScoringModel
) -> None:
    live_id, code = _open(db, people)
    with db.unit_of_work() as session:
        live_service.join(session, people["pia"], code, "1", "participant", model, T0)
    with db.unit_of_work() as session, pytest.raises(live_service.RoleTaken):
        live_service.join(session, people["oli"], code, "1", "participant", model, T0)
    with db.unit_of_work() as session:
        live_service.join(session, people["oli"], code, "1", "observer", model, T0)
        live = live_service.visible_session(session, people["oli"], live_id)
        with pytest.raises(NotAllowed):
            live_service.take_turn(session, live, people["oli"], 0, "", 0, model, T0)
        with pytest.raises(NotAllowed):
            live_service.mark(session, live, people["oli"], "line", 0, [], "Hi", T0)
    for typed, group, role, field in (
        ("", "1", "observer", "code"),
        ("ZZZZZZ", "1", "observer", "code"),
        (code, "0", "observer", "group"),
        (code, "x", "observer", "group"),
        (code, "1", "boss", "role"),
    ):
        with db.unit_of_work() as session, pytest.raises(InvalidInput) as refused:
            live_service.join(session, people["cal"], typed, group, role, model, T0)
        assert refused.value.field == field
    with db.unit_of_work() as session, pytest.raises(Conflict):
        live_service.join(session, people["fay"], code, "2", "observer", model, T0)


def test_only_the_facilitator_and_members_see_a_session_and_a_closed_one_takes_no_marks(
    db: Database, people: dict[str, int], model: ScoringModel
) -> None:
    live_id, code = _open(db, people)
    with db.unit_of_work() as session:
        live_service.join(session, people["pia"], code, "2", "participant", model, T0)
    with db.unit_of_work() as session:
        with pytest.raises(NotFound):
            live_service.visible_session(session, people["out"], live_id)
        assert [s.id for s in live_service.sessions_of(session, people["pia"])] == [live_id]
        assert live_service.sessions_of(session, people["out"]) == []
        live = live_service.visible_session(session, people["pia"], live_id)
        with pytest.raises(NotAllowed):
            live_service.close(session, live, people["pia"], T0)
        live_service.close(session, live, people["fay"], T0)
    with db.unit_of_work() as session:
        live = live_service.visible_session(session, people["pia"], live_id)
        with pytest.raises(live_service.SessionClosed):
            live_service.take_turn(session, live, people["pia"], 0, "", 0, model, T0)
        with pytest.raises(live_service.SessionClosed):
            live_service.join(session, people["oli"], code, "2", "observer", model, T0)


def test_the_database_keeps_one_participant_per_group_when_two_join_at_once(
    db: Database, people: dict[str, int]
) -> None:
    # Both passed the service's check at the same moment: the second row is refused by the
    # database itself, while a second observer is welcome.
    live_id, _ = _open(db, people)
    with db.unit_of_work() as session:
        for handle in ("oli", "cal"):
            session.add(
                LiveMember(
                    live_session_id=live_id,
                    person_id=people[handle],
                    group_number=1,
                    role="observer",
                    joined_at=T0,
                )
            )
        session.add(
            LiveMember(
                live_session_id=live_id,
                person_id=people["pia"],
                group_number=1,
                role="participant",
                joined_at=T0,
            )
        )
    with pytest.raises(IntegrityError), db.unit_of_work() as session:
        session.add(
            LiveMember(
                live_session_id=live_id,
                person_id=people["out"],
                group_number=1,
                role="participant",
                joined_at=T0,
            )
        )
