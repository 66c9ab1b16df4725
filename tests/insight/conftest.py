"""A small hand-made history driven through the real services, with known answers.

Policy Admin (lead lee, duty owner dan, clerk cleo) serves Claims (lead carl, assessor asha).
T0 is Monday 2 March 2026, 09:00 UTC.

R1 (case CLM-1 for Mrs Jones, opened T0-2h): asha asks; cleo accepts at +1h, promises and keeps,
   posts an update, resolves at +4h (in target); asha rates 5/4/3/2 and praises cleo.
R2: asha asks at +1h; dan offers it to cleo at +2h, cleo declines at +3h; dan promises at +2h
   (due +6h); at +2 days the update reminder fires and the promise is broken; dan posts a late
   update at +2d+1h and resolves at +3 days (past the target).
R3 (case CLM-1 too): asha asks at +1h; cleo accepts at +2h, hands it to Claims at +3h, asha
   accepts at +4h and hands it back at +5h; cleo accepts at +6h (a bounce caused by asha and
   Claims) and resolves at +7h.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

import pytest
from sqlalchemy.orm import Session

from followthrough.cases.service import add_case
from followthrough.db import Database
from followthrough.feedback.service import give_feedback, rate_request
from followthrough.history.payloads import UpdateReminded
from followthrough.history.service import record_event
from followthrough.promises import service as promises
from followthrough.promises.models import Promise
from followthrough.requests import service
from followthrough.requests.models import Request
from followthrough.requests.rules import Actor
from followthrough.requests.service import NewRequest
from tests.conftest import T0
from tests.factories import World

Result = TypeVar("Result")


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


@dataclass
class Story:
    r1: int
    r2: int
    r3: int
    case: int


class Desk:
    """Runs one change in its own unit of work, as a named person."""

    def __init__(self, db: Database, world: World) -> None:
        self.db = db
        self.world = world

    def __call__(self, handle: str, change: Callable[[Session, Actor], Result]) -> Result:
        with self.db.unit_of_work() as session:
            return change(session, self.world.actor(session, handle))


def _intake(session: Session, request_id: int) -> int:
    offer = service.open_offer_of(session, request_id)
    assert offer is not None
    return offer.id


def tell_story(db: Database, world: World) -> Story:
    desk = Desk(db, world)
    policy = world.services["correct_policy"]
    case = desk("asha", lambda s, a: add_case(s, a, "CLM-1", "Mrs Jones", None, "", at(-2)).id)

    def opened(hours: float, *, cases: tuple[int, ...] = ()) -> int:
        new = NewRequest(
            title="Fix the policy", need="Wrong address", service_id=policy, case_ids=cases
        )
        return desk("asha", lambda s, a: service.open_request(s, a, new, at(hours)).id)

    def accept(handle: str, rid: int, hours: float) -> None:
        desk(handle, lambda s, a: service.accept_offer(s, a, rid, _intake(s, rid), at(hours)))

    # R1
    r1 = opened(0, cases=(case,))
    accept("cleo", r1, 1)
    p1 = desk("cleo", lambda s, a: promises.make_promise(s, a, r1, "Call back", at(3), at(1.5)).id)
    desk("cleo", lambda s, a: promises.keep_promise(s, a, r1, p1, "Called", at(2)))
    desk("cleo", lambda s, a: service.post_update(s, a, r1, "On it", at(2)))
    desk("cleo", lambda s, a: service.resolve_request(s, a, r1, "Fixed", at(4)))
    scores = {"understand": 5, "own": 4, "serve": 3, "communicate": 2}
    desk("asha", lambda s, a: rate_request(s, a, r1, scores, "", at(5)))
    desk(
        "asha",
        lambda s, a: give_feedback(
            s, a, world.people["cleo"], "praise", "R1", "Quick", "Paid", at(5), r1
        ),
    )

    # R2
    r2 = opened(1)
    cleo = world.people["cleo"]
    admin = world.teams["admin"]
    offer = desk("dan", lambda s, a: service.offer_request(s, a, r2, admin, cleo, "", at(2)).id)
    p2 = desk("dan", lambda s, a: promises.make_promise(s, a, r2, "Call", at(6), at(2)).id)
    desk("cleo", lambda s, a: service.decline_offer(s, a, r2, offer, "Not mine", at(3)))

    def sweep_r2(session: Session, _actor: Actor) -> None:
        # What the sweeper writes at +2 days: the update reminder and the broken promise.
        request = service.lock_request(session, r2)
        record_event(
            session,
            UpdateReminded(),
            at(48),
            request_id=r2,
            team_id=request.team_id,
            person_id=request.owner_id,
        )
        promise = session.get(Promise, p2)
        assert promise is not None
        promises.break_promise(session, promise, request, at(48))

    desk("dan", sweep_r2)
    desk("dan", lambda s, a: service.post_update(s, a, r2, "Late news", at(49)))
    desk("dan", lambda s, a: service.resolve_request(s, a, r2, "Done late", at(72)))

    # R3
    r3 = opened(1, cases=(case,))
    accept("cleo", r3, 2)
    claims = world.teams["claims"]
    o1 = desk("cleo", lambda s, a: service.offer_request(s, a, r3, claims, None, "", at(3)).id)
    desk("asha", lambda s, a: service.accept_offer(s, a, r3, o1, at(4)))
    o2 = desk("asha", lambda s, a: service.offer_request(s, a, r3, admin, cleo, "", at(5)).id)
    desk("cleo", lambda s, a: service.accept_offer(s, a, r3, o2, at(6)))
    desk("cleo", lambda s, a: service.resolve_request(s, a, r3, "Fixed", at(7)))
    with db.unit_of_work() as session:
        bounced = session.get(Request, r3)
        assert bounced is not None
        assert bounced.bounce_count == 1
    return Story(r1, r2, r3, case)


@pytest.fixture
def story(db: Database, world: World) -> Story:
    return tell_story(db, world)
