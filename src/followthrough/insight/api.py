"""Insight over HTTP (/api/v1/insight/...): thin translations to the Insight services.

Periods are `start` and `end` (ISO 8601); without them, the 30 days up to now. Privacy is
applied by the services, so the API and the pages show exactly the same.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from fastapi.encoders import jsonable_encoder
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from followthrough.config import Settings
from followthrough.errors import InvalidInput
from followthrough.fields import Hours, Id, ZonedDateTime
from followthrough.insight import health, recognition, review, ripple, scorecard, silo
from followthrough.org.actors import Actor
from followthrough.org.local_time import clock_for
from followthrough.web.deps import (
    CurrentActor,
    CurrentPerson,
    DbSession,
    Now,
    UnitOfWorkRoute,
    settings,
)

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/insight", tags=["insight"])

DEFAULT_PERIOD = timedelta(days=30)

Start = Annotated[
    ZonedDateTime | None, Query(description="Period start (default: 30 days before end).")
]
End = Annotated[ZonedDateTime | None, Query(description="Period end, exclusive (default: now).")]


def period(
    start: datetime | None, end: datetime | None, now: datetime
) -> tuple[datetime, datetime]:
    """The period asked for, in UTC; the 30 days to now by default."""
    end = end or now
    start = start or end - DEFAULT_PERIOD
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInput(
            "start and end need a time zone, e.g. 2026-11-01T00:00:00Z", field="start"
        )
    if end <= start:
        raise InvalidInput("end must be after start", field="end")
    return start, end


def plain(value: Any) -> Any:
    """Dataclasses (and their nested dicts with non-string keys) as JSON-ready values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return jsonable_encoder(value)


def _minimum(request_settings: Settings) -> int:
    return request_settings.insight_minimum_group_size


AppSettings = Annotated[Settings, Depends(settings)]


@router.get("/scorecards")
def list_scorecards(
    session: DbSession,
    actor: CurrentActor,
    now: Now,
    app_settings: AppSettings,
    level: Annotated[scorecard.Level, Query(description="person, team or department")] = "team",
    start: Start = None,
    end: End = None,
) -> Any:
    """Every scorecard of a level the caller may see, with the change against the period
    before; people: only yourself and the people you lead; small groups withheld."""
    first, last = period(start, end, now)
    cards = scorecard.scorecards(
        session,
        actor,
        scorecard.require_level(level),
        first,
        last,
        minimum_group_size=_minimum(app_settings),
    )
    return plain(cards)


@router.get("/scorecards/{level}/{subject_id}")
def get_scorecard(
    level: scorecard.Level,
    subject_id: Id,
    session: DbSession,
    actor: CurrentActor,
    person: CurrentPerson,
    now: Now,
    app_settings: AppSettings,
    start: Start = None,
    end: End = None,
    unit: Annotated[Literal["week", "month"], Query(description="week or month")] = "week",
) -> Any:
    """One scorecard with its weekly or monthly trend (404 for a person you may not see). The
    weeks and months are those of your own time zone (your profile), named by their first day."""
    first, last = period(start, end, now)
    return plain(
        scorecard.scorecard(
            session,
            actor,
            scorecard.require_level(level),
            subject_id,
            first,
            last,
            unit=unit,
            minimum_group_size=_minimum(app_settings),
            clock=clock_for(person),
        )
    )


@router.get("/ripple/cases/{case_id}")
def get_case_ripple(case_id: Id, session: DbSession, actor: CurrentActor, now: Now) -> Any:
    """The requests a customer case waited on and each team's hours of the customer's wait."""
    return plain(ripple.case_ripple(session, actor, case_id, now))


@router.get("/ripple/teams/{team_id}")
def get_team_ripple(
    team_id: Id,
    session: DbSession,
    actor: CurrentActor,
    now: Now,
    start: Start = None,
    end: End = None,
    threshold_hours: Annotated[Hours, Query()] = 8.0,
) -> Any:
    """The customers behind a team's work, and how many waited over the threshold on it."""
    first, last = period(start, end, now)
    return plain(
        ripple.team_ripple(
            session, actor, team_id, first, last, now, threshold=timedelta(hours=threshold_hours)
        )
    )


