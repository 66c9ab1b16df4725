"""Promises on a real database: kept in time, broken when late, reminded before they fall due."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from followthrough.db import Database
from followthrough.errors import Conflict, InvalidInput, NotAllowed
from followthrough.history.models import Event
from followthrough.notify.models import Notification
from followthrough.promises import service
from followthrough.promises.models import Promise
from followthrough.requests import service as requests
from followthrough.requests.service import NewRequest
from followthrough.sweeper.service import sweep
from tests.conftest import T0
from tests.factories import World


def _promised(db: Database, world: World, due_in: timedelta) -> tuple[int, int]:
    with db.unit_of_work() as session:
        cleo = world.actor(session, "cleo")
        new = NewRequest(title="t", need="n", service_id=world.services["correct_policy"])
        request = requests.open_request(session, world.actor(session, "asha"), new, T0)
        intake = requests.open_offer_of(session, request.id)
        assert intake is not None
        requests.accept_offer(session, cleo, request.id, intake.id, T0)
        promise = service.make_promise(session, cleo, request.id, "call back", T0 + due_in, T0)
        return request.id, promise.id


def test_done_in_time_is_kept(db: Database, world: World) -> None:
    rid, pid = _promised(db, world, timedelta(hours=1))
    with db.unit_of_work() as session:
        kept = service.keep_promise(
            session, world.actor(session, "cleo"), rid, pid, "called", T0 + timedelta(minutes=30)
        )
        assert kept.state == "kept"
    with db.unit_of_work(readonly=True) as session:
        assert (
            session.scalar(
                select(Event.kind).where(Event.request_id == rid).order_by(Event.id.desc())
            )
            == "promise_kept"
        )


def test_done_late_still_counts_as_broken(db: Database, world: World) -> None:
    rid, pid = _promised(db, world, timedelta(hours=1))
    with db.unit_of_work() as session:
        late = service.keep_promise(
            session, world.actor(session, "cleo"), rid, pid, "called", T0 + timedelta(hours=2)
        )
        assert late.state == "broken"
        assert late.done_note == "called"


def test_only_the_maker_or_owner_marks_it_done_and_only_once(db: Database, world: World) -> None:
    rid, pid = _promised(db, world, timedelta(hours=1))
    with pytest.raises(NotAllowed), db.unit_of_work() as session:
        service.keep_promise(session, world.actor(session, "asha"), rid, pid, "called", T0)
    with db.unit_of_work() as session:
        service.keep_promise(session, world.actor(session, "cleo"), rid, pid, "called", T0)
    with pytest.raises(Conflict), db.unit_of_work() as session:
        service.keep_promise(session, world.actor(session, "cleo"), rid, pid, "again", T0)


def test_a_promise_must_be_due_in_the_future(db: Database, world: World) -> None:
    rid, _ = _promised(db, world, timedelta(hours=1))
    with pytest.raises(InvalidInput) as raised, db.unit_of_work() as session:
        service.make_promise(
            session, world.actor(session, "cleo"), rid, "yesterday", T0 - timedelta(hours=1), T0
        )
    assert raised.value.field == "due_at"


def test_the_maker_is_reminded_shortly_before_and_both_sides_and_the_lead_hear_when_it_breaks(
    db: Database, world: World
) -> None:
    _, pid = _promised(db, world, timedelta(hours=1))
    assert sweep(db, T0 + timedelta(minutes=40))["promises reminded"] == 1
    assert sweep(db, T0 + timedelta(minutes=45))["promises reminded"] == 0
    assert sweep(db, T0 + timedelta(minutes=61))["promises broken"] == 1
    with db.unit_of_work(readonly=True) as session:
        promise = session.get(Promise, pid)
        assert promise is not None
        assert promise.state == "broken"
        told = set(
            session.scalars(
                select(Notification.person_id).where(Notification.kind == "promise_broken")
            )
        )
        # Cleo made it to Asha; Lee leads Policy Admin, which owns the request.
        assert told == {world.people["cleo"], world.people["asha"], world.people["lee"]}
