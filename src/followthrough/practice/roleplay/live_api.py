"""HTTP API for live role plays: open a session, join it with its code in a role, play a group's
turns, score and note them, read the session and its side-by-side scores, close it and read the
debrief.

The same services as the pages (practice.roleplay.live_service), under the same rule: only the
session's facilitator and the people who joined it see it (anyone else gets 404); what each may
do follows their role. A screen that wants to follow a session polls its `version`.
"""

from __future__ import annotations

import random
from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from followthrough.errors import InvalidInput
from followthrough.fields import Id
from followthrough.learning import service as learning
from followthrough.org.actors import Actor
from followthrough.practice.roleplay import live_rules, live_service
from followthrough.practice.roleplay.api import StepOut, TurnOut, step_out, turn_out
from followthrough.practice.roleplay.live_models import LiveMark, LiveMember, LiveSession
from followthrough.practice.roleplay.rubric import Block
from followthrough.practice.roleplay.service import MAX_REPLY
from followthrough.practice.roleplay.web import ShippedScorer
from followthrough.web.deps import CurrentActor, DbSession, Now, UnitOfWorkRoute
from followthrough.web.schemas import Input

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/roleplay/live", tags=["live role plays"])
_codes = random.SystemRandom()


class OpenIn(Input):
    scenario: str = Field(min_length=1, max_length=60, description="A scenario's name")
    cohort_id: Id | None = Field(
        default=None,
        description="The training cohort the session is held for (team leads and admins); its "
        "rounds then count in the cohort's debrief",
    )


class JoinIn(Input):
    code: str = Field(min_length=1, max_length=20, description="The code the facilitator gave")
    group: int = Field(ge=1, le=live_rules.MAX_GROUPS, description="Your group's number")
    role: str = Field(min_length=1, max_length=12, description="participant, character or observer")


class LiveTurnIn(Input):
    choice: int | None = Field(
        default=None, ge=0, le=20, description="The index of a choice (a choice step)"
    )
    text: str | None = Field(
        default=None, max_length=MAX_REPLY, description="Your reply (a reply step)"
    )
    turn: int | None = Field(
        default=None,
        ge=0,
        le=1000,
        description="Turns taken when you saw the step; a stale answer is refused with 409",
    )


class MarkIn(Input):
    kind: str = Field(
        min_length=1,
        max_length=8,
        description="score (observers, and the participant of themselves), note (observers "
        "and the character's player) or line (the character's player says the next line)",
    )
    turn: int = Field(
        default=0, ge=0, le=1000, description="The participant's turn it is about (not a line)"
    )
    heard: list[str] = Field(
        default_factory=list,
        max_length=len(Block) * 4,
        description="A score: the rubric behaviours heard in the turn (none: an empty list)",
    )
    text: str = Field(
        default="",
        max_length=live_rules.MAX_NOTE,
        description="A note or a line; with a score, kept as a note of its own at the same time",
    )


class MemberOut(BaseModel):
    person_id: int
    name: str
    group: int
    role: str
    joined_at: datetime


class ScoredOut(BaseModel):
    heard: list[str]
    blocks: dict[str, int]
    total: int


class NoteOut(BaseModel):
    id: int
    author_id: int
    role: str
    text: str
    at: datetime


class RoundOut(BaseModel):
    turn: TurnOut
    said_before: str
    automatic: ScoredOut | None
    participant: ScoredOut | None
    observer: ScoredOut | None
    notes: list[NoteOut]


class AgreementOut(BaseModel):
    turns: int
    agreed: int
    decisions: int
    share: float | None


class GroupOut(BaseModel):
    number: int
    members: list[MemberOut]
    attempt_id: int | None
    outcome: str | None
    turns_taken: int
    step: StepOut | None
    next_line: str
    rounds: list[RoundOut]
    totals: dict[str, dict[str, int] | None]
    agreement: AgreementOut


class CohortOut(BaseModel):
    id: int
    name: str


class LiveSessionOut(BaseModel):
    id: int
    code: str
    scenario: str
    facilitator_id: int
    facilitating: bool
    you: MemberOut | None
    version: int
    opened_at: datetime
    closed_at: datetime | None
    cohort: CohortOut | None
    groups: list[GroupOut]


