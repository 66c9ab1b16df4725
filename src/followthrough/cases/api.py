"""HTTP API for customer cases."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from followthrough.cases import service
from followthrough.cases.models import Case
from followthrough.fields import MAX_ID, Id, Text, ZonedDateTime
from followthrough.requests.queries import person_names, summary, team_names
from followthrough.requests.rules import OPEN_STATES
from followthrough.requests.schemas import RequestSummary
from followthrough.web.deps import CurrentActor, DbSession, Now, UnitOfWorkRoute
from followthrough.web.schemas import Input

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/cases", tags=["cases"])


class CaseIn(Input):
    reference: str = Field(min_length=1, max_length=64)
    customer: str = Field(min_length=1, max_length=200)
    external_due_at: ZonedDateTime | None = None
    note: str = Field(default="", max_length=5000)


class CaseOut(BaseModel):
    id: int
    reference: str
    customer: str
    external_due_at: datetime | None
    note: str


class CaseDetail(CaseOut):
    requests: list[RequestSummary]
    latest_likely_at: datetime | None = Field(
        description="The latest 8-in-10 date among open requests: what the customer can honestly be told;"
        " empty while any open request has no certified date"
    )


def _out(case: Case) -> CaseOut:
    return CaseOut(
        id=case.id,
        reference=case.reference,
        customer=case.customer,
        external_due_at=case.external_due_at,
        note=case.note,
    )


@router.post("", status_code=201, response_model=CaseOut)
def add_case(body: CaseIn, session: DbSession, actor: CurrentActor, now: Now) -> CaseOut:
    case = service.add_case(
        session, actor, body.reference, body.customer, body.external_due_at, body.note, now
    )
    return _out(case)


@router.get("", response_model=list[CaseOut])
def find_cases(
    session: DbSession,
    actor: CurrentActor,
    q: Annotated[Text, Query(max_length=200)] = "",
    limit: Annotated[int, Query(ge=1, le=MAX_ID)] = 50,
) -> list[CaseOut]:
    """Search cases by reference or customer."""
    return [_out(c) for c in service.find_cases(session, q, max(1, min(limit, 200)))]


@router.get("/{case_id}", response_model=CaseDetail)
def get_case(case_id: Id, session: DbSession, actor: CurrentActor) -> CaseDetail:
    case = service.get_case(session, case_id)
    requests = service.case_requests(session, actor, case_id)
    people = person_names(session, [p for r in requests for p in (r.owner_id, r.requester_id)])
    teams = team_names(session, [r.team_id for r in requests])
    # Withdrawn and merged requests ended too: the case waits on nothing there.
    waiting_on = [r for r in requests if r.state in OPEN_STATES]
    likely = [r.eta_likely_at for r in waiting_on]
    # One open request without a certified date (too little history to be sure) means the case
    # has none either: the latest of the others would be a date nobody can stand behind.
    known = [at for at in likely if at is not None]
    return CaseDetail(
        **_out(case).model_dump(),
        requests=[summary(r, people, teams) for r in requests],
        latest_likely_at=max(known) if known and len(known) == len(likely) else None,
    )
