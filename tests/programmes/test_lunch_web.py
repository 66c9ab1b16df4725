"""Lunch and learn over real HTTP: a session proposed (a refusal names its field), a place
taken, attendance (only for whoever runs it), feedback and the notes link shown."""

from __future__ import annotations

from datetime import timedelta

from followthrough.db import Database
from tests.conftest import Clock, LiveServer
from tests.factories import World
from tests.web.pages import Visitor


def visitor(live_server: LiveServer, handle: str) -> Visitor:
    person = Visitor(live_server.base_url)
    assert person.sign_in(handle).status_code == 303
    return person


def test_propose_take_a_place_record_who_came_and_give_feedback(
    db: Database, world: World, clock: Clock, live_server: LiveServer
) -> None:
    asha, cleo = visitor(live_server, "asha"), visitor(live_server, "cleo")
    try:
        page = asha.get("/lunch-and-learn")
        assert page.status_code == 200
        assert "No sessions yet" in page.text
        proposal = {
            "title": "What Claims needs in a payment request",
            "team": str(world.teams["claims"]),
            "starts_at": (clock.now + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"),
            "minutes": "45",
            "place": "Room 3",
            "capacity": "1",
        }
        refused = asha.post("/lunch-and-learn", {**proposal, "capacity": "none"})
        assert refused.status_code == 422
        assert "give the number of places as a whole number" in refused.text.lower()
        assert asha.post("/lunch-and-learn", proposal).status_code == 303
        page = cleo.get("/lunch-and-learn")
        assert "What Claims needs in a payment request" in page.text
        assert "0 of 1 places taken" in page.text
        lunch_id = page.text.split('action="/lunch-and-learn/')[1].split("/")[0]
        assert cleo.post(f"/lunch-and-learn/{lunch_id}/sign-up", {}).status_code == 303
        assert "1 of 1 places taken; you have a place" in cleo.get("/lunch-and-learn").text
        full = asha.post(f"/lunch-and-learn/{lunch_id}/sign-up", {})
        assert full.status_code == 409
        assert "This session is full" in full.text

        clock.advance(days=2, hours=1)
        refused = cleo.post(
            f"/lunch-and-learn/{lunch_id}/attendance", {"came": str(world.people["cleo"])}
        )
        assert refused.status_code == 403
        came = asha.post(
            f"/lunch-and-learn/{lunch_id}/attendance", {"came": str(world.people["cleo"])}
        )
        assert came.status_code == 303
        assert (
            cleo.post(
                f"/lunch-and-learn/{lunch_id}/feedback", {"rating": "5", "feedback": "Clear."}
            ).status_code
            == 303
        )
        bad_link = asha.post(f"/lunch-and-learn/{lunch_id}/notes", {"notes_link": "my notes"})
        assert bad_link.status_code == 422
        assert (
            asha.post(
                f"/lunch-and-learn/{lunch_id}/notes", {"notes_link": "https://wiki.example.com/n"}
            ).status_code
            == 303
        )
        page = cleo.get("/lunch-and-learn")
        assert "Rated 5.0 out of 5 by 1 of the 1 who came." in page.text
        assert 'href="https://wiki.example.com/n"' in page.text
    finally:
        asha.close()
        cleo.close()