class LiveSessionLine(BaseModel):
    id: int
    scenario: str
    facilitating: bool
    opened_at: datetime
    closed_at: datetime | None


class DebriefOut(BaseModel):
    session: LiveSessionOut
    replies: int
    means: dict[str, dict[str, float | None]]
    agreement: AgreementOut


class MarkOut(BaseModel):
    id: int
    kind: str
    group: int
    turn: int
    heard: list[str] | None
    text: str
    at: datetime


def _scored(found: live_service.Scored | None) -> ScoredOut | None:
    if found is None:
        return None
    return ScoredOut(
        heard=sorted(b.value for b in found.heard),
        blocks={b.value: points for b, points in found.blocks.items()},
        total=found.total,
    )


def _agreement(found: live_rules.Agreement) -> AgreementOut:
    return AgreementOut(
        turns=found.turns, agreed=found.agreed, decisions=found.decisions, share=found.share
    )


def _member(member: LiveMember, name: str) -> MemberOut:
    return MemberOut(
        person_id=member.person_id,
        name=name,
        group=member.group_number,
        role=member.role,
        joined_at=member.joined_at,
    )


def _group(group: live_service.Group) -> GroupOut:
    attempt = group.attempt
    totals = {scorer: group.totals(scorer) for scorer in live_rules.SCORERS}
    return GroupOut(
        number=group.number,
        members=[_member(m, name) for m, name in group.members],
        attempt_id=attempt.id if attempt else None,
        outcome=attempt.outcome if attempt else None,
        turns_taken=attempt.turns_taken if attempt else 0,
        step=step_out(live_service.played(attempt), attempt.node) if attempt else None,
        next_line=group.next_line,
        rounds=[
            RoundOut(
                turn=turn_out(r.turn),
                said_before=r.said_before,
                automatic=_scored(r.automatic),
                participant=_scored(r.participant),
                observer=_scored(r.observer),
                notes=[
                    NoteOut(id=n.id, author_id=n.author_id, role=n.role, text=n.text, at=n.at)
                    for n in r.notes
                ],
            )
            for r in group.rounds
        ],
        totals={
            scorer: None if found is None else {b.value: p for b, p in found.items()}
            for scorer, found in totals.items()
        },
        agreement=_agreement(group.agreement()),
    )


def _session_out(
    session: DbSession, live: LiveSession, actor: Actor, groups: list[live_service.Group]
) -> LiveSessionOut:
    member = live_service.member_of(session, live, actor.person_id)
    you = None
    if member is not None:
        names = {m.person_id: name for g in groups for m, name in g.members}
        you = _member(member, names.get(member.person_id, ""))
    cohort = learning.cohort_of_live_session(session, live.id)
    return LiveSessionOut(
        id=live.id,
        code=live.code,
        scenario=live.scenario_name,
        facilitator_id=live.facilitator_id,
        facilitating=live.facilitator_id == actor.person_id,
        you=you,
        version=live.version,
        opened_at=live.opened_at,
        closed_at=live.closed_at,
        cohort=CohortOut(id=cohort[0], name=cohort[1]) if cohort else None,
        groups=[_group(g) for g in groups],
    )


def _visible_groups(
    session: DbSession, live: LiveSession, actor: Actor
) -> list[live_service.Group]:
    """The facilitator sees every group; a member their own (as on the pages)."""
    member = live_service.member_of(session, live, actor.person_id)
    return live_service.board(session, live, only_group=member.group_number if member else None)


def _state(session: DbSession, live: LiveSession, actor: Actor) -> LiveSessionOut:
    return _session_out(session, live, actor, _visible_groups(session, live, actor))


@router.get("", summary="Your live sessions (facilitated or joined), newest first, at most 50")
def list_sessions(session: DbSession, actor: CurrentActor) -> list[LiveSessionLine]:
    return [
        LiveSessionLine(
            id=live.id,
            scenario=live.scenario_name,
            facilitating=live.facilitator_id == actor.person_id,
            opened_at=live.opened_at,
            closed_at=live.closed_at,
        )
        for live in live_service.sessions_of(session, actor.person_id)
    ]


