"""HTTP API for ratings and colleague feedback."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from followthrough.feedback import service
from followthrough.feedback.models import ColleagueFeedback
from followthrough.fields import Id
from followthrough.requests.api import Minimal, detail_response
from followthrough.requests.schemas import RequestDetail
from followthrough.web.deps import CurrentActor, CurrentPerson, DbSession, Now, UnitOfWorkRoute
from followthrough.web.schemas import Input

router = APIRouter(route_class=UnitOfWorkRoute, tags=["feedback"])

Score = Field(ge=1, le=5)


class RatingIn(Input):
    understand: int = Score
    own: int = Score
    serve: int = Score
    communicate: int = Score
    comment: str = Field(default="", max_length=5000)


class FeedbackIn(Input):
    to_person_id: Id
    kind: Literal["praise", "constructive"]
    situation: str = Field(min_length=1, max_length=2000)
    behaviour: str = Field(min_length=1, max_length=2000)
    impact: str = Field(min_length=1, max_length=2000)
    request_id: Id | None = None


class FeedbackOut(BaseModel):
    id: int
    from_person_id: int
    to_person_id: int
    kind: str
    situation: str
    behaviour: str
    impact: str
    request_id: int | None
    given_at: datetime


def _out(feedback: ColleagueFeedback) -> FeedbackOut:
    return FeedbackOut(
        id=feedback.id,
        from_person_id=feedback.from_person_id,
        to_person_id=feedback.to_person_id,
        kind=feedback.kind,
        situation=feedback.situation,
        behaviour=feedback.behaviour,
        impact=feedback.impact,
        request_id=feedback.request_id,
        given_at=feedback.given_at,
    )


@router.post("/requests/{request_id}/rating", status_code=201, response_model=RequestDetail)
def rate(
    request_id: Id,
    body: RatingIn,
    session: DbSession,
    actor: CurrentActor,
    minimal: Minimal,
    now: Now,
) -> JSONResponse:
    """The requester rates Understand, Own, Serve and Communicate from 1 to 5."""
    scores = body.model_dump(exclude={"comment"})
    service.rate_request(session, actor, request_id, scores, body.comment, now)
    return detail_response(session, actor, request_id, status=201, minimal=minimal)


@router.post("/feedback", status_code=201, response_model=FeedbackOut)
def give_feedback(
    body: FeedbackIn, session: DbSession, actor: CurrentActor, now: Now
) -> FeedbackOut:
    """Praise or constructive feedback for a colleague, as Situation-Behaviour-Impact."""
    feedback = service.give_feedback(
        session,
        actor,
        body.to_person_id,
        body.kind,
        body.situation,
        body.behaviour,
        body.impact,
        now,
        body.request_id,
    )
    return _out(feedback)


@router.get("/feedback", response_model=list[FeedbackOut])
def my_feedback(
    session: DbSession, person: CurrentPerson, direction: Literal["received", "given"] = "received"
) -> list[FeedbackOut]:
    """Your own feedback, received or given."""
    rows = service.feedback_for(session, person.id, received=direction == "received")
    return [_out(f) for f in rows]
