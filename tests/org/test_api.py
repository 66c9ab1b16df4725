"""The organisation API over real HTTP."""

from __future__ import annotations

from sqlalchemy import func, select

from followthrough.db import Database
from followthrough.org.models import Person
from tests.conftest import Clock, LiveServer, issue_tokens
from tests.factories import World


def test_an_admin_adds_a_person_who_can_then_sign_in(
    db: Database, world: World, clock: Clock, live_server: LiveServer
) -> None:
    tokens = issue_tokens(db, world, clock)
    admin = live_server.client(tokens["ada"])
    added = admin.post(
        "/people",
        json={
            "handle": "nina",
            "name": "Nina New",
            "email": "nina@example.com",
            "password": "a long enough secret",
        },
    )
    assert added.status_code == 201, added.text
    assert added.json()["handle"] == "nina"
    signed_in = live_server.client().post(
        "/session", json={"handle": "nina", "password": "a long enough secret"}
    )
    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.json()["name"] == "Nina New"


def test_only_an_admin_adds_people_and_a_refusal_stores_nothing(
    db: Database, world: World, clock: Clock, live_server: LiveServer
) -> None:
    tokens = issue_tokens(db, world, clock)
    with db.unit_of_work(readonly=True) as session:
        before = session.scalar(select(func.count()).select_from(Person))
    body = {"handle": "mal", "name": "Mal", "email": "mal@example.com", "password": "12345678x"}
    refused = live_server.client(tokens["lee"]).post("/people", json=body)
    anonymous = live_server.client().post("/people", json=body)
    assert refused.status_code == 403
    assert anonymous.status_code == 401
    with db.unit_of_work(readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(Person)) == before
