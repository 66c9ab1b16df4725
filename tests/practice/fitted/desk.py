"""A few weeks of resolved requests made by the product itself, so the small test world has a
history to fit the simulation to (the demo's takes a minute to build)."""

from __future__ import annotations

from datetime import datetime, timedelta

from followthrough.db import Database
from followthrough.requests import service
from followthrough.requests.service import NewRequest
from tests.factories import World


def resolve_requests(db: Database, world: World, until: datetime, count: int = 24) -> None:
    """`count` policy fixes asked by Claims over the 30 days before `until`, each accepted by
    Policy Admin within hours and resolved the same day or the next."""
    with db.unit_of_work() as session:
        asha, cleo = world.actor(session, "asha"), world.actor(session, "cleo")
        for n in range(count):
            at = until - timedelta(days=30) + timedelta(hours=29 * n)
            request = service.open_request(
                session,
                asha,
                NewRequest(
                    title=f"Policy P-{n} has the wrong address",
                    need="Correct the address so the claim can be paid",
                    service_id=world.services["correct_policy"],
                ),
                at,
            )
            intake = service.open_offer_of(session, request.id)
            assert intake is not None
            at += timedelta(hours=1 + n % 3)
            service.accept_offer(session, cleo, request.id, intake.id, at)
            at += timedelta(hours=2 + n % 5)
            service.resolve_request(session, cleo, request.id, "Address corrected", at)
