"""HTTP API for routing suggestions: which team to send a "not sure which team" request to, or
why no team is suggested."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from followthrough.fields import Customers, Text
from followthrough.insight.routing_service import request_to_route, routing_answer
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


class ServiceSuggestionOut(BaseModel):
    service_id: int
    service_name: str
    team_id: int
    team_name: str
    score: float
    similar_requests: int


class RoutingAnswerOut(BaseModel):
    """Suggested teams, or an empty list and the reason; the hold-out figures either way."""

    suggesting: bool = Field(
        description="false when suggestions did not beat always choosing the busiest team"
    )
    reason: str = Field(description="the verdict in words, with the figures")
    held_out: int = Field(description="newest resolved requests the suggestions were checked on")
    right: float = Field(description="share of them whose resolving team was suggested first")
    busiest_team_right: float = Field(
        description="share of them resolved by the team that resolved most of the older ones"
    )
    busiest_team_id: int | None
    busiest_team_name: str | None
    teams: list[TeamSuggestionOut]
    services: list[ServiceSuggestionOut] = Field(
        description="catalog services that fit the request, best first; empty when naming "
        "services did not beat always naming the busiest service"
    )


@router.get("/routing/suggestions", response_model=RoutingAnswerOut)
def routing_suggestions(
    session: DbSession,
    actor: CurrentActor,
    text: Annotated[Text, Query(min_length=1, max_length=4000)],
    priority: Literal["low", "normal", "high", "urgent"] = "normal",
    impact_customers: Annotated[Customers, Query()] = 0,
    limit: Annotated[int, Query(ge=1, le=10)] = 3,
) -> RoutingAnswerOut:
    """Teams (and people) likely to resolve a request raised by the caller, and the catalog
    services that fit it, best first; none, with the reason, when suggesting has not beaten
    always choosing the busiest team (or service)."""
    answer = routing_answer(
        session, request_to_route(actor, text, priority, impact_customers), limit
    )
    return RoutingAnswerOut(
        suggesting=answer.on,
        reason=answer.reason,
        held_out=answer.evaluated,
        right=answer.right,
        busiest_team_right=answer.busiest_team_right,
        busiest_team_id=answer.busiest_team_id,
        busiest_team_name=answer.busiest_team_name,
        teams=[
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
            for s in answer.teams
        ],
        services=[
            ServiceSuggestionOut(
                service_id=s.service_id,
                service_name=s.service_name,
                team_id=s.team_id,
                team_name=s.team_name,
                score=s.score,
                similar_requests=s.similar_requests,
            )
            for s in answer.services
        ],
    )
