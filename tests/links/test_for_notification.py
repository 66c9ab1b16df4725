"""Which action link a notification carries: only one its reader may use (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from followthrough.db import Database
from followthrough.links.rules import LinkAction
from followthrough.links.service import action_for_notification
from followthrough.promises import service as promises
from followthrough.requests import service
from followthrough.requests.service import NewRequest
from tests.conftest import Clock
from tests.factories import World


def test_each_reader_gets_only_the_action_the_desk_allows_them(
    db: Database, world: World, clock: Clock
) -> None:
    p = world.people
    with db.unit_of_work() as session:
        request = service.open_request(
            session,
            world.actor(session, "asha"),
            NewRequest(
                title="Wrong address", need="Fix it", service_id=world.services["correct_policy"]
            ),
            clock(),
        )
        offer = service.open_offer_of(session, request.id)
        assert offer is not None
        request_id, offer_id = request.id, offer.id
        # Offered to Policy Admin: its members may accept; someone outside may not.
        assert action_for_notification(session, p["cleo"], "offer", request_id) == (
            LinkAction.ACCEPT_OFFER,
            offer_id,
        )
        assert action_for_notification(session, p["otto"], "offer", request_id) is None
        assert action_for_notification(session, p["cleo"], "offer", None) is None
        service.accept_offer(session, world.actor(session, "cleo"), request_id, offer_id, clock())
        # The offer is answered: no link for it any more.
        assert action_for_notification(session, p["dan"], "offer", request_id) is None
        promise = promises.make_promise(
            session,
            world.actor(session, "cleo"),
            request_id,
            "Call back",
            clock() + timedelta(hours=1),
            clock(),
        )
        assert action_for_notification(session, p["cleo"], "promise_due", request_id) == (
            LinkAction.KEEP_PROMISE,
            promise.id,
        )
        assert action_for_notification(session, p["lee"], "promise_due", request_id) is None
        # Not resolved yet: nothing to confirm.
        assert action_for_notification(session, p["asha"], "resolved", request_id) is None
        service.resolve_request(session, world.actor(session, "cleo"), request_id, "Done", clock())
        assert action_for_notification(session, p["asha"], "resolved", request_id) == (
            LinkAction.CONFIRM_RESOLUTION,
            request_id,
        )
        assert action_for_notification(session, p["cleo"], "resolved", request_id) is None
        assert action_for_notification(session, p["asha"], "update_posted", request_id) is None
