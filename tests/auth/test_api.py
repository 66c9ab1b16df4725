"""Signing in and API tokens over real HTTP: cookies need CSRF, revoked or deactivated tokens
stop working, a token's use is recorded on changes."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from followthrough.auth.models import ApiToken
from followthrough.db import Database
from followthrough.history.models import Event
from followthrough.org.models import Person
from tests.conftest import Clock, LiveServer
from tests.factories import PASSWORD, World

PROBLEM = "application/problem+json"


def _events(db: Database) -> int:
    with db.unit_of_work(readonly=True) as session:
        return int(session.scalar(select(func.count()).select_from(Event)) or 0)


def _open(client: httpx.Client, world: World) -> None:
    body = {"title": "T", "need": "N", "service_id": world.services["correct_policy"]}
    response = client.post("/requests", json=body)
    assert response.status_code == 201, response.text


def test_password_sign_in_sets_a_cookie_and_cookie_writes_need_csrf(
    world: World, live_server: LiveServer
) -> None:
    with httpx.Client(base_url=live_server.base_url + "/api/v1") as browser:
        wrong = browser.post("/session", json={"handle": "asha", "password": "nope-nope"})
        assert wrong.status_code == 401
        assert wrong.headers["content-type"] == PROBLEM
        signed = browser.post("/session", json={"handle": "asha", "password": PASSWORD})
        assert signed.status_code == 200
        csrf = signed.json()["csrf_token"]
        assert browser.get("/me").json()["handle"] == "asha"
        body = {"title": "x", "need": "y", "service_id": world.services["correct_policy"]}
        refused = browser.post("/requests", json=body)
        assert refused.status_code == 403
        assert refused.json()["field"] == "x-csrf-token"
        assert (
            browser.post("/requests", json=body, headers={"X-CSRF-Token": csrf}).status_code == 201
        )


def test_requests_need_authentication(live_server: LiveServer, world: World) -> None:
    anonymous = live_server.client()
    assert anonymous.get("/requests").status_code == 401
    bad = live_server.client("ft_not-a-token").get("/requests")
    assert bad.status_code == 401
    assert bad.json()["field"] == "authorization"


def test_revoked_tokens_stop_working(
    live_server: LiveServer, tokens: dict[str, str], world: World
) -> None:
    asha = live_server.client(tokens["asha"])
    created = asha.post("/me/tokens", json={"name": "script"}).json()
    script = live_server.client(created["token"])
    assert script.get("/me").status_code == 200
    assert asha.delete(f"/me/tokens/{created['id']}").json()["revoked_at"] is not None
    assert script.get("/me").status_code == 401


def test_a_deactivated_persons_token_stops_working_and_writes_nothing(
    db: Database, live_server: LiveServer, tokens: dict[str, str], world: World
) -> None:
    asha = live_server.client(tokens["asha"])
    _open(asha, world)
    with db.unit_of_work() as session:
        person = session.get(Person, world.people["asha"])
        assert person is not None
        person.active = False
    before = _events(db)
    refused = asha.post(
        "/requests",
        json={"title": "T", "need": "N", "service_id": world.services["correct_policy"]},
    )
    assert refused.status_code == 401
    assert refused.json()["field"] == "authorization"
    assert _events(db) == before


def _token_used_at(db: Database, token_id: int) -> object:
    with db.unit_of_work(readonly=True) as session:
        token = session.get(ApiToken, token_id)
        assert token is not None
        return token.last_used_at


def test_a_token_records_its_use_on_changes_at_most_once_a_minute(
    db: Database, live_server: LiveServer, tokens: dict[str, str], world: World, clock: Clock
) -> None:
    asha = live_server.client(tokens["asha"])
    created = asha.post("/me/tokens", json={"name": "script"}).json()
    script = live_server.client(created["token"])
    assert script.get("/requests").status_code == 200
    assert _token_used_at(db, created["id"]) is None  # a read is not recorded
    opened_at = clock.now
    _open(script, world)
    assert _token_used_at(db, created["id"]) == opened_at
    clock.advance(seconds=30)
    _open(script, world)
    assert _token_used_at(db, created["id"]) == opened_at
    later = clock.advance(seconds=31)
    _open(script, world)
    assert _token_used_at(db, created["id"]) == later