@router.post("", status_code=201, summary="Open a live session; you facilitate it")
def open_session(body: OpenIn, session: DbSession, actor: CurrentActor, now: Now) -> LiveSessionOut:
    """The answer carries the code people join with. With `cohort_id` (team leads and admins)
    the session is held for that training cohort."""
    live = live_service.open_session(session, actor.person_id, body.scenario, now, _codes)
    if body.cohort_id is not None:
        learning.hold_for_cohort(
            session,
            live.id,
            body.cohort_id,
            actor.person_id,
            bool(actor.lead_of) or actor.is_admin,
            now,
        )
    return _state(session, live, actor)


@router.post("/join", summary="Join a session with its code, in a group and a role")
def join(
    body: JoinIn, session: DbSession, actor: CurrentActor, now: Now, model: ShippedScorer
) -> LiveSessionOut:
    """One participant and at most one character's player per group (409 naming `role` when
    taken); observers are many. Joining again in the same group and role changes nothing."""
    live = live_service.join(
        session,
        actor.person_id,
        body.code,
        str(body.group),
        body.role,
        model,
        now,
    )
    return _state(session, live, actor)


@router.get("/{live_id}", summary="A session: its groups, transcripts and scores side by side")
def session_state(live_id: Id, session: DbSession, actor: CurrentActor) -> LiveSessionOut:
    """The facilitator sees every group, a member their own; per turn the participant's, the
    observer's and the automatic score. `version` goes up with every change."""
    live = live_service.visible_session(session, actor.person_id, live_id)
    return _state(session, live, actor)


@router.post(
    "/{live_id}/turns", status_code=201, summary="The group's participant answers the character"
)
def take_turn(
    live_id: Id,
    body: LiveTurnIn,
    session: DbSession,
    actor: CurrentActor,
    now: Now,
    model: ShippedScorer,
) -> TurnOut:
    """`choice` at a choice step, `text` at a reply step (scored on the rubric)."""
    live = live_service.visible_session(session, actor.person_id, live_id)
    if (body.choice is None) == (body.text is None):
        raise InvalidInput("give either a choice or a text", field="choice")
    turn = live_service.take_turn(
        session,
        live,
        actor.person_id,
        body.choice,
        body.text or "",
        body.turn,
        model,
        now,
    )
    return turn_out(turn)


@router.post(
    "/{live_id}/marks",
    status_code=201,
    summary="Score a turn, note it, or say the character's next line, as your role allows",
)
def add_mark(
    live_id: Id, body: MarkIn, session: DbSession, actor: CurrentActor, now: Now
) -> list[MarkOut]:
    """A score (an observer's or the participant's own) is also a learning record of the
    participant's (an xAPI `scored` statement), and so is a note on its own (`commented`). A
    score with `text` keeps the text as a note of its own: both are answered."""
    live = live_service.visible_session(session, actor.person_id, live_id)
    is_score = body.kind == live_rules.MarkKind.SCORE.value
    made = live_service.mark(
        session,
        live,
        actor.person_id,
        body.kind,
        body.turn,
        body.heard if is_score else [],
        body.text,
        now,
    )
    return [_mark_out(m) for m in made]


def _mark_out(mark: LiveMark) -> MarkOut:
    return MarkOut(
        id=mark.id,
        kind=mark.kind,
        group=mark.group_number,
        turn=mark.turn_number,
        heard=mark.heard,
        text=mark.text,
        at=mark.at,
    )


@router.post("/{live_id}/close", summary="End the session (its facilitator); then the debrief")
def close(live_id: Id, session: DbSession, actor: CurrentActor, now: Now) -> DebriefOut:
    live = live_service.visible_session(session, actor.person_id, live_id)
    live_service.close(session, live, actor.person_id, now)
    return _debrief(session, live, actor)


@router.get(
    "/{live_id}/debrief",
    summary="Per group each round with the three scores; for the session the means and how "
    "often observers and the automatic scoring agreed",
)
def debrief(live_id: Id, session: DbSession, actor: CurrentActor) -> DebriefOut:
    live = live_service.visible_session(session, actor.person_id, live_id)
    return _debrief(session, live, actor)


def _debrief(session: DbSession, live: LiveSession, actor: Actor) -> DebriefOut:
    whole = live_service.cohort_debrief(live_service.board(session, live))
    return DebriefOut(
        session=_state(session, live, actor),
        replies=whole.replies,
        means={
            scorer: {b.value: v for b, v in found.items()} for scorer, found in whole.means.items()
        },
        agreement=_agreement(whole.agreement),
    )
