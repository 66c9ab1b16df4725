"""The buddy pages over real HTTP: a person opts in and out and sees their buddy and answers
"did you meet?"; leads and admins see the rounds and meet rates; others may not."""

from __future__ import annotations

from followthrough.db import Database
from followthrough.programmes.service import pair_round, set_enrolment
from tests.conftest import Clock, LiveServer
from tests.factories import World
from tests.web.pages import Visitor


def visitor(live_server: LiveServer, handle: str) -> Visitor:
    person = Visitor(live_server.base_url)
    assert person.sign_in(handle).status_code == 303
    return person


def test_a_person_opts_in_sees_their_buddy_and_says_they_met(
    db: Database, world: World, clock: Clock, live_server: LiveServer
) -> None:
    asha = visitor(live_server, "asha")
    try:
        page = asha.get("/buddies")
        assert page.status_code == 200
        assert "You do not take part." in page.text
        refused = asha.post("/buddies", {"take_part": "maybe"})
        assert refused.status_code == 422
        assert "choose whether to take part" in refused.text.lower()
        assert asha.post("/buddies", {"take_part": "in", "trio": "yes"}).status_code == 303
        page = asha.get("/buddies")
        assert "You take part, and a group of three suits you." in page.text
        with db.unit_of_work() as session:
            set_enrolment(
                session, world.people["cleo"], opted_in=True, prefers_trio=False, now=clock.now
            )
            round_id = pair_round(session, clock.now, seed=1).id
        page = asha.get("/buddies")
        assert "Cleo Clerk (Policy Administration)" in page.text
        assert "Did you meet?" in page.text
        answered = asha.post(f"/buddies/rounds/{round_id}/met", {"met": "yes"})
        assert answered.status_code == 303
        assert "You said you met." in asha.get("/buddies").text
        assert asha.post("/buddies", {"take_part": "out"}).status_code == 303
        assert "You do not take part." in asha.get("/buddies").text
        # Only leads and admins see every round.
        assert asha.get("/buddies/rounds").status_code == 403
    finally:
        asha.close()
    carl = visitor(live_server, "carl")  # Claims' lead
    try:
        rounds = carl.get("/buddies/rounds")
        assert rounds.status_code == 200
        assert "100%" in rounds.text  # one group, answered, met
    finally:
        carl.close()
