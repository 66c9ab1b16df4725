"""Lunch and learn over real HTTP: a session proposed (a refusal names its field), a place
taken, attendance (only for whoever runs it), feedback and the notes link shown."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from followthrough.db import Database
from followthrough.programmes import lunch
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
        # One rating is Cleo's own: counted, its mean not shown (Insight's smallest group: 5).
        assert "1 of the 1 who came rated it; the mean is shown from 5 ratings" in page.text
        assert "Rated 5.0" not in page.text
        assert 'href="https://wiki.example.com/n"' in page.text
    finally:
        asha.close()
        cleo.close()


def test_a_rush_for_the_last_place_works_out_the_topics_once(
    db: Database,
    world: World,
    clock: Clock,
    live_server: LiveServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The topics come from 90 days of the silo map; every refused sign-up draws the page again,
    # on SQLite inside the write turn every other writer waits for. Worked out on each of them,
    # a rush of 27 refusals on the demo answered 13 with 503 after 10 s.
    worked_out: list[int] = []
    silo_map = lunch.silo_map

    def counted(*args: Any, **kwargs: Any) -> Any:
        worked_out.append(1)
        return silo_map(*args, **kwargs)

    monkeypatch.setattr(lunch, "silo_map", counted)
    asha, cleo, hana = (visitor(live_server, h) for h in ("asha", "cleo", "hana"))
    try:
        proposal = {
            "title": "How Claims reads a policy",
            "team": str(world.teams["claims"]),
            "starts_at": (clock.now + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"),
            "minutes": "45",
            "place": "Room 3",
            "capacity": "1",
        }
        assert asha.post("/lunch-and-learn", proposal).status_code == 303
        page = cleo.get("/lunch-and-learn")
        lunch_id = page.text.split('action="/lunch-and-learn/')[1].split("/")[0]
        assert cleo.post(f"/lunch-and-learn/{lunch_id}/sign-up", {}).status_code == 303
        for person in (asha, hana, asha, hana):
            full = person.post(f"/lunch-and-learn/{lunch_id}/sign-up", {})
            assert full.status_code == 409
            assert "This session is full" in full.text
            assert "Topics worth a session" in full.text
        assert len(worked_out) == 1
    finally:
        for person in (asha, cleo, hana):
            person.close()


def test_a_notes_link_that_is_not_a_web_address_is_refused_with_the_reason_shown(
    world: World, clock: Clock, live_server: LiveServer
) -> None:
    asha = visitor(live_server, "asha")
    try:
        proposal = {
            "title": "Payment requests, from the Claims side",
            "team": str(world.teams["claims"]),
            "starts_at": (clock.now + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"),
            "minutes": "45",
            "place": "Room 3",
            "capacity": "5",
        }
        assert asha.post("/lunch-and-learn", proposal).status_code == 303
        page = asha.get("/lunch-and-learn")
        lunch_id = page.text.split('action="/lunch-and-learn/')[1].split("/")[0]
        clock.advance(days=2, hours=1)  # held: its notes may be linked
        # A browser takes this as a URL; the desk does not link it.
        refused = asha.post(f"/lunch-and-learn/{lunch_id}/notes", {"notes_link": "javascript:x"})
        assert refused.status_code == 422
        assert "give the notes or recording as a web address" in refused.text.lower()
        assert 'value="javascript:x"' in refused.text
    finally:
        asha.close()
