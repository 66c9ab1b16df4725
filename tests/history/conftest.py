"""A short real history made by the product itself: a bounce, a resolution, open requests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from followthrough.db import Database
from followthrough.requests import service
from followthrough.requests.service import NewRequest
from tests.conftest import T0
from tests.factories import World


@dataclass(frozen=True)
class History:
    bounced: int  # Policy Admin -> Claims -> back to Policy Admin, resolved and closed
    waiting: int  # accepted, an update, then waiting on an outside party
    untouched: int  # opened, nobody accepted yet


def make_history(db: Database, world: World) -> History:
    at = T0
    teams = world.teams

    def step(minutes: int = 30) -> None:
        nonlocal at
        at += timedelta(minutes=minutes)

    with db.unit_of_work() as session:

        def actor(handle: str):  # type: ignore[no-untyped-def]
            return world.actor(session, handle)

        def intake(request_id: int) -> int:
            offer = service.open_offer_of(session, request_id)
            assert offer is not None
            return offer.id

        bounced = service.open_request(
            session,
            actor("asha"),
            NewRequest(
                title="Policy P-1 has the wrong address",
                need="Correct the address so the claim can be paid",
                service_id=world.services["correct_policy"],
            ),
            at,
        ).id
        step()
        service.accept_offer(session, actor("cleo"), bounced, intake(bounced), at)
        step()
        offer = service.offer_request(
            session, actor("cleo"), bounced, teams["claims"], None, "claims must check", at
        )
        step()
        service.accept_offer(session, actor("carl"), bounced, offer.id, at)
        step()
        offer = service.offer_request(
            session, actor("carl"), bounced, teams["admin"], world.people["cleo"], "yours", at
        )
        step()
        service.accept_offer(session, actor("cleo"), bounced, offer.id, at)
        step()
        service.resolve_request(session, actor("cleo"), bounced, "Address corrected", at)
        step()
        service.confirm_resolution(session, actor("asha"), bounced, at)

        step()
        waiting = service.open_request(
            session,
            actor("asha"),
            NewRequest(title="Claim C-7 needs a review", need="Review it", team_id=teams["claims"]),
            at,
        ).id
        step()
        service.accept_offer(session, actor("carl"), waiting, intake(waiting), at)
        step()
        service.post_update(session, actor("carl"), waiting, 'Looking into it <"&">', at)
        step()
        service.start_waiting(session, actor("carl"), waiting, "outside", "the broker", at)

        step()
        untouched = service.open_request(
            session,
            actor("asha"),
            NewRequest(title="Another wrong address", need="Fix", team_id=teams["admin"]),
            at,
        ).id
    return History(bounced=bounced, waiting=waiting, untouched=untouched)


@pytest.fixture
def history(db: Database, world: World) -> History:
    return make_history(db, world)
