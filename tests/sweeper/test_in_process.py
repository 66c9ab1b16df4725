"""The embedded default: the web process sweeps by itself."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import select

from followthrough.db import Database
from followthrough.promises import service as promises
from followthrough.promises.models import Promise
from followthrough.requests import service
from followthrough.requests.service import NewRequest
from tests.conftest import Clock, serving
from tests.factories import World


def test_the_server_process_breaks_a_promise_when_its_time_passes(
    db: Database, world: World, clock: Clock
) -> None:
    with db.unit_of_work() as session:
        cleo = world.actor(session, "cleo")
        request = service.open_request(
            session,
            cleo,
            NewRequest(title="t", need="n", service_id=world.services["correct_policy"]),
            clock.now,
        )
        promises.make_promise(
            session, cleo, request.id, "call back", clock.now + timedelta(minutes=30), clock.now
        )
    with serving(db, clock, sweep_every=0.05):
        clock.advance(hours=1)
        deadline = time.monotonic() + 10
        state = "open"
        while state == "open" and time.monotonic() < deadline:
            time.sleep(0.05)
            with db.unit_of_work(readonly=True) as session:
                state = session.scalars(select(Promise.state)).one()
    assert state == "broken"
