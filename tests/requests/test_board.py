"""The page queries: home counts, team queue, lead board aggregates and OLA attainment."""

from __future__ import annotations

from datetime import timedelta

import pytest

from followthrough.db import Database
from followthrough.errors import InvalidInput, NotAllowed
from followthrough.promises.service import keep_promise, make_promise
from followthrough.requests import board, service
from followthrough.sweeper.service import sweep
from tests.conftest import Clock
from tests.factories import World


def _open(db: Database, world: World, clock: Clock, handle: str = "asha", **extra: object) -> int:
    with db.unit_of_work() as session:
        fields: dict[str, object] = {
            "title": "Policy P-100 has the wrong address",
            "need": "Correct it",
            "service_id": world.services["correct_policy"],
            **extra,
        }
        request = service.open_request(
            session,
            world.actor(session, handle),
            service.NewRequest(**fields),
            clock.now,  # type: ignore[arg-type]
        )
        return request.id


def _accept(db: Database, world: World, clock: Clock, rid: int, handle: str = "cleo") -> None:
    with db.unit_of_work() as session:
        offer = service.open_offer_of(session, rid)
        assert offer is not None
        service.accept_offer(session, world.actor(session, handle), rid, offer.id, clock.now)


def test_home_counts_offers_to_my_team_and_promises_due_today(
    db: Database, world: World, clock: Clock
) -> None:
    rid = _open(db, world, clock)
    with db.unit_of_work(readonly=True) as session:
        cleo = world.actor(session, "cleo")
        assert board.nav_counts(session, cleo, clock.now) == board.NavCounts(needs_me=1, queue=1)
        asha = world.actor(session, "asha")
        assert board.nav_counts(session, asha, clock.now) == board.NavCounts(needs_me=0, queue=0)
    _accept(db, world, clock, rid)
    with db.unit_of_work() as session:
        make_promise(
            session,
            world.actor(session, "cleo"),
            rid,
            "Call back",
            clock.now + timedelta(hours=1),
            clock.now,
        )
    with db.unit_of_work(readonly=True) as session:
        cleo = world.actor(session, "cleo")
        needs = board.needs_me(session, cleo, clock.now)
        assert needs.offers.items == []
        assert [p.what for p in needs.promises_due.items] == ["Call back"]
        assert [u.request_id for u in needs.updates_due.items] == [rid]
        assert board.nav_counts(session, cleo, clock.now).needs_me == 2


def test_home_lists_broken_promises_escalations_and_ratings(
    db: Database, world: World, clock: Clock
) -> None:
    rid = _open(db, world, clock)
    _accept(db, world, clock, rid)
    with db.unit_of_work() as session:
        make_promise(
            session,
            world.actor(session, "cleo"),
            rid,
            "Call back",
            clock.now + timedelta(hours=1),
            clock.now,
        )
    for _ in range(7):  # the promise breaks; the update is due, reminded, then escalated
        clock.advance(hours=1)
        sweep(db, clock.now)
    with db.unit_of_work(readonly=True) as session:
        cleo_needs = board.needs_me(session, world.actor(session, "cleo"), clock.now)
        assert [p.state for p in cleo_needs.promises_broken.items] == ["broken"]
        lee_needs = board.needs_me(session, world.actor(session, "lee"), clock.now)
        assert [(e.request_id, e.kind) for e in lee_needs.escalations.items] == [
            (rid, "update_escalated")
        ]
    with db.unit_of_work() as session:
        service.resolve_request(session, world.actor(session, "cleo"), rid, "Fixed", clock.now)
    from followthrough.feedback.service import rate_request

    with db.unit_of_work() as session:
        scores = {"understand": 4, "own": 5, "serve": 4, "communicate": 2}
        rate_request(session, world.actor(session, "asha"), rid, scores, "slow", clock.now)
    with db.unit_of_work(readonly=True) as session:
        feedback = board.needs_me(session, world.actor(session, "cleo"), clock.now).feedback.items
        assert [(f.kind, f.scores, f.text) for f in feedback] == [("rating", (4, 5, 4, 2), "slow")]


