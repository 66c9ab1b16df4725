"""Routing names catalog services, not only teams: learnt from what similar resolved requests
were raised on, shown only when it beats always naming the busiest service, and never a
confidential service (its requests are not learnt from).

Each synthetic history is decided by its words: which words go with which service is the
generator's rule here, so the expected service is known without asking the model.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from followthrough.db import Database
from followthrough.insight import routing_service
from followthrough.insight.routing import (
    RAISE_TIME,
    RequestToRoute,
    ResolvedExample,
    TeamModel,
    baseline_accuracy,
    by_service,
    model_accuracy,
    routing_verdict,
    suggest_services,
    time_ordered_split,
)
from followthrough.insight.routing_service import request_to_route, routing_answer
from tests.conftest import LiveServer
from tests.factories import World
from tests.insight.routing_history import Past, write_history

# Two services of one team, told apart only by their words; a third of another team.
REFUND, DEBIT, LAPTOP = 11, 12, 13
BILLING, IT = 1, 2
WORDS = {
    REFUND: ("refund", "overpaid", "premium", "money back"),
    DEBIT: ("direct debit", "mandate", "bank", "collection failed"),
    LAPTOP: ("laptop", "screen", "keyboard", "battery"),
}
TEAM = {REFUND: BILLING, DEBIT: BILLING, LAPTOP: IT}


def _history(n: int, seed: int) -> list[ResolvedExample]:
    rng = random.Random(seed)
    examples = []
    for _ in range(n):
        service = rng.choices([REFUND, DEBIT, LAPTOP], [0.45, 0.35, 0.2])[0]
        text = " ".join(rng.sample(WORDS[service], 2)) + " please"
        examples.append(ResolvedExample(text, TEAM[service], None, service_id=service))
    return examples


def test_the_service_model_names_the_service_the_words_belong_to() -> None:
    examples = _history(300, seed=1)
    model = TeamModel(examples, RAISE_TIME, by_service)
    for service, words in WORDS.items():
        first = suggest_services(model, RequestToRoute(f"{words[0]} {words[2]}"))[0]
        assert first.service_id == service
        assert first.similar > 0


def test_service_suggestions_beat_always_naming_the_busiest_service() -> None:
    train, test = time_ordered_split(_history(300, seed=2), 0.2)
    baseline, busiest = baseline_accuracy(train, test, by_service)
    assert busiest == REFUND
    assert baseline.top1 == pytest.approx(sum(e.service_id == REFUND for e in test) / len(test))
    model = model_accuracy(train, test, RAISE_TIME, by_service)
    assert model.top1 == 1.0
    assert routing_verdict(model, baseline, busiest).on


def test_requests_without_a_service_are_not_learnt_from() -> None:
    examples = [*_history(50, seed=3), ResolvedExample("refund triage", 9, None)]
    model = TeamModel(examples, RAISE_TIME, by_service)
    assert len(model.examples) == 50
    assert set(model.by_volume) == {REFUND, DEBIT, LAPTOP}


@pytest.fixture(autouse=True)
def _learn_afresh() -> Iterator[None]:
    routing_service.forget_learnt()
    yield
    routing_service.forget_learnt()


def _desk_history(world: World, n: int = 150, seed: int = 4) -> list[Past]:
    """Policy wording goes to Policy Admin's "Correct a policy document", claim wording to
    Claims' "Review a claim"; some confidential grievances use the policy words too."""
    rng = random.Random(seed)
    p, t, s = world.people, world.teams, world.services
    history = []
    for _ in range(n):
        if rng.random() < 0.5:
            words = " ".join(rng.sample(["policy", "address", "document", "schedule"], 2))
            history.append(
                Past(
                    p["asha"],
                    t["admin"],
                    p["cleo"],
                    words,
                    "please",
                    service_id=s["correct_policy"],
                )
            )
        elif rng.random() < 0.8:
            words = " ".join(rng.sample(["claim", "photos", "repair", "estimate"], 2))
            history.append(
                Past(
                    p["cleo"], t["claims"], p["asha"], words, "please", service_id=s["claim_review"]
                )
            )
        else:
            history.append(
                Past(
                    p["tess"],
                    t["hr"],
                    p["hana"],
                    "policy document",
                    "please",
                    confidential=True,
                    service_id=s["grievance"],
                )
            )
    return history


def test_the_desk_suggests_the_service_and_its_team(db: Database, world: World) -> None:
    with db.unit_of_work() as session:
        write_history(session, _desk_history(world))
    with db.unit_of_work(readonly=True) as session:
        actor = world.actor(session, "otto")
        policy = routing_answer(
            session, request_to_route(actor, "wrong address on the policy document")
        )
        claim = routing_answer(session, request_to_route(actor, "repair estimate and photos"))
    assert policy.services[0].service_id == world.services["correct_policy"]
    assert (policy.services[0].service_name, policy.services[0].team_name) == (
        "Correct a policy document",
        "Policy Admin",
    )
    assert claim.services[0].service_id == world.services["claim_review"]
    suggested = {s.service_id for s in (*policy.services, *claim.services)}
    assert world.services["grievance"] not in suggested


def test_the_suggestions_endpoint_names_the_service(
    db: Database, world: World, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    with db.unit_of_work() as session:
        write_history(session, _desk_history(world))
    answer = live_server.client(tokens["otto"]).get(
        "/routing/suggestions", params={"text": "policy address"}
    )
    assert answer.status_code == 200
    first = answer.json()["services"][0]
    assert (first["service_id"], first["team_name"]) == (
        world.services["correct_policy"],
        "Policy Admin",
    )
