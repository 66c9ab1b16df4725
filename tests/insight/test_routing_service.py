"""Routing suggestions from a real database's resolved requests, and over HTTP."""

from __future__ import annotations

from datetime import timedelta

from followthrough.db import Database
from followthrough.insight.routing_service import resolved_examples, suggest_teams
from followthrough.requests import service
from followthrough.requests.service import NewRequest
from tests.conftest import T0, LiveServer
from tests.factories import World


def _resolved(db: Database, world: World, title: str, service_key: str, resolver: str) -> int:
    at = T0 + timedelta(minutes=5)
    with db.unit_of_work() as session:
        request = service.open_request(
            session,
            world.actor(session, "asha"),
            NewRequest(title=title, need="please help", service_id=world.services[service_key]),
            T0,
        )
        offer = service.open_offer_of(session, request.id)
        assert offer is not None
        service.accept_offer(session, world.actor(session, resolver), request.id, offer.id, at)
        service.resolve_request(session, world.actor(session, resolver), request.id, "done", at)
        return request.id


def test_suggests_the_team_and_person_that_resolved_similar_requests(
    db: Database, world: World
) -> None:
    for _ in range(3):
        _resolved(db, world, "Policy has the wrong address", "correct_policy", "cleo")
    _resolved(db, world, "Claim review for a water leak", "claim_review", "asha")
    with db.unit_of_work(readonly=True) as session:
        suggestions = suggest_teams(session, "wrong address on my policy")
    assert suggestions[0].team_id == world.teams["admin"]
    assert suggestions[0].team_name == "Policy Admin"
    assert suggestions[0].people[0].person_id == world.people["cleo"]
    assert suggestions[0].similar_requests == 3


def test_confidential_requests_are_not_used_for_suggestions(db: Database, world: World) -> None:
    _resolved(db, world, "A grievance about my manager", "grievance", "hana")
    with db.unit_of_work(readonly=True) as session:
        assert resolved_examples(session) == []
        assert len(resolved_examples(session, confidential=True)) == 1
        assert suggest_teams(session, "grievance about my manager") == []


def test_the_suggestions_endpoint_answers_with_teams_and_people(
    db: Database, world: World, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    _resolved(db, world, "Policy has the wrong address", "correct_policy", "cleo")
    client = live_server.client(tokens["asha"])
    answer = client.get("/routing/suggestions", params={"text": "policy address is wrong"})
    assert answer.status_code == 200
    first = answer.json()[0]
    assert first["team_name"] == "Policy Admin"
    assert first["people"][0]["person_id"] == world.people["cleo"]
    assert client.get("/routing/suggestions", params={"text": ""}).status_code in (400, 422)
