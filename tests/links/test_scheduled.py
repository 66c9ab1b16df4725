"""Used action links are forgotten once they have expired, not before (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from followthrough.db import Database
from followthrough.links.models import UsedActionLink
from followthrough.links.scheduled import forget_used_links
from tests.conftest import Clock
from tests.factories import World


def test_expired_used_links_are_forgotten_and_live_ones_kept(
    db: Database, world: World, clock: Clock
) -> None:
    now = clock()
    with db.unit_of_work() as session:
        for nonce, hours in (("expired", -1), ("just", 0), ("live", 5)):
            session.add(
                UsedActionLink(
                    nonce=nonce,
                    person_id=world.people["cleo"],
                    action="accept_offer",
                    target_id=1,
                    used_at=now - timedelta(hours=10),
                    expires_at=now + timedelta(hours=hours),
                )
            )
    assert forget_used_links(db, now) == 2
    with db.unit_of_work() as session:
        assert list(session.scalars(select(UsedActionLink.nonce))) == ["live"]
