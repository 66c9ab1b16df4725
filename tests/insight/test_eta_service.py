"""Calibrated timescales on a real database: stated at opening, settled by the sweeper."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import insert

from followthrough.db import Database
from followthrough.org.rules import WorkingCalendar
from followthrough.requests import service
from followthrough.requests.models import Request
from followthrough.requests.service import NewRequest
from followthrough.timescale.calibrated import (
    NO_BOUND,
    fit_from_history,
    load_eta_cases,
    record_eta_outcomes,
    store_model,
)
from followthrough.timescale.calibration import EtaCase, EtaQuery, fit_eta_model
from followthrough.timescale.models import EtaModelRow, EtaPrediction
from followthrough.timescale.service import refresh_estimate
from tests.conftest import T0
from tests.factories import World


def _store_synthetic_model(db: Database) -> None:
    """A model fitted on 300 made-up Policy Admin requests taking 2-8 business hours."""
    rng = random.Random(0)
    calendar = WorkingCalendar()
    cases = []
    for i in range(300):
        opened = T0 - timedelta(days=60) + timedelta(hours=4 * i)
        query = EtaQuery(opened, "Correct a policy document", "Policy Admin", "normal",
                         "Policy has the wrong address", load=i % 5)  # fmt: skip
        hours = rng.uniform(2.0, 8.0)
        cases.append(EtaCase(query, hours, True, opened + timedelta(hours=hours), calendar))
    with db.unit_of_work() as session:
        store_model(session, fit_eta_model(cases, T0 - timedelta(days=1)), T0 - timedelta(days=1))


def _open(db: Database, world: World, at: datetime = T0) -> int:
    with db.unit_of_work() as session:
        request = service.open_request(
            session,
            world.actor(session, "asha"),
            NewRequest(
                title="Policy P-1 has the wrong address",
                need="Correct the address so the claim can be paid",
                service_id=world.services["correct_policy"],
            ),
            at,
        )
        return request.id


def test_without_a_model_the_estimate_falls_back_and_says_so(db: Database, world: World) -> None:
    rid = _open(db, world)
    with db.unit_of_work() as session:
        request = session.get(Request, rid)
        assert request is not None
        assert request.eta_basis is not None
        assert "calibrated" not in request.eta_basis
        assert "Not enough history" in request.eta_basis
        assert session.get(EtaPrediction, rid) is None


def test_a_new_request_gets_the_calibrated_bound_and_it_is_recorded(
    db: Database, world: World
) -> None:
    _store_synthetic_model(db)
    rid = _open(db, world)
    with db.unit_of_work() as session:
        request = session.get(Request, rid)
        stated = session.get(EtaPrediction, rid)
        assert request is not None
        assert stated is not None
        assert request.eta_basis is not None
        assert request.eta_basis.endswith("(forecast for this request)")
        assert 2.0 <= stated.bound_hours <= 9.0
        assert request.eta_likely_at == stated.due_at
        assert stated.outcome == "pending"


def test_a_request_still_open_past_its_bound_is_a_miss_and_widens_the_next_bounds(
    db: Database, world: World
) -> None:
    _store_synthetic_model(db)
    rid = _open(db, world)
    with db.unit_of_work() as session:
        stated = session.get(EtaPrediction, rid)
        assert stated is not None
        due = stated.due_at
        assert record_eta_outcomes(session, due - timedelta(minutes=1)) == 0
    with db.unit_of_work() as session:
        assert record_eta_outcomes(session, due + timedelta(minutes=1)) == 1
    with db.unit_of_work() as session:
        stated = session.get(EtaPrediction, rid)
        model = session.query(EtaModelRow).one()
        assert stated is not None
        assert stated.outcome == "miss"
        assert model.alphas[stated.group] < 0.2
        assert model.outcomes_seen == 1


def test_a_request_resolved_within_its_bound_is_a_hit(db: Database, world: World) -> None:
    _store_synthetic_model(db)
    rid = _open(db, world)
    later = T0 + timedelta(hours=1)
    with db.unit_of_work() as session:
        offer = service.open_offer_of(session, rid)
        assert offer is not None
        service.accept_offer(session, world.actor(session, "cleo"), rid, offer.id, later)
        service.resolve_request(session, world.actor(session, "cleo"), rid, "fixed", later)
    with db.unit_of_work() as session:
        stated = session.get(EtaPrediction, rid)
        assert stated is not None
        due = stated.due_at
        # Learnt when the bound passes, as a miss would be; not at the resolution.
        assert record_eta_outcomes(session, later + timedelta(minutes=5)) == 0
    with db.unit_of_work() as session:
        assert record_eta_outcomes(session, due + timedelta(minutes=1)) == 1
        stated = session.get(EtaPrediction, rid)
        assert stated is not None
        assert stated.outcome == "hit"
        assert stated.known_at == due
        assert session.query(EtaModelRow).one().alphas[stated.group] > 0.2


def test_history_cases_count_business_hours_and_the_team_load_at_opening(
    db: Database, world: World
) -> None:
    _open(db, world)
    _open(db, world, T0 + timedelta(hours=1))
    with db.unit_of_work() as session:
        cases = load_eta_cases(session, T0 + timedelta(hours=3))
    assert [c.query.load for c in cases] == [0, 1]
    assert [(c.resolved, c.hours) for c in cases] == [(False, 3.0), (False, 2.0)]
    assert cases[0].query.team == "Policy Admin"


def test_when_the_history_cannot_certify_a_bound_the_request_is_told_so_without_a_date(
    db: Database, world: World
) -> None:
    _store_synthetic_model(db)
    with db.unit_of_work() as session:
        # A run of misses has pushed the team's level to zero: no finite bound is honest.
        session.query(EtaModelRow).one().alphas = {"Policy Admin": 0.0}
    rid = _open(db, world)
    with db.unit_of_work() as session:
        request = session.get(Request, rid)
        stated = session.get(EtaPrediction, rid)
        assert request is not None
        assert stated is not None
        assert request.eta_basis is not None
        assert request.eta_basis.startswith("More than ")
        assert "too little history to be sure" in request.eta_basis
        assert request.eta_likely_at is None
        assert request.eta_median_at is None
        assert stated.outcome == NO_BOUND
    # Nothing it was told can fail: the level learns a hit at once and comes back up.
    with db.unit_of_work() as session:
        assert record_eta_outcomes(session, T0) == 1
    with db.unit_of_work() as session:
        assert session.query(EtaModelRow).one().alphas["Policy Admin"] > 0.0
        assert record_eta_outcomes(session, T0 + timedelta(hours=1)) == 0


def test_the_history_year_is_counted_back_from_its_last_event_not_from_today(
    db: Database, world: World
) -> None:
    # Five requests resolved two years before T0, and nothing since: counted from today the
    # year would hold none of them.
    long_ago = T0 - timedelta(days=730)
    rows = [
        {
            "title": f"Policy P-{i} has the wrong address",
            "need": "Correct it",
            "requester_id": world.people["asha"],
            "service_id": world.services["correct_policy"],
            "team_id": world.teams["admin"],
            "owner_id": world.people["cleo"],
            "state": "closed",
            "opened_at": long_ago + timedelta(days=i),
            "accepted_at": long_ago + timedelta(days=i),
            "resolved_at": long_ago + timedelta(days=i, hours=3),
            "closed_at": long_ago + timedelta(days=i + 2),
            "updated_at": long_ago + timedelta(days=i + 2),
        }
        for i in range(5)
    ]
    with db.unit_of_work() as session:
        session.execute(insert(Request), rows)
    with db.unit_of_work(readonly=True) as session:
        result = fit_from_history(session, T0)
    assert result.model is None
    assert "only 5 requests resolved" in result.message
    last = long_ago + timedelta(days=6)
    assert f"to {last:%Y-%m-%d}" in result.message


def test_a_second_change_in_the_opening_transaction_keeps_the_one_stated_bound(
    db: Database, world: World
) -> None:
    _store_synthetic_model(db)
    with db.unit_of_work() as session:
        request = service.open_request(
            session,
            world.actor(session, "asha"),
            NewRequest(
                title="Policy P-2 has the wrong address",
                need="Correct the address",
                service_id=world.services["correct_policy"],
            ),
            T0,
        )
        first = request.eta_likely_at
        refresh_estimate(session, request, T0, opened=True)
        session.flush()
        assert request.eta_likely_at == first
        rid = request.id
    with db.unit_of_work(readonly=True) as session:
        assert session.query(EtaPrediction).filter_by(request_id=rid).count() == 1
