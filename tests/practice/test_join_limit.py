"""Join codes over real HTTP: wrong guesses from one address are slowed down, other computers
are not, and the wait passes."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select

from followthrough.db import Database
from followthrough.practice.models import GameTeam
from tests.conftest import Clock, LiveServer
from tests.factories import World
from tests.web.pages import Visitor

JOIN = re.compile(r'name="join_token" value="([^"]+)"')
SETUP = {
    "title": "Join limits",
    "scenario": "professional_services",
    "teams": "Blue\nGreen",
    "rounds": "2",
    "days_per_round": "14",
    "budget_per_round": "50000",
    "replications": "1",
}


def _blue_code(live_server: LiveServer, db: Database) -> str:
    lead = Visitor(live_server.base_url)
    try:
        assert lead.sign_in("lee").status_code == 303
        assert lead.post("/practice/new", SETUP).status_code == 303
    finally:
        lead.close()
    with db.unit_of_work(readonly=True) as session:
        code = session.scalar(select(GameTeam.code).where(GameTeam.name == "Blue"))
    assert code
    return code


def _join(browser: httpx.Client, code: str) -> httpx.Response:
    token = JOIN.search(browser.get("/play").text)
    assert token
    return browser.post("/play", data={"code": code, "join_token": token.group(1)})


def _browser(live_server: LiveServer, address: str) -> httpx.Client:
    # The test server trusts its local peer as a proxy, so this is the address counted.
    return httpx.Client(
        base_url=live_server.base_url, headers={"X-Forwarded-For": address}, timeout=30
    )


def test_ten_wrong_codes_from_one_address_make_it_wait(
    world: World, live_server: LiveServer, db: Database, clock: Clock
) -> None:
    code = _blue_code(live_server, db)
    wrong = "ZZZZZ" if code != "ZZZZZ" else "YYYYY"
    with _browser(live_server, "10.2.0.1") as guesser, _browser(live_server, "10.2.0.2") as other:
        for _ in range(10):
            answer = _join(guesser, wrong)
            assert answer.status_code == 422
            assert "No team has this code" in answer.text
        refused = _join(guesser, code)
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "30"
        assert "Too many wrong codes" in refused.text
        assert "ft_team" not in guesser.cookies

        # Another computer joins with the right code meanwhile.
        assert _join(other, code).status_code == 303

        clock.advance(seconds=30)
        joined = _join(guesser, code)
        assert joined.status_code == 303
        assert joined.headers["location"] == "/play/team"


def test_an_empty_code_is_not_counted_as_a_guess(
    world: World, live_server: LiveServer, db: Database
) -> None:
    code = _blue_code(live_server, db)
    with _browser(live_server, "10.2.0.3") as player:
        for _ in range(12):
            assert _join(player, "   ").status_code == 422
        assert _join(player, code).status_code == 303
