"""Role-play attempts: start one, take a choice, give a reply; each turn stored with its scores.

Services only flush; the request or command that calls them commits. A person sees and plays only
their own attempts (anyone else's is a 404, as if it did not exist).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from followthrough.errors import Conflict, InvalidInput, NotFound
from followthrough.practice.roleplay import rules, xapi_outbox
from followthrough.practice.roleplay.models import RolePlayAttempt, RolePlayTurn
from followthrough.practice.roleplay.scenario import (
    SHIPPED,
    Scenario,
    read_scenario,
    shipped_scenario,
)
from followthrough.practice.roleplay.scoring import ScoringModel, TurnScore, score_reply

MAX_REPLY = 2000
MAX_ATTEMPTS_LISTED = 50


class TurnTaken(Conflict):
    title = "This turn was already taken"


def scenario_named(name: str) -> Scenario:
    if name not in SHIPPED:
        raise NotFound(f"There is no role play called {name!r}.", field="scenario")
    return shipped_scenario(name)


def start_attempt(
    session: Session, person_id: int, scenario: Scenario, model: ScoringModel, now: datetime
) -> RolePlayAttempt:
    position = rules.start(scenario)
    attempt = RolePlayAttempt(
        person_id=person_id,
        scenario_name=scenario.name,
        scenario_version=scenario.version,
        scenario_text=scenario.source,
        rubric_version=model.version,
        model_name=model.embedder.name,
        node=position.node,
        state=dict(position.values),
        turns_taken=0,
        started_at=now,
    )
    session.add(attempt)
    session.flush()
    # The learning record goes in the same transaction (an outbox row; the sweeper sends it).
    xapi_outbox.queue_attempt_started(session, attempt, now)
    return attempt


def attempt_of(session: Session, person_id: int, attempt_id: int) -> RolePlayAttempt:
    """The person's own attempt; anyone else's is not found."""
    attempt = session.get(RolePlayAttempt, attempt_id)
    if attempt is None or attempt.person_id != person_id:
        raise NotFound("There is no such role play attempt.")
    return attempt


def attempts_of(session: Session, person_id: int) -> list[RolePlayAttempt]:
    query = (
        select(RolePlayAttempt)
        .where(RolePlayAttempt.person_id == person_id)
        .order_by(RolePlayAttempt.started_at.desc(), RolePlayAttempt.id.desc())
        .limit(MAX_ATTEMPTS_LISTED)
    )
    return list(session.scalars(query))


def turns_of(session: Session, attempt: RolePlayAttempt) -> list[RolePlayTurn]:
    query = (
        select(RolePlayTurn)
        .where(RolePlayTurn.attempt_id == attempt.id)
        .order_by(RolePlayTurn.number)
    )
    return list(session.scalars(query))


def played_scenario(attempt: RolePlayAttempt) -> Scenario:
    """The scenario as it was when the attempt started (its stored text)."""
    return read_scenario(attempt.scenario_text, source=f"{attempt.scenario_name}.yaml")


def _position(attempt: RolePlayAttempt) -> rules.Position:
    return rules.Position(attempt.node, {k: int(v) for k, v in attempt.state.items()})


def _check_turn(attempt: RolePlayAttempt, expected_turn: int | None) -> None:
    # Two tabs, or a double click: the second answer to the same turn is refused, not applied.
    if expected_turn is not None and expected_turn != attempt.turns_taken:
        raise TurnTaken(
            "This turn was already answered; the conversation has moved on.", field="turn"
        )


def _record(
    session: Session,
    attempt: RolePlayAttempt,
    scenario: Scenario,
    after: rules.Position,
    turn: RolePlayTurn,
    now: datetime,
) -> RolePlayTurn:
    attempt.turns_taken += 1
    attempt.node = after.node
    attempt.state = dict(after.values)
    ending = scenario.node(after.node).ending
    if ending is not None:
        attempt.outcome = ending.outcome.value
        attempt.ended_at = now
    session.add(turn)
    try:
        session.flush()
    except IntegrityError as error:
        raise TurnTaken("This turn was already answered; the conversation has moved on.") from error
    xapi_outbox.queue_turn(session, attempt, turn, now)
    return turn


def take_choice(
    session: Session,
    attempt: RolePlayAttempt,
    index: int,
    now: datetime,
    expected_turn: int | None = None,
) -> RolePlayTurn:
    _check_turn(attempt, expected_turn)
    scenario = played_scenario(attempt)
    before = _position(attempt)
    after = rules.choose(scenario, before, index)
    choice = scenario.node(before.node).choices[index]
    turn = RolePlayTurn(
        attempt_id=attempt.id,
        number=attempt.turns_taken + 1,
        speaker="participant",
        node=before.node,
        kind="choice",
        choice_index=index,
        text=choice.text,
        node_after=after.node,
        state_after=dict(after.values),
        at=now,
    )
    return _record(session, attempt, scenario, after, turn, now)


@dataclass(frozen=True)
class ScoredReply:
    turn: RolePlayTurn
    score: TurnScore


def give_reply(
    session: Session,
    attempt: RolePlayAttempt,
    text: str,
    model: ScoringModel,
    now: datetime,
    expected_turn: int | None = None,
) -> ScoredReply:
    """Score the reply on the rubric and move the conversation on by the scenario's rules."""
    text = text.strip()
    if not text:
        raise InvalidInput("text must not be empty", field="text")
    if len(text) > MAX_REPLY:
        raise InvalidInput(f"text must be at most {MAX_REPLY} characters", field="text")
    _check_turn(attempt, expected_turn)
    scenario = played_scenario(attempt)
    before = _position(attempt)
    score = score_reply(text, model)
    shown = frozenset(s.behaviour for s in score.behaviours if s.present)
    after = rules.answer(scenario, before, shown, score.total)
    turn = RolePlayTurn(
        attempt_id=attempt.id,
        number=attempt.turns_taken + 1,
        speaker="participant",
        node=before.node,
        kind="reply",
        text=text,
        scores=score.as_dict(),
        points=score.total,
        node_after=after.node,
        state_after=dict(after.values),
        at=now,
    )
    return ScoredReply(_record(session, attempt, scenario, after, turn, now), score)
