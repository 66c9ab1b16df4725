"""Live role plays held for a training cohort, on SQLite and PostgreSQL: who may hold a session
for a cohort, the cohort's debrief over all its sessions (per behaviour and scorer, with the
spread between people), and the observers' scores on each participant's record."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from followthrough.db import Database
from followthrough.errors import Conflict, NotAllowed, NotFound
from followthrough.learning import service
from followthrough.practice.roleplay import live_service
from followthrough.practice.roleplay.rubric import Behaviour, Block
from followthrough.practice.roleplay.scoring import ScoringModel, shipped_model
from tests.conftest import T0, LiveServer
from tests.factories import World
from tests.web.pages import Visitor

MINUTE = timedelta(minutes=1)
# Replies the automatic scoring hears need, feeling and the customer in (see test_service).
ASKS = "That sounds really stressful. What does Mr Patel need from us now?"


@pytest.fixture(scope="module")
def model() -> ScoringModel:
    return shipped_model()


def _session(
    db: Database,
    facilitator: int,
    participant: int,
    observer: int,
    heard: list[str],
    at: int,
    model: ScoringModel,
) -> int:
    """A pair with an observer: a choice, then a reply the observer scores as `heard`."""
    start = T0 + at * MINUTE
    with db.unit_of_work() as session:
        live = live_service.open_session(
            session, facilitator, "missed-call-back", start, random.Random(at)
        )
        live_service.join(session, participant, live.code, "1", "participant", model, start)
        live_service.join(session, observer, live.code, "1", "observer", model, start)
        live_service.take_turn(session, live, participant, 0, "", 0, model, start + MINUTE)
        live_service.take_turn(session, live, participant, None, ASKS, 1, model, start + MINUTE)
        live_service.mark(session, live, observer, "score", 2, heard, "", start + 2 * MINUTE)
        return live.id


def test_a_cohorts_debrief_takes_every_session_held_for_it(
    db: Database, world: World, model: ScoringModel
) -> None:
    lee, carl, asha = world.people["lee"], world.people["carl"], world.people["asha"]
    cleo, otto, dan = world.people["cleo"], world.people["otto"], world.people["dan"]
    with db.unit_of_work() as session:
        module = service.seed_catalog(session, T0)["Role plays"]
        cohort = service.open_cohort(session, module, "Spring wave", lee, T0)
        other = service.open_cohort(session, module, "Autumn wave", lee, T0)
    # Asha is heard asking the need; Cleo is not, twice over; Otto's session is for no cohort.
    first = _session(db, lee, asha, dan, ["asks_need"], 0, model)
    second = _session(db, lee, cleo, dan, ["checks_back"], 10, model)
    third = _session(db, lee, cleo, dan, [], 20, model)
    _session(db, lee, otto, dan, ["asks_need"], 30, model)
    with db.unit_of_work() as session:
        for live_id in (first, second, third):
            service.hold_for_cohort(session, live_id, cohort, lee, True, T0)
    with db.unit_of_work() as session, pytest.raises(Conflict):
        service.hold_for_cohort(session, first, other, lee, True, T0)
    # Only the session's facilitator, and only a learning lead, holds it for a cohort.
    with db.unit_of_work() as session, pytest.raises(NotAllowed):
        service.hold_for_cohort(session, first, other, carl, True, T0)
    fourth = _session(db, asha, otto, dan, [], 40, model)
    with db.unit_of_work() as session, pytest.raises(NotAllowed) as refused:
        service.hold_for_cohort(session, fourth, cohort, asha, False, T0)
    assert refused.value.field == "cohort_id"
    with db.unit_of_work() as session, pytest.raises(NotFound):
        service.hold_for_cohort(session, fourth, 999999, asha, True, T0)

    with db.unit_of_work(readonly=True) as session:
        assert service.cohort_of_live_session(session, first) == (cohort, "Spring wave")
        assert service.cohort_of_live_session(session, fourth) is None
        debrief = service.cohort_debrief(session, cohort)
        assert service.cohort_debrief(session, other).replies == 0
    assert [s.id for s in debrief.sessions] == [first, second, third]
    assert debrief.replies == 3
    lines = {(b.behaviour, b.scorer): b for b in debrief.behaviours}
    need = lines[(Behaviour.ASKS_NEED, "observer")]
    # Asha 1 of 1, Cleo 0 of 2: 1 of 3 replies; people's shares 1 and 0, spread 0.5.
    assert (need.replies, need.heard, need.people) == (3, 1, 2)
    assert (need.low, need.high, need.spread) == (0.0, 1.0, 0.5)
    automatic = lines[(Behaviour.ASKS_NEED, "automatic")]
    assert (automatic.replies, automatic.heard, automatic.spread) == (3, 3, 0.0)
    assert lines[(Behaviour.ASKS_NEED, "participant")].replies == 0
    assert debrief.means["observer"][Block.UNDERSTAND] == pytest.approx(1 / 3)
    assert debrief.means["automatic"][Block.UNDERSTAND] == 1.0
    assert debrief.means["participant"][Block.UNDERSTAND] is None
    people = {p.person_id: p for p in debrief.participants}
    assert set(people) == {asha, cleo}
    assert people[cleo].replies == 2
    assert people[cleo].means["observer"][Block.COMMUNICATE] == 0.5  # checks back once of two
    with db.unit_of_work(readonly=True) as session, pytest.raises(NotFound):
        service.cohort_debrief(session, 999999)


def test_an_observers_scores_go_on_the_participants_record(
    db: Database, world: World, model: ScoringModel
) -> None:
    lee, asha, dan = world.people["lee"], world.people["asha"], world.people["dan"]
    _session(db, lee, asha, dan, ["asks_need", "checks_back"], 0, model)
    with db.unit_of_work(readonly=True) as session:
        record, evidence = service.my_record(session, asha)
        assert service.my_record(session, dan)[1] == []  # the observer's own record is empty
    observed = [e for e in evidence if e.source == "observer"]
    assert {e.block: e.score for e in observed} == {
        # One reply, heard on Understand and Communicate: every reply (5), none (1).
        "understand": 5.0,
        "own": 1.0,
        "serve": 1.0,
        "communicate": 5.0,
    }
    assert {e.rated_by for e in observed} == {"Dan Duty"}
    assert all(e.rated_at == T0 + 2 * MINUTE for e in observed)
    assert all("observer in a live role play" in e.note for e in observed)
    understand = next(r for r in record if r.block == "understand")
    assert understand.by_source == {"observer": 1}


def test_the_cohort_debrief_page_is_for_learning_leads(
    db: Database, world: World, live_server: LiveServer, model: ScoringModel
) -> None:
    lee, asha, dan = world.people["lee"], world.people["asha"], world.people["dan"]
    with db.unit_of_work() as session:
        module = service.seed_catalog(session, T0)["Role plays"]
        cohort = service.open_cohort(session, module, "Spring wave", lee, T0)
    live_id = _session(db, lee, asha, dan, ["asks_need"], 0, model)
    with db.unit_of_work() as session:
        service.hold_for_cohort(session, live_id, cohort, lee, True, T0)
    visitor = Visitor(live_server.base_url)
    outsider = Visitor(live_server.base_url)
    try:
        assert visitor.sign_in("lee").status_code == 303
        assert outsider.sign_in("asha").status_code == 303
        chooser = visitor.get("/learning/debrief")
        assert chooser.status_code == 200
        assert "Spring wave (Role plays)" in chooser.text
        page = visitor.get(f"/learning/debrief?cohort={cohort}")
        assert page.status_code == 200
        assert "1 answer in the participants' own words, over 1 session" in page.text
        assert "Asks about the true need" in page.text
        assert '100% <span class="meta">(1 of 1)</span>' in page.text
        assert visitor.get("/learning/debrief?cohort=999999").status_code == 404
        assert outsider.get(f"/learning/debrief?cohort={cohort}").status_code == 403
        # The session page says which cohort it was held for.
        assert (
            "Held for the training cohort Spring wave"
            in visitor.get(f"/practice/role-plays/live/{live_id}").text
        )
    finally:
        visitor.close()
        outsider.close()


def test_a_lead_opens_a_session_for_a_cohort_from_the_page(
    db: Database, world: World, live_server: LiveServer
) -> None:
    with db.unit_of_work() as session:
        module = service.seed_catalog(session, T0)["Role plays"]
        cohort = service.open_cohort(session, module, "Spring wave", world.people["lee"], T0)
    lee, asha = Visitor(live_server.base_url), Visitor(live_server.base_url)
    try:
        assert lee.sign_in("lee").status_code == 303
        assert asha.sign_in("asha").status_code == 303
        # The choice is offered to learning leads only.
        assert 'name="cohort_id"' in lee.get("/practice/role-plays/live").text
        assert 'name="cohort_id"' not in asha.get("/practice/role-plays/live").text
        refused = asha.post(
            "/practice/role-plays/live", {"scenario": "bad-day", "cohort_id": str(cohort)}
        )
        assert refused.status_code == 403
        bad = lee.post("/practice/role-plays/live", {"scenario": "bad-day", "cohort_id": "x"})
        assert bad.status_code == 422
        assert 'id="cohort-error"' in bad.text
        opened = lee.post(
            "/practice/role-plays/live", {"scenario": "bad-day", "cohort_id": str(cohort)}
        )
        assert opened.status_code == 303
        live_id = int(opened.headers["location"].rsplit("/", 1)[1])
        with db.unit_of_work(readonly=True) as session:
            assert service.cohort_of_live_session(session, live_id) == (cohort, "Spring wave")
            # Asha's refused attempt opened nothing.
            assert live_service.sessions_of(session, world.people["asha"]) == []
        # Without a cohort, as before.
        assert lee.post("/practice/role-plays/live", {"scenario": "bad-day"}).status_code == 303
    finally:
        lee.close()
        asha.close()
