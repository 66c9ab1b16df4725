"""API shapes for requests. Inputs reject unknown fields; outputs are built from rows explicitly."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, computed_field

from followthrough.fields import Customers, Id, Version, ZonedDateTime
from followthrough.requests.service import NewRequest
from followthrough.timescale.rules import SOURCE_NAMES, EstimateBasis, source_of
from followthrough.web.schemas import Input


class RequestIn(Input):
    title: str = Field(min_length=1, max_length=200)
    need: str = Field(
        min_length=1, max_length=10_000, description="The need in the requester's words"
    )
    service_id: Id | None = Field(default=None, description="Omit for 'not sure which team'")
    team_id: Id | None = None
    context: str = Field(default="", max_length=10_000)
    impact_customers: Customers = 0
    desired_by: ZonedDateTime | None = None
    priority: Literal["low", "normal", "high", "urgent"] = "normal"
    case_ids: list[Id] = Field(default_factory=list, max_length=50)
    parent_id: Id | None = Field(default=None, description="Open as a sub-request of this request")

    def as_new_request(self, case_ids: tuple[int, ...] | None = None) -> NewRequest:
        """What the requester tells us, for the service; `case_ids` replaces the listed cases."""
        return NewRequest(
            title=self.title,
            need=self.need,
            service_id=self.service_id,
            team_id=self.team_id,
            context=self.context,
            impact_customers=self.impact_customers,
            desired_by=self.desired_by,
            priority=self.priority,
            case_ids=tuple(self.case_ids) if case_ids is None else case_ids,
            parent_id=self.parent_id,
        )


class VersionedIn(Input):
    version: Version | None = Field(
        default=None, description="The version you saw; 409 if it moved on"
    )


class OfferIn(VersionedIn):
    to_team_id: Id
    to_person_id: Id | None = None
    note: str = Field(default="", max_length=5000, description="What was already done")


class DeclineIn(VersionedIn):
    reason: str = Field(min_length=1, max_length=5000)


class QuestionIn(VersionedIn):
    question: str = Field(min_length=1, max_length=5000)


class AnswerIn(VersionedIn):
    answer: str = Field(min_length=1, max_length=5000)


class WaitIn(VersionedIn):
    reason: Literal["requester", "sub_request", "outside"]
    note: str = Field(min_length=1, max_length=5000)
    child_request_id: Id | None = None


class UpdateIn(VersionedIn):
    body: str = Field(min_length=1, max_length=10_000)


class ResolveIn(VersionedIn):
    resolution: str = Field(min_length=1, max_length=10_000)


class ReopenIn(VersionedIn):
    reason: str = Field(min_length=1, max_length=5000)


class LinkCaseIn(Input):
    case_id: Id


class WithdrawIn(VersionedIn):
    reason: str = Field(
        min_length=1, max_length=5000, description="Why it is no longer needed; the owner sees it"
    )


class ServiceChangeIn(VersionedIn):
    service_id: Id = Field(description="The catalog service the request belongs under")
    reason: str = Field(
        min_length=1, max_length=5000, description="Why it belongs there; the requester sees it"
    )


class MergeIn(VersionedIn):
    into_id: Id = Field(description="The open request this one duplicates")
    note: str = Field(default="", max_length=5000, description="Why they are the same")


class PersonRef(BaseModel):
    id: int
    name: str


class TeamRef(BaseModel):
    id: int
    name: str


class Timescale(BaseModel):
    median_at: datetime | None
    likely_at: datetime | None
    basis: str | None

    @computed_field(description="Where the estimate comes from (timescale.rules.EstimateBasis)")
    def source(self) -> EstimateBasis | None:
        return source_of(self.basis)

    @computed_field(description="The source as every page names it")
    def source_name(self) -> str | None:
        kind = source_of(self.basis)
        return None if kind is None else SOURCE_NAMES[kind]


class RequestSummary(BaseModel):
    id: int
    title: str
    state: str
    waiting_on: str | None
    priority: str
    confidential: bool
    team: TeamRef
    owner: PersonRef
    requester: PersonRef
    service_id: int | None
    opened_at: datetime
    updated_at: datetime
    next_update_due_at: datetime | None
    resolve_due_at: datetime | None
    bounce_count: int
    timescale: Timescale
    version: int


class RequestPage(BaseModel):
    items: list[RequestSummary]
    limit: int
    offset: int
    has_more: bool


class OfferOut(BaseModel):
    id: int
    kind: str
    state: str
    from_person: PersonRef
    to_team: TeamRef
    to_person: PersonRef | None
    note: str
    offered_at: datetime
    due_at: datetime
    escalated_at: datetime | None
    answered_at: datetime | None
    decline_reason: str | None


class PathStepOut(BaseModel):
    team: TeamRef
    entered_at: datetime
    is_bounce: bool


class PauseOut(BaseModel):
    reason: str
    note: str
    child_request_id: int | None
    started_at: datetime
    ended_at: datetime | None


class UpdateOut(BaseModel):
    id: int
    author: PersonRef
    body: str
    posted_at: datetime


class PromiseOut(BaseModel):
    id: int
    made_by: PersonRef
    what: str
    due_at: datetime
    made_at: datetime
    state: str
    done_at: datetime | None
    done_note: str | None


class CaseRef(BaseModel):
    id: int
    reference: str
    customer: str
    external_due_at: datetime | None


class ChildOut(BaseModel):
    id: int
    title: str
    state: str
    team: TeamRef
    owner: PersonRef


class MergedRef(BaseModel):
    id: int
    title: str
    state: str


class RatingOut(BaseModel):
    understand: int
    own: int
    serve: int
    communicate: int
    comment: str
    rated_at: datetime


class RequestDetail(RequestSummary):
    need: str
    context: str
    impact_customers: int
    desired_by: datetime | None
    parent_id: int | None
    accepted_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    resolution: str | None
    auto_close_at: datetime | None
    offers: list[OfferOut]
    path: list[PathStepOut]
    pauses: list[PauseOut]
    updates: list[UpdateOut]
    promises: list[PromiseOut]
    cases: list[CaseRef]
    children: list[ChildOut]
    rating: RatingOut | None
    merged_into: MergedRef | None = Field(
        default=None, description="The request this duplicate was merged into"
    )
    merged_from: list[MergedRef] = Field(
        default_factory=list, description="Duplicates merged into this request"
    )


class EventOut(BaseModel):
    id: int
    kind: str
    at: datetime
    actor_id: int | None
    team_id: int | None
    other_team_id: int | None
    person_id: int | None
    payload: dict[str, Any]
