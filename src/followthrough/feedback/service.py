"""Feedback services: the requester's four-block rating and colleague feedback (SBI)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from followthrough.errors import Conflict, InvalidInput, NotAllowed
from followthrough.feedback.models import ColleagueFeedback, Rating
from followthrough.org.actors import Actor
from followthrough.org.service import get_person
from followthrough.requests import lifecycle, rules
from followthrough.requests.models import Request
from followthrough.requests.service import (
    apply_change,
    facts_of,
    load_for_change,
    write_events_and_notices,
)

BLOCKS = ("understand", "own", "serve", "communicate")
FEEDBACK_KINDS = ("praise", "constructive")


def rate_request(
    session: Session,
    actor: Actor,
    request_id: int,
    scores: dict[str, int],
    comment: str,
    now: datetime,
) -> Rating:
    """After resolution the requester rates the four blocks from 1 to 5, once."""
    for block in BLOCKS:
        value = scores.get(block)
        if value is None or not 1 <= value <= 5:
            raise InvalidInput(f"{block} must be a whole number from 1 to 5", field=block)
    request = load_for_change(session, actor, request_id)
    rules.require_state("rate", request.state)
    if actor.person_id != request.requester_id:
        raise NotAllowed("only the requester can rate the request")
    if session.scalar(select(Rating.id).where(Rating.request_id == request.id)) is not None:
        raise Conflict("the request has already been rated", field="request_id")
    rating = Rating(
        request_id=request.id,
        rater_id=actor.person_id,
        understand=scores["understand"],
        own=scores["own"],
        serve=scores["serve"],
        communicate=scores["communicate"],
        comment=comment.strip(),
        rated_at=now,
    )
    session.add(rating)
    change = lifecycle.rate(
        facts_of(request),
        actor_id=actor.person_id,
        scores=lifecycle.Scores(**{block: scores[block] for block in BLOCKS}),
        comment=rating.comment,
        now=now,
    )
    apply_change(session, request, change)
    session.flush()
    return rating


def give_feedback(
    session: Session,
    actor: Actor,
    to_person_id: int,
    kind: str,
    situation: str,
    behaviour: str,
    impact: str,
    now: datetime,
    request_id: int | None = None,
) -> ColleagueFeedback:
    rules.require_one_of(kind, FEEDBACK_KINDS, "kind")
    situation = rules.require_text(situation, "situation", max_length=2000)
    behaviour = rules.require_text(behaviour, "behaviour", max_length=2000)
    impact = rules.require_text(impact, "impact", max_length=2000)
    get_person(session, to_person_id, "to_person_id")
    if to_person_id == actor.person_id:
        raise InvalidInput("feedback is for a colleague, not yourself", field="to_person_id")
    request: Request | None = None
    if request_id is not None:
        request = load_for_change(session, actor, request_id)
    feedback = ColleagueFeedback(
        from_person_id=actor.person_id,
        to_person_id=to_person_id,
        kind=kind,
        situation=situation,
        behaviour=behaviour,
        impact=impact,
        request_id=request_id,
        given_at=now,
    )
    session.add(feedback)
    session.flush()
    event, notice = lifecycle.give_feedback(
        team_id=None if request is None else request.team_id,
        actor_id=actor.person_id,
        to_person_id=to_person_id,
        kind=kind,
        now=now,
    )
    write_events_and_notices(
        session,
        request_id,
        (replace(event, payload=event.payload.with_new_row(feedback.id)),),
        (notice,),
        now,
    )
    session.flush()
    return feedback


def feedback_for(
    session: Session, person_id: int, *, received: bool, limit: int = 50
) -> list[ColleagueFeedback]:
    """Feedback a person received (or gave), newest first. Only they see it."""
    column = ColleagueFeedback.to_person_id if received else ColleagueFeedback.from_person_id
    query = (
        select(ColleagueFeedback).where(column == person_id).order_by(ColleagueFeedback.id.desc())
    )
    return list(session.scalars(query.limit(limit)))
