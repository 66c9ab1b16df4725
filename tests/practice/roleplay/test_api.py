"""The role-play API and page over real HTTP: play, scores with their words, problems."""

from __future__ import annotations

import re

from followthrough.db import Database
from tests.conftest import Clock, LiveServer, issue_tokens
from tests.factories import World
from tests.web.pages import Visitor


def test_play_a_scenario_over_the_api(
    db: Database, world: World, clock: Clock, live_server: LiveServer
) -> None:
    tokens = issue_tokens(db, world, clock)
    handle, other = sorted(tokens)[:2]
    api = live_server.client(tokens[handle])
    listed = api.get("/roleplay/scenarios")
    assert listed.status_code == 200
    assert {"missed-call-back", "operations-peer", "bad-day", "feedback-conversation"} <= {
        s["name"] for s in listed.json()
    }
    started = api.post("/roleplay/attempts", json={"scenario": "operations-peer"})
    assert started.status_code == 201, started.text
    attempt = started.json()
    assert attempt["scenario_version"] == 1
    assert len(attempt["step"]["choices"]) == 3
    first = api.post(f"/roleplay/attempts/{attempt['id']}/turns", json={"choice": 0, "turn": 0})
    assert first.status_code == 201, first.text
    # The same turn again (a second tab) is refused, naming what happened.
    again = api.post(f"/roleplay/attempts/{attempt['id']}/turns", json={"choice": 0, "turn": 0})
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")
    reply = api.post(
        f"/roleplay/attempts/{attempt['id']}/turns",
        json={"text": "That's not my department, take it up with the directors.", "turn": 1},
    )
    assert reply.status_code == 201, reply.text
    scores = {b["behaviour"]: b for b in reply.json()["scores"]["behaviours"]}
    assert scores["deflects"]["points"] == -1
    assert "not my department" in scores["deflects"]["span"]["text"]
    after = api.get(f"/roleplay/attempts/{attempt['id']}").json()
    # A deflection sends Sam digging in.
    assert after["step"]["node"] == "digs_in"
    assert [t["kind"] for t in after["turns"]] == ["choice", "reply"]
    # Someone else's attempt does not exist for them.
    assert (
        live_server.client(tokens[other]).get(f"/roleplay/attempts/{attempt['id']}").status_code
        == 404
    )


def test_bad_input_gets_a_problem_naming_the_field(
    db: Database, world: World, clock: Clock, live_server: LiveServer
) -> None:
    tokens = issue_tokens(db, world, clock)
    api = live_server.client(tokens[sorted(tokens)[0]])
    missing = api.post("/roleplay/attempts", json={"scenario": "nope"})
    assert missing.status_code == 404
    assert missing.json()["field"] == "scenario" or "scenario" in missing.text
    attempt = api.post("/roleplay/attempts", json={"scenario": "bad-day"}).json()
    both = api.post(f"/roleplay/attempts/{attempt['id']}/turns", json={"choice": 0, "text": "hi"})
    assert both.status_code == 422
    wrong_kind = api.post(f"/roleplay/attempts/{attempt['id']}/turns", json={"text": "hello"})
    assert wrong_kind.status_code == 422
    assert "choice" in wrong_kind.text
    too_long = api.post(f"/roleplay/attempts/{attempt['id']}/turns", json={"text": "x" * 2001})
    assert too_long.status_code == 422
    scored = api.post("/roleplay/score", json={"text": "Not my job, ask finance."})
    assert scored.status_code == 200
    assert scored.json()["blocks"]["own"] == -1


def test_play_on_the_page_shows_each_score_with_its_words(
    db: Database, world: World, live_server: LiveServer
) -> None:
    handle = sorted(world.people)[0]
    visitor = Visitor(live_server.base_url)
    try:
        assert visitor.sign_in(handle).status_code == 303
        index = visitor.get("/practice/role-plays")
        assert index.status_code == 200
        assert "The call-back that never came" in index.text
        started = visitor.post("/practice/role-plays/start", {"scenario": "bad-day"})
        assert started.status_code == 303
        page_url = started.headers["location"]
        assert re.fullmatch(r"/practice/role-plays/attempts/\d+", page_url)
        turn_url = f"{page_url}/turns"
        assert visitor.post(turn_url, {"choice": "0", "turn": "0"}).status_code == 303
        empty = visitor.post(turn_url, {"text": "  ", "turn": "1"})
        assert empty.status_code == 422
        assert "\u201cYour answer\u201d must not be empty." in empty.text
        said = visitor.post(
            turn_url, {"text": "That must have been awful. Not my department though.", "turn": "1"}
        )
        assert said.status_code == 303
        page = visitor.get(page_url).text
        assert "Acknowledges how they feel" in page
        assert "<q>That must have been awful.</q>" in page
        assert "<q>Not my department though.</q>" in page
        assert "-1" in page
    finally:
        visitor.close()
