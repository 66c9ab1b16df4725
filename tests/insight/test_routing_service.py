"""Routing suggestions from a real database's resolved history, and over HTTP: on where they beat
always choosing the busiest team on the newest requests, off (saying why) where they do not.

Expected figures are worked out here from the generated history, oldest 80% against newest 20%.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from followthrough.cli import app
from followthrough.db import Database
from followthrough.insight import routing_service
from followthrough.insight.routing_service import (
    request_to_route,
    resolved_examples,
    routing_accuracy,
    routing_answer,
)
from tests.conftest import LiveServer
from tests.factories import World
from tests.insight.routing_history import Past, words, write_history

HELD_OUT = 30


@pytest.fixture(autouse=True)
def _learn_afresh() -> Iterator[None]:
    routing_service.forget_learnt()
    yield
    routing_service.forget_learnt()


def requester_decides(world: World, n: int = 150, seed: int = 3) -> list[Past]:
    """Asha's requests (Claims) go to Policy Admin, Cleo's (Policy Admin) to Claims, Tess's
    (Triage) to HR, nine times in ten; the words say nothing."""
    rng = random.Random(seed)
    p, t = world.people, world.teams
    rule = {"asha": ("admin", "cleo"), "cleo": ("claims", "asha"), "tess": ("hr", "hana")}
    history = []
    for _ in range(n):
        requester = rng.choices(["asha", "cleo", "tess"], [0.5, 0.3, 0.2])[0]
        team, owner = rule[requester] if rng.random() < 0.9 else rng.choice(list(rule.values()))
        history.append(Past(p[requester], t[team], p[owner], title=words(rng), need=words(rng)))
    return history


def nothing_decides(world: World, n: int = 150, seed: int = 5) -> list[Past]:
    """Policy Admin resolves six in ten whoever asks and whatever they write."""
    rng = random.Random(seed)
    p, t = world.people, world.teams
    history = []
    for _ in range(n):
        team, owner = rng.choices([("admin", "cleo"), ("claims", "asha")], [0.6, 0.4])[0]
        requester = rng.choice(["asha", "cleo", "tess", "otto"])
        priority = rng.choice(["low", "normal", "high"])
        history.append(
            Past(p[requester], t[team], p[owner], words(rng), words(rng), priority=priority)
        )
    return history


def busiest(history: list[Past]) -> tuple[int, float]:
    """The team that resolved most of the oldest 80%, and its share of the newest 20%."""
    train, test = history[: len(history) - HELD_OUT], history[len(history) - HELD_OUT :]
    team = Counter(p.team_id for p in train).most_common(1)[0][0]
    return team, sum(p.team_id == team for p in test) / len(test)


def test_suggests_the_team_the_requesters_team_goes_to_when_that_beats_the_busiest(
    db: Database, world: World
) -> None:
    history = requester_decides(world)
    with db.unit_of_work() as session:
        write_history(session, history)
    team, share = busiest(history)
    assert team == world.teams["admin"]
    held_out = history[-HELD_OUT:]
    home_to_team = {world.people["asha"]: "admin", world.people["cleo"]: "claims"}
    by_rule = sum(
        world.teams[home_to_team.get(p.requester_id, "hr")] == p.team_id for p in held_out
    ) / len(held_out)
    with db.unit_of_work(readonly=True) as session:
        asking = routing_answer(session, request_to_route(world.actor(session, "cleo"), "help"))
    assert asking.on
    assert (asking.evaluated, asking.busiest_team_id) == (HELD_OUT, team)
    assert asking.busiest_team_right == pytest.approx(share, abs=0.001)
    assert asking.right == pytest.approx(by_rule, abs=0.1)
    assert asking.teams[0].team_name == "Claims"
    assert asking.teams[0].people[0].person_id == world.people["asha"]
    assert f"always choosing Policy Admin was right {share:.0%}" in asking.reason


def test_suggestions_are_off_with_the_reason_when_nothing_beats_the_busiest_team(
    db: Database, world: World
) -> None:
    history = nothing_decides(world)
    with db.unit_of_work() as session:
        write_history(session, history)
    team, share = busiest(history)
    with db.unit_of_work(readonly=True) as session:
        answer = routing_answer(
            session, request_to_route(world.actor(session, "asha"), "please help", "high")
        )
    assert not answer.on
    assert answer.teams == ()
    assert answer.busiest_team_id == team == world.teams["admin"]
    assert answer.reason.startswith(
        f"Suggestions are off: on the last {HELD_OUT} resolved requests they were right"
    )
    assert f"always choosing Policy Admin {share:.0%}" in answer.reason or (
        f"always choosing Policy Admin was right {share:.0%}" in answer.reason
    )


def test_the_evaluation_puts_the_baseline_beside_every_method(db: Database, world: World) -> None:
    history = requester_decides(world)
    with db.unit_of_work() as session:
        write_history(session, history)
    _, share = busiest(history)
    with db.unit_of_work(readonly=True) as session:
        evaluation = routing_accuracy(session, 0.2, embeddings=False)
    baseline, suggested, *others = evaluation.results
    assert baseline.method.startswith("always the busiest team")
    assert baseline.top1 == pytest.approx(share)
    assert suggested.top1 > baseline.top1
    assert {r.evaluated for r in evaluation.results} == {HELD_OUT}
    assert evaluation.learnt_from == len(history) - HELD_OUT
    assert evaluation.verdict.on
    assert len(others) == 2  # every attribute, and the text neighbours


def test_confidential_requests_are_not_used_for_suggestions(db: Database, world: World) -> None:
    p, t = world.people, world.teams
    with db.unit_of_work() as session:
        write_history(
            session, [Past(p["tess"], t["hr"], p["hana"], "A grievance", confidential=True)]
        )
    with db.unit_of_work(readonly=True) as session:
        assert resolved_examples(session) == []
        assert len(resolved_examples(session, confidential=True)) == 1
        answer = routing_answer(
            session, request_to_route(world.actor(session, "asha"), "grievance")
        )
    assert (answer.on, answer.teams, answer.evaluated) == (False, (), 0)
    assert "too few" in answer.reason


def test_an_imported_requests_own_attributes_are_learnt_from_but_not_its_ids(
    db: Database, world: World
) -> None:
    p, t = world.people, world.teams
    payload = {
        "imported_from": "incidents.xes",
        "case_id": "1-364285768",
        "activity": "Queued",
        "import_digest": "abc",
        "product": "PROD582",
        "impact": "Medium",
        "source_incident_id": "77",
        "details": {"country": "Sweden"},
    }
    log = {"imported_from": "incidents.xes", "case_id": "1-7"}
    with db.unit_of_work() as session:
        write_history(
            session,
            [
                Past(p["asha"], t["admin"], p["cleo"], "Case 1-364285768", payloads=(payload,)),
                Past(p["asha"], t["admin"], p["cleo"], payloads=({"service_id": 3},)),
                # The log's first row was not an opening: the import made one up before it.
                Past(
                    p["asha"],
                    t["admin"],
                    p["cleo"],
                    payloads=(
                        {**log, "synthetic": True},
                        {**log, "synthetic": True, "intake": True},
                        {**log, "activity": "Accepted", "product": "PROD9", "waited_seconds": 5},
                        {**log, "activity": "Completed", "product": "PROD1"},
                    ),
                ),
            ],
        )
    with db.unit_of_work(readonly=True) as session:
        imported, desk, made_up = resolved_examples(session)
    desk_only = {"priority": "normal", "impact": "none", "requester team": str(t["claims"])}
    assert dict(imported.attributes) == {
        **desk_only,
        "source product": "PROD582",
        "source impact": "Medium",
        "source details.country": "Sweden",
    }
    assert dict(desk.attributes) == desk_only
    assert dict(made_up.attributes) == {**desk_only, "source product": "PROD9"}


def test_what_was_learnt_is_kept_until_the_history_changes_and_then_at_most_so_often(
    db: Database, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    learnt: list[int] = []
    real = routing_service._learn

    def counting(*args: object, **kwargs: object) -> routing_service._Learnt:
        learnt.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(routing_service, "_learn", counting)
    history = requester_decides(world, 60)
    with db.unit_of_work() as session:
        write_history(session, history[:50])

    def ask() -> None:
        with db.unit_of_work(readonly=True) as session:
            routing_answer(session, request_to_route(world.actor(session, "asha"), "help"))

    ask()
    ask()
    assert len(learnt) == 1
    with db.unit_of_work() as session:
        write_history(session, history[50:55])
    ask()
    assert len(learnt) == 2  # a small history is learnt again at once
    monkeypatch.setattr(routing_service, "LARGE_HISTORY", 10)
    with db.unit_of_work() as session:
        write_history(session, history[55:])
    ask()
    assert len(learnt) == 2  # a large one waits for REFRESH_SECONDS
    monkeypatch.setattr(routing_service, "REFRESH_SECONDS", 0.0)
    ask()
    assert len(learnt) == 3


def test_the_suggestions_endpoint_answers_with_teams_or_the_reason_there_are_none(
    db: Database, world: World, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    history = requester_decides(world)
    with db.unit_of_work() as session:
        write_history(session, history)
    _, share = busiest(history)
    client = live_server.client(tokens["asha"])
    answer = client.get("/routing/suggestions", params={"text": "policy address is wrong"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["suggesting"] is True
    assert (body["held_out"], body["busiest_team_name"]) == (HELD_OUT, "Policy Admin")
    assert body["busiest_team_right"] == pytest.approx(share, abs=0.001)
    assert body["teams"][0]["team_name"] == "Policy Admin"
    assert body["teams"][0]["people"][0]["person_id"] == world.people["cleo"]
    assert client.get("/routing/suggestions", params={"text": ""}).status_code in (400, 422)
    refused = client.get("/routing/suggestions", params={"text": "x", "priority": "soon"})
    assert refused.status_code in (400, 422)
    assert "priority" in refused.text


def test_routing_eval_prints_the_baseline_beside_the_model_and_the_verdict(
    db: Database, world: World
) -> None:
    history = nothing_decides(world)
    with db.unit_of_work() as session:
        write_history(session, history)
    _, share = busiest(history)
    result = CliRunner().invoke(app, ["insight", "routing-eval", "--database-url", db.url])
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert f"always the busiest team (baseline) │ {HELD_OUT} │ {share:.1%}" in output
    assert f"Suggestions are off: on the last {HELD_OUT} resolved requests" in output
