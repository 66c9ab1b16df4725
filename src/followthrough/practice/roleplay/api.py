"""HTTP API for role plays: the scenarios, your attempts, and turns scored as you take them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from followthrough.errors import InvalidInput
from followthrough.fields import Id
from followthrough.practice.roleplay import service
from followthrough.practice.roleplay.models import RolePlayAttempt, RolePlayTurn
from followthrough.practice.roleplay.scenario import Scenario, describe, shipped_scenarios
from followthrough.practice.roleplay.scoring import score_reply
from followthrough.practice.roleplay.web import ShippedScorer
from followthrough.web.deps import CurrentActor, DbSession, Now, UnitOfWorkRoute
from followthrough.web.schemas import Input

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/roleplay", tags=["role plays"])


class ScenarioOut(BaseModel):
    name: str
    version: int
    title: str
    summary: str
    you: str
    character: dict[str, str]
    covers: list[str]
    themes: list[str]


class AttemptIn(Input):
    scenario: str = Field(min_length=1, max_length=60, description="A scenario's name")


class TurnIn(Input):
    choice: int | None = Field(
        default=None, ge=0, le=20, description="The index of a choice (a choice step)"
    )
    text: str | None = Field(
        default=None, max_length=service.MAX_REPLY, description="Your reply (a reply step)"
    )
    turn: int | None = Field(
        default=None,
        ge=0,
        le=1000,
        description="Turns taken when you saw the step; a stale answer is refused with 409",
    )


class ReplyIn(Input):
    text: str = Field(min_length=1, max_length=service.MAX_REPLY)


class StepOut(BaseModel):
    node: str
    says: str
    choices: list[str]
    reply_prompt: str | None
    listen_for: list[str]
    ending: dict[str, str] | None


class TurnOut(BaseModel):
    number: int
    speaker: str
    kind: str
    text: str
    choice: int | None
    points: int | None
    scores: dict[str, Any] | None
    state_after: dict[str, int]
    at: datetime


class AttemptOut(BaseModel):
    id: int
    scenario: str
    scenario_version: int
    rubric_version: str
    model: str
    state: dict[str, int]
    turns_taken: int
    outcome: str | None
    started_at: datetime
    ended_at: datetime | None
    step: StepOut
    turns: list[TurnOut]


def step_out(scenario: Scenario, node_id: str) -> StepOut:
    node = scenario.node(node_id)
    return StepOut(
        node=node.id,
        says=node.say,
        choices=[choice.text for choice in node.choices],
        reply_prompt=node.reply.prompt if node.reply else None,
        listen_for=[b.value for b in node.reply.listen_for] if node.reply else [],
        ending={"title": node.ending.title, "outcome": node.ending.outcome.value}
        if node.ending
        else None,
    )


def turn_out(turn: RolePlayTurn) -> TurnOut:
    return TurnOut(
        number=turn.number,
        speaker=turn.speaker,
        kind=turn.kind,
        text=turn.text,
        choice=turn.choice_index,
        points=turn.points,
        scores=turn.scores,
        state_after={k: int(v) for k, v in turn.state_after.items()},
        at=turn.at,
    )


def attempt_out(attempt: RolePlayAttempt, turns: list[RolePlayTurn]) -> AttemptOut:
    scenario = service.played_scenario(attempt)
    return AttemptOut(
        id=attempt.id,
        scenario=attempt.scenario_name,
        scenario_version=attempt.scenario_version,
        rubric_version=attempt.rubric_version,
        model=attempt.model_name,
        state={k: int(v) for k, v in attempt.state.items()},
        turns_taken=attempt.turns_taken,
        outcome=attempt.outcome,
        started_at=attempt.started_at,
        ended_at=attempt.ended_at,
        step=step_out(scenario, attempt.node),
        turns=[turn_out(t) for t in turns],
    )


@router.get("/scenarios", response_model=list[ScenarioOut])
def scenarios(actor: CurrentActor) -> list[ScenarioOut]:
    """The role plays you can play, with the version each attempt records."""
    return [ScenarioOut(**describe(s)) for s in shipped_scenarios()]


@router.post("/attempts", status_code=201, response_model=AttemptOut)
def start(
    body: AttemptIn, session: DbSession, actor: CurrentActor, now: Now, model: ShippedScorer
) -> AttemptOut:
    """Start a role play (404 naming `scenario` if there is none of that name)."""
    scenario = service.scenario_named(body.scenario)
    attempt = service.start_attempt(session, actor.person_id, scenario, model, now)
    return attempt_out(attempt, [])


@router.get("/attempts", response_model=list[AttemptOut])
def attempts(session: DbSession, actor: CurrentActor) -> list[AttemptOut]:
    """Your latest attempts (at most 50), newest first, each with its turns."""
    found = service.attempts_of(session, actor.person_id)
    return [attempt_out(a, service.turns_of(session, a)) for a in found]


@router.get("/attempts/{attempt_id}", response_model=AttemptOut)
def attempt(attempt_id: Id, session: DbSession, actor: CurrentActor) -> AttemptOut:
    """One of your attempts: where it stands and every turn with its scores (404 if not yours)."""
    found = service.attempt_of(session, actor.person_id, attempt_id)
    return attempt_out(found, service.turns_of(session, found))


@router.post("/attempts/{attempt_id}/turns", status_code=201, response_model=TurnOut)
def take_turn(
    attempt_id: Id,
    body: TurnIn,
    session: DbSession,
    actor: CurrentActor,
    now: Now,
    model: ShippedScorer,
) -> TurnOut:
    """Answer the current step: `choice` at a choice step, `text` at a reply step. A reply is
    scored on the rubric; the scores quote the words that earned or lost each point."""
    found = service.attempt_of(session, actor.person_id, attempt_id)
    if (body.choice is None) == (body.text is None):
        raise InvalidInput("give either a choice or a text", field="choice")
    if body.choice is not None:
        return turn_out(service.take_choice(session, found, body.choice, now, body.turn))
    reply = service.give_reply(session, found, body.text or "", model, now, body.turn)
    return turn_out(reply.turn)


@router.post("/score", response_model=dict[str, Any])
def score(body: ReplyIn, actor: CurrentActor, model: ShippedScorer) -> dict[str, Any]:
    """Score one reply on the rubric without playing: each behaviour, its points and its words."""
    return score_reply(body.text, model).as_dict()