def test_team_queue_puts_what_is_due_first_and_filters(
    db: Database, world: World, clock: Clock
) -> None:
    first = _open(db, world, clock, title="First")
    clock.advance(hours=1)
    second = _open(db, world, clock, title="Second")
    _accept(db, world, clock, second)
    grievance = _open(db, world, clock, handle="otto", service_id=world.services["grievance"])
    with db.unit_of_work(readonly=True) as session:
        cleo = world.actor(session, "cleo")
        queue = board.team_queue(session, cleo, world.teams["admin"], clock.now)
        assert [q.request_id for q in queue.items] == [first, second]
        offers = board.team_offers(session, cleo, world.teams["admin"])
        assert [o.request_id for o in offers.items] == [first]
        overdue = board.team_queue(session, cleo, world.teams["admin"], clock.now, ["overdue"])
        assert overdue.items == []
        assert board.team_queue(session, cleo, world.teams["hr"], clock.now).total == 0
        hana = world.actor(session, "hana")
        confidential = board.team_queue(
            session, hana, world.teams["hr"], clock.now, ["confidential"]
        )
        assert [q.request_id for q in confidential.items] == [grievance]
        with pytest.raises(InvalidInput):
            board.team_queue(session, cleo, world.teams["admin"], clock.now, ["colour"])
    clock.advance(days=3)
    with db.unit_of_work(readonly=True) as session:
        cleo = world.actor(session, "cleo")
        overdue = board.team_queue(session, cleo, world.teams["admin"], clock.now, ["overdue"])
        assert {q.request_id for q in overdue.items} == {first, second}


def test_lead_board_shows_load_bounces_broken_promises_and_is_for_leads(
    db: Database, world: World, clock: Clock
) -> None:
    rid = _open(db, world, clock)
    _accept(db, world, clock, rid)
    with db.unit_of_work() as session:
        cleo = world.actor(session, "cleo")
        make_promise(session, cleo, rid, "Call back", clock.now + timedelta(hours=1), clock.now)
        service.offer_request(session, cleo, rid, world.teams["claims"], None, "yours", clock.now)
    _accept(db, world, clock, rid, handle="asha")
    with db.unit_of_work() as session:
        service.offer_request(
            session,
            world.actor(session, "asha"),
            rid,
            world.teams["admin"],
            None,
            "no, yours",
            clock.now,
        )
    _accept(db, world, clock, rid, handle="cleo")
    clock.advance(hours=2)
    sweep(db, clock.now)
    with db.unit_of_work(readonly=True) as session:
        lee = world.actor(session, "lee")
        lead = board.lead_board(session, lee, world.teams["admin"], clock.now)
        assert [q.request_id for q in lead.bounced.items] == [rid]
        assert [e.request_id for e in lead.broken_promises.items] == [rid]
        load = {m.name: (m.owned, m.open_promises) for m in lead.load}
        assert load["Cleo Clerk"] == (1, 0)
        assert load["Dan Duty"] == (0, 0)
        assert "Lee Lead" in load
        with pytest.raises(NotAllowed):
            board.lead_board(session, world.actor(session, "cleo"), world.teams["admin"], clock.now)


def test_attainment_counts_each_week_from_the_history(
    db: Database, world: World, clock: Clock
) -> None:
    late = _open(db, world, clock, title="Late")
    clock.advance(hours=3)  # past the 2-hour accept target
    _accept(db, world, clock, late)
    quick = _open(db, world, clock, title="Quick")
    _accept(db, world, clock, quick)
    with db.unit_of_work() as session:
        cleo = world.actor(session, "cleo")
        kept = make_promise(session, cleo, quick, "Call", clock.now + timedelta(hours=1), clock.now)
        keep_promise(session, cleo, quick, kept.id, "called", clock.now)
        service.resolve_request(session, cleo, quick, "done", clock.now)
    clock.advance(days=7, hours=1)
    with db.unit_of_work() as session:
        service.resolve_request(session, world.actor(session, "cleo"), late, "done", clock.now)
    with db.unit_of_work(readonly=True) as session:
        weeks = board.attainment(session, world.teams["admin"], clock.now, weeks=3)
    assert [(w.accepted, w.accepted_in_time) for w in weeks] == [(0, 0), (2, 1), (0, 0)]
    assert [(w.resolved, w.resolved_in_time) for w in weeks] == [(0, 0), (1, 1), (1, 0)]
    assert [(w.promises_kept, w.promises_broken) for w in weeks] == [(0, 0), (1, 0), (0, 0)]
    assert weeks[-1].starts_at == clock.now - timedelta(weeks=1)
    with db.unit_of_work(readonly=True) as session, pytest.raises(InvalidInput):
        board.attainment(session, world.teams["admin"], clock.now, weeks=0)
