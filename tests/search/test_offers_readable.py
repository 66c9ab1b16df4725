"""The board's offer lists and counts (Home, the badge) leave out the access rule's clause on
the grounds that the rule lets a person read every request an open offer names them or one of
their teams on. This holds that ground on desks changed at random, for every person."""

from __future__ import annotations

from sqlalchemy import or_, select

from followthrough.db import Database
from followthrough.requests.models import Offer
from tests.factories import World
from tests.search.test_scope import RandomDesk, _readable, _viewers


def test_every_request_an_open_offer_names_me_or_my_team_on_is_readable_by_me(
    db: Database, world: World
) -> None:
    desk = RandomDesk(world, seed=31)
    offered_somewhere = 0
    for _ in range(6):
        with db.unit_of_work() as session:
            for _ in range(25):
                desk.step(session)
        with db.unit_of_work(readonly=True) as session:
            for viewer in _viewers(world, session):
                offered = set(
                    session.scalars(
                        select(Offer.request_id).where(
                            Offer.state == "open",
                            or_(
                                Offer.to_person_id == viewer.person_id,
                                Offer.to_team_id.in_(viewer.team_ids),
                            ),
                        )
                    )
                )
                assert offered <= _readable(session, viewer), viewer
                offered_somewhere += len(offered)
    assert offered_somewhere > 20  # open offers there were: the inclusion was not of empty sets
