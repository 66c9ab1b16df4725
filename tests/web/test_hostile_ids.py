"""Ids typed into the desk's own forms (an offer's target, the offers ticked to accept in bulk,
a webhook's team) that `str.isdigit` takes but `int` refuses ("²"), longer than `int` reads, or
beyond what the columns hold: refused beside the field (422) or left out, nothing written,
never a 500 — on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from followthrough.db import Database
from followthrough.requests.models import Offer
from followthrough.requests.service import NewRequest, open_request
from followthrough.webhooks.models import WebhookSubscription
from followthrough.webhooks.service import EVENT_KINDS
from tests.conftest import Clock, LiveServer
from tests.factories import World
from tests.web.pages import Visitor

ODD_IDS = ["²", "١٢", "1" * 5000, str(2**31), str(2**63), str(2**64), "-1", "0", "1.5"]


def _count(db: Database, model: Any) -> int:
    with db.unit_of_work(readonly=True) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def visit(live_server: LiveServer) -> Iterator[Any]:
    opened: list[Visitor] = []

    def signed_in(handle: str) -> Visitor:
        person = Visitor(live_server.base_url)
        assert person.sign_in(handle).status_code == 303
        opened.append(person)
        return person

    yield signed_in
    for person in opened:
        person.close()


def test_an_offer_to_an_odd_team_or_person_is_refused_beside_the_target(
    db: Database, world: World, clock: Clock, visit: Any
) -> None:
    with db.unit_of_work() as session:
        new = NewRequest(
            title="Policy P-100 has the wrong address",
            need="Correct the address so claim C-1 can be paid",
            service_id=world.services["correct_policy"],
        )
        request_id = open_request(session, world.actor(session, "asha"), new, clock.now).id
    offers = _count(db, Offer)
    lee = visit("lee")
    team, person = world.teams["claims"], world.people["carl"]
    for value in ODD_IDS:
        for target in (f"team:{value}", f"person:{team}:{value}", f"person:{value}:{person}"):
            answer = lee.post(f"/requests/{request_id}/offers", {"target": target, "note": "x"})
            assert answer.status_code == 422, (target[:30], answer.text[:300])
            assert 'id="handoff-target-error"' in answer.text, target[:30]
    assert _count(db, Offer) == offers
    assert lee.get(f"/requests/{request_id}").status_code == 200


def test_offers_ticked_with_odd_ids_are_left_out_of_a_bulk_accept(
    db: Database, world: World, visit: Any
) -> None:
    lee = visit("lee")
    for value in ODD_IDS:
        ticked = {"offer": [f"{value}:1", f"1:{value}"]}
        answer = lee.post(f"/team/{world.teams['admin']}/accept", ticked)
        assert answer.status_code == 422, (value[:20], answer.text[:300])
        assert "Tick the offers to accept first" in answer.text


def test_a_webhook_for_an_odd_team_is_refused_not_sent_for_every_team(
    db: Database, world: World, visit: Any
) -> None:
    ada = visit("ada")
    hook = {"url": "https://hooks.example.com/desk", "kinds": EVENT_KINDS[0], "description": "d"}
    for value in ODD_IDS:
        answer = ada.post("/admin/webhooks", {**hook, "team_id": value})
        assert answer.status_code == 422, (value[:20], answer.text[:300])
        assert 'id="webhook-team_id-error"' in answer.text, value[:20]
        assert "Choose a team from the list" in answer.text, value[:20]
    assert _count(db, WebhookSubscription) == 0
    assert ada.post("/admin/webhooks", {**hook, "team_id": ""}).status_code == 303