@router.get("/silo")
def get_silo_map(
    session: DbSession, actor: CurrentActor, now: Now, start: Start = None, end: End = None
) -> Any:
    """The department network, E-I indices, modularity, brokers, isolated teams, pair figures."""
    first, last = period(start, end, now)
    return plain(silo.silo_map(session, first, last))


@router.get(
    "/silo/network.graphml",
    response_class=Response,
    responses={200: {"content": {"application/graphml+xml": {"schema": {"type": "string"}}}}},
)
def get_network_graphml(
    session: DbSession, actor: CurrentActor, now: Now, start: Start = None, end: End = None
) -> Response:
    """The team handover network as GraphML."""
    first, last = period(start, end, now)
    body = silo.graphml(silo.load_org(session), silo.team_edges(session, first, last))
    return Response(body, media_type="application/graphml+xml")


@router.get(
    "/silo/network.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def get_network_csv(
    session: DbSession, actor: CurrentActor, now: Now, start: Start = None, end: End = None
) -> Response:
    """The team handover network as a CSV edge list."""
    first, last = period(start, end, now)
    body = silo.edge_csv(silo.load_org(session), silo.team_edges(session, first, last))
    return Response(body, media_type="text/csv; charset=utf-8")


@router.get("/health")
def list_relationship_health(
    session: DbSession,
    actor: CurrentActor,
    now: Now,
    team_id: Annotated[Id | None, Query(description="Only pairs this team is in.")] = None,
) -> Any:
    """Trust per ordered team pair, worst first, with its interval, trend and deterioration."""
    return plain(health.relationship_health(session, now, team_id=team_id))


@router.get("/recognitions")
def list_recognition_suggestions(
    session: DbSession, actor: CurrentActor, now: Now, start: Start = None, end: End = None
) -> Any:
    """Suggestions from the period about the people you lead, not yet confirmed or dismissed.
    Worked out when asked; nothing is stored until a lead decides."""
    first, last = period(start, end, now)
    return plain(recognition.suggestions_for(session, actor, first, last))


class RecognitionDecision(BaseModel):
    """One suggestion of `GET /insight/recognitions`, named by its person, reason and period."""

    model_config = ConfigDict(extra="forbid")

    person_id: int = Field(ge=1, le=2**31 - 1)
    reason: str = Field(min_length=1, max_length=32)
    period_start: AwareDatetime
    period_end: AwareDatetime


def _decide(
    body: RecognitionDecision, session: Session, actor: Actor, now: datetime, confirm: bool
) -> Any:
    first, last = period(body.period_start, body.period_end, now)
    return plain(
        recognition.decide(session, actor, body.person_id, body.reason, first, last, confirm, now)
    )


@router.post("/recognitions/confirm")
def confirm_recognition(
    body: RecognitionDecision, session: DbSession, actor: CurrentActor, now: Now
) -> Any:
    """A lead of the person confirms the suggestion: it then appears in the weekly digest."""
    return _decide(body, session, actor, now, True)


@router.post("/recognitions/dismiss")
def dismiss_recognition(
    body: RecognitionDecision, session: DbSession, actor: CurrentActor, now: Now
) -> Any:
    """A lead of the person dismisses the suggestion: it is not suggested again for the period."""
    return _decide(body, session, actor, now, False)


@router.get("/digest")
def get_digest(
    session: DbSession,
    actor: CurrentActor,
    person: CurrentPerson,
    now: Now,
    week: Annotated[ZonedDateTime | None, Query(description="Any instant in the week.")] = None,
) -> Any:
    """The company's week (Monday to Sunday in your own time zone): confirmed recognitions
    and wins."""
    week_start = recognition.week_of(week or now, clock_for(person))
    return plain(recognition.digest(session, week_start))


@router.get("/review/{a}/{b}")
def get_pair_review(
    a: Id,
    b: Id,
    session: DbSession,
    actor: CurrentActor,
    person: CurrentPerson,
    now: Now,
    app_settings: AppSettings,
    start: Start = None,
    end: End = None,
) -> Any:
    """The service review of team A's experience of team B over the period (the scorecard's
    weeks in your own time zone)."""
    first, last = period(start, end, now)
    return plain(
        review.pair_review(
            session,
            actor,
            a,
            b,
            first,
            last,
            now,
            clock_for(person),
            minimum_group_size=_minimum(app_settings),
        )
    )
