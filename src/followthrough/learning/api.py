"""HTTP API of the training programme: the catalog and cohorts (for learning leads), your own
plan and record (for everyone), a module's effect on the desk and a cohort's live role-play
debrief (for learning leads)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from followthrough.errors import NotAllowed
from followthrough.fields import Id
from followthrough.insight.effect import Interval
from followthrough.learning import service
from followthrough.org.actors import Actor
from followthrough.practice.roleplay.rubric import Block
from followthrough.web.deps import CurrentActor, DbSession, Now, UnitOfWorkRoute

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/learning", tags=["training programme"])


def _lead_only(actor: Actor) -> None:
    if not (actor.lead_of or actor.is_admin):
        raise NotAllowed("only team leads and admins run the training programme")


class ModuleOut(BaseModel):
    id: int
    name: str
    kind: str
    summary: str
    cohorts: int
    people: int
    completed: int


class SessionOut(BaseModel):
    id: int
    starts_at: datetime
    ends_at: datetime
    present: int


class CohortOut(BaseModel):
    id: int
    name: str
    module_id: int
    module: str
    people: int
    completed: int
    sessions: list[SessionOut]


class PlanOut(BaseModel):
    module_id: int
    module: str
    for_team: str | None
    due_at: datetime | None
    completed_at: datetime | None


class BlockOut(BaseModel):
    block: str
    mean: float | None
    observations: int
    latest: datetime | None


class EvidenceOut(BaseModel):
    block: str
    score: float
    source: str
    rated_by: str | None
    rated_at: datetime
    note: str


class MineOut(BaseModel):
    plan: list[PlanOut]
    record: list[BlockOut]
    evidence: list[EvidenceOut]


class IntervalOut(BaseModel):
    estimate: float
    low: float
    high: float


class HorizonOut(BaseModel):
    days: int
    effect: IntervalOut | None


class OutcomeOut(BaseModel):
    outcome: str
    label: str
    verdict: Literal["better", "worse", "no effect shown", "too little data"]
    overall: IntervalOut | None
    horizons: list[HorizonOut]
    summary: str


class EffectOut(BaseModel):
    module: str
    level: str
    start: datetime
    end: datetime
    completed: int
    not_yet: int
    outcomes: list[OutcomeOut]


@router.get("/modules", summary="The catalog of modules, with how many took each")
def list_modules(actor: CurrentActor, session: DbSession) -> list[ModuleOut]:
    _lead_only(actor)
    return [
        ModuleOut(
            id=m.id,
            name=m.name,
            kind=m.kind,
            summary=m.summary,
            cohorts=m.cohorts,
            people=m.members,
            completed=m.completed,
        )
        for m in service.catalog(session)
    ]


@router.get("/cohorts", summary="Cohorts, newest first, with their sessions and attendance")
def list_cohorts(actor: CurrentActor, session: DbSession) -> list[CohortOut]:
    _lead_only(actor)
    return [
        CohortOut(
            id=c.id,
            name=c.name,
            module_id=c.module_id,
            module=c.module,
            people=c.members,
            completed=c.completed,
            sessions=[
                SessionOut(id=s, starts_at=start, ends_at=end, present=present)
                for s, start, end, present in c.sessions
            ],
        )
        for c in service.cohorts(session)
    ]


@router.get("/mine", summary="Your learning plan and your record on the four building blocks")
def mine(actor: CurrentActor, session: DbSession, now: Now) -> MineOut:
    record, evidence = service.my_record(session, actor.person_id, now)
    return MineOut(
        plan=[
            PlanOut(
                module_id=p.module_id,
                module=p.module,
                for_team=p.for_team,
                due_at=p.due_at,
                completed_at=p.completed_at,
            )
            for p in service.my_plan(session, actor.person_id)
        ],
        record=[
            BlockOut(block=r.block, mean=r.mean, observations=r.count, latest=r.latest)
            for r in record
        ],
        evidence=[
            EvidenceOut(
                block=e.block,
                score=e.score,
                source=e.source,
                rated_by=e.rated_by,
                rated_at=e.rated_at,
                note=e.note,
            )
            for e in evidence
        ],
    )


@router.get(
    "/effects",
    summary="What each module asked for (?module=ID, repeatable) changed on the desk: per "
    "measure, the change with its 95% interval at 30, 60 and 90 days, or 'no effect shown' / "
    "'too little data'",
)
def module_effects(
    actor: CurrentActor,
    session: DbSession,
    now: Now,
    module: Annotated[list[Id] | None, Query(description="A module's id")] = None,
    level: Literal["person", "team"] = "person",
) -> list[EffectOut]:
    _lead_only(actor)
    return [_effect(service.effect_report(session, m, level, now)) for m in module or []]


def _effect(report: service.EffectReport) -> EffectOut:

    def interval(found: Interval | None) -> IntervalOut | None:
        if found is None:
            return None
        return IntervalOut(estimate=found.estimate, low=found.low, high=found.high)

    return EffectOut(
        module=report.module,
        level=report.level,
        start=report.start,
        end=report.end,
        completed=report.completed,
        not_yet=report.not_yet,
        outcomes=[
            OutcomeOut(
                outcome=o.outcome.name,
                label=o.outcome.label,
                verdict=o.verdict,
                overall=interval(o.overall),
                horizons=[HorizonOut(days=h.days, effect=interval(h.effect)) for h in o.horizons],
                summary=o.summary,
            )
            for o in report.outcomes
        ],
    )


class BehaviourSpreadOut(BaseModel):
    behaviour: str
    scorer: str = Field(description="participant, observer or automatic")
    replies: int
    heard: int
    share: float | None
    people: int
    lowest: float | None
    highest: float | None
    spread: float | None


class ParticipantOut(BaseModel):
    person_id: int
    name: str
    replies: int
    means: dict[str, dict[str, float | None]]


class LiveSessionOut(BaseModel):
    id: int
    scenario: str
    opened_at: datetime
    closed_at: datetime | None
    replies: int


class CohortDebriefOut(BaseModel):
    cohort_id: int
    name: str
    module: str
    sessions: list[LiveSessionOut]
    replies: int
    means: dict[str, dict[str, float | None]]
    behaviours: list[BehaviourSpreadOut]
    participants: list[ParticipantOut]


@router.get(
    "/debriefs",
    summary="The live role-play debrief of each cohort asked for (?cohort=ID, repeatable): "
    "over every session held for it, per behaviour and scorer how often it was heard and the "
    "spread between people, per block the mean points, and per participant",
)
def cohort_debriefs(
    actor: CurrentActor,
    session: DbSession,
    cohort: Annotated[list[Id] | None, Query(description="A cohort's id")] = None,
) -> list[CohortDebriefOut]:
    _lead_only(actor)
    return [_debrief(service.cohort_debrief(session, c)) for c in cohort or []]


def _means(found: dict[str, dict[Block, float | None]]) -> dict[str, dict[str, float | None]]:
    return {scorer: {b.value: v for b, v in blocks.items()} for scorer, blocks in found.items()}


def _debrief(found: service.CohortDebrief) -> CohortDebriefOut:
    return CohortDebriefOut(
        cohort_id=found.cohort_id,
        name=found.name,
        module=found.module,
        sessions=[
            LiveSessionOut(
                id=s.id,
                scenario=s.scenario,
                opened_at=s.opened_at,
                closed_at=s.closed_at,
                replies=s.replies,
            )
            for s in found.sessions
        ],
        replies=found.replies,
        means=_means(found.means),
        behaviours=[
            BehaviourSpreadOut(
                behaviour=b.behaviour.value,
                scorer=b.scorer,
                replies=b.replies,
                heard=b.heard,
                share=b.share,
                people=b.people,
                lowest=b.low,
                highest=b.high,
                spread=b.spread,
            )
            for b in found.behaviours
        ],
        participants=[
            ParticipantOut(
                person_id=p.person_id, name=p.name, replies=p.replies, means=_means(p.means)
            )
            for p in found.participants
        ],
    )
