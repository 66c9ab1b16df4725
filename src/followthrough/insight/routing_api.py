"""HTTP API for routing suggestions: which team to send a "not sure which team" request to."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from followthrough.fields import Text
from followthrough.insight.routing_service import suggest_teams
from followthrough.web.deps import CurrentActor, DbSession, UnitOfWorkRoute

router = APIRouter(route_class=UnitOfWorkRoute, tags=["routing"])


class SuggestedPersonOut(BaseModel):
    person_id: int
    name: str
    share: float


class TeamSuggestionOut(BaseModel):
    team_id: int
    team_name: str
    score: float
    similar_requests: int
    people: list[SuggestedPersonOut]


@router.get("/routing/suggestions", response_model=list[TeamSuggestionOut])
def routing_suggestions(
    session: DbSession,
    actor: CurrentActor,
    text: Annotated[Text, Query(min_length=1, max_length=4000)],
    limit: Annotated[int, Query(ge=1, le=10)] = 3,
) -> list[TeamSuggestionOut]:
    """Teams (and people) that resolved the most similar requests, best first."""
    return [
        TeamSuggestionOut(
            team_id=s.team_id,
            team_name=s.team_name,
            score=s.score,
            similar_requests=s.similar_requests,
            people=[
                SuggestedPersonOut(person_id=p.person_id, name=p.name, share=p.share)
                for p in s.people
            ],
        )
        for s in suggest_teams(session, text, limit)
    ]
