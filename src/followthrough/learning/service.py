"""The training programme's service: the catalog, cohorts, sessions, attendance, completion,
evidence, plans, and the effect report (which calls Insight's estimator, never its own).
Services only flush; the request or job boundary commits."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from followthrough.db import row_to_change
from followthrough.errors import Conflict, InvalidInput, NotAllowed, NotFound
from followthrough.feedback.models import Rating
from followthrough.insight.effect import OutcomeEffect, programme_effect
from followthrough.learning import rules
from followthrough.learning.models import (
    COHORT_NAME_LENGTH,
    Attendance,
    CohortMember,
    CompetencyEvidence,
    LearningCohort,
    LearningModule,
    LearningSession,
    LiveSessionCohort,
    PlanItem,
)
from followthrough.org.models import Membership, Person, Team
from followthrough.practice.roleplay import live_rules, live_service
from followthrough.practice.roleplay.live_models import LiveSession
from followthrough.practice.roleplay.models import RolePlayAttempt, RolePlayTurn
from followthrough.practice.roleplay.rubric import Behaviour, Block
from followthrough.requests.models import Request

# The effect report looks this far back before the first cohort opened: the weeks before.
WEEKS_BEFORE = 12


def add_module(session: Session, name: str, kind: str, summary: str, now: datetime) -> int:
    name = name.strip()
    if not name:
        raise InvalidInput("give the module a name", field="name")
    if kind not in rules.MODULE_KINDS:
        raise InvalidInput("choose course, role play or simulation", field="kind")
    if session.scalar(select(LearningModule.id).where(LearningModule.name == name)):
        raise Conflict(f"there is already a module called {name}", field="name")
    module = LearningModule(name=name, kind=kind, summary=summary.strip(), added_at=now)
    session.add(module)
    session.flush()
    return module.id


def seed_catalog(session: Session, now: datetime) -> dict[str, int]:
    """The standard catalog's modules (those not there yet), by name."""
    have = dict(session.execute(select(LearningModule.name, LearningModule.id)).all())
    for name, kind, summary in rules.STANDARD_CATALOG:
        if name not in have:
            have[name] = add_module(session, name, kind, summary, now)
    return have


def _module(session: Session, module_id: int) -> LearningModule:
    module = session.get(LearningModule, module_id)
    if module is None:
        raise NotFound("no such module", field="module")
    return module


def _cohort(session: Session, cohort_id: int) -> LearningCohort:
    cohort = session.get(LearningCohort, cohort_id)
    if cohort is None:
        raise NotFound("no such cohort", field="cohort")
    return cohort


def open_cohort(session: Session, module_id: int, name: str, by: int | None, now: datetime) -> int:
    _module(session, module_id)
    if not name.strip():
        raise InvalidInput("give the cohort a name", field="name")
    if len(name.strip()) > COHORT_NAME_LENGTH:
        raise InvalidInput(
            f"name must be at most {COHORT_NAME_LENGTH} characters (this has {len(name.strip()):,})",
            field="name",
        )
    cohort = LearningCohort(module_id=module_id, name=name.strip(), opened_at=now, opened_by=by)
    session.add(cohort)
    session.flush()
    return cohort.id


def add_session(session: Session, cohort_id: int, starts_at: datetime, ends_at: datetime) -> int:
    _cohort(session, cohort_id)
    if ends_at <= starts_at:
        raise InvalidInput("the session must end after it starts", field="ends_at")
    row = LearningSession(cohort_id=cohort_id, starts_at=starts_at, ends_at=ends_at)
    session.add(row)
    session.flush()
    return row.id


def enrol(session: Session, cohort_id: int, person_id: int, now: datetime) -> None:
    _cohort(session, cohort_id)
    if session.get(Person, person_id) is None:
        raise NotFound("no such person", field="person")
    if session.get(CohortMember, (cohort_id, person_id)) is not None:
        raise Conflict("that person is already in this cohort", field="person")
    session.add(CohortMember(cohort_id=cohort_id, person_id=person_id, enrolled_at=now))
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("that person is already in this cohort", field="person") from None


def record_attendance(
    session: Session,
    session_id: int,
    present: dict[int, bool],
    by: int | None,
    now: datetime,
) -> None:
    """Who was at a session (members only); recording again replaces the earlier answer."""
    meeting = session.get(LearningSession, session_id)
    if meeting is None:
        raise NotFound("no such session", field="session")
    if meeting.starts_at > now:
        raise InvalidInput("attendance is recorded once the session has started", field="session")
    members = set(
        session.scalars(
            select(CohortMember.person_id).where(CohortMember.cohort_id == meeting.cohort_id)
        )
    )
    for person_id, was_there in present.items():
        if person_id not in members:
            raise InvalidInput("only members of the cohort attend its sessions", field="person")
        row = row_to_change(
            session,
            Attendance,
            {"session_id": session_id, "person_id": person_id},
            partial(
                Attendance,
                session_id=session_id,
                person_id=person_id,
                present=was_there,
                recorded_at=now,
                recorded_by=by,
            ),
        )
        row.present, row.recorded_at, row.recorded_by = was_there, now, by
    session.flush()


def complete(session: Session, cohort_id: int, person_id: int, now: datetime) -> None:
    """Mark a member's completion: they were at every session held so far."""
    member = session.get(CohortMember, (cohort_id, person_id))
    if member is None:
        raise NotFound("that person is not in this cohort", field="person")
    if member.completed_at is not None:
        return
    held = list(
        session.scalars(
            select(LearningSession.id).where(
                LearningSession.cohort_id == cohort_id, LearningSession.starts_at <= now
            )
        )
    )
    attended = session.scalars(
        select(Attendance.session_id).where(
            Attendance.person_id == person_id, Attendance.present.is_(True)
        )
    )
    if not rules.may_complete(held, attended):
        raise Conflict(
            "not complete yet: they missed a session, or the cohort has not met", field="person"
        )
    member.completed_at = now
    session.flush()


@dataclass(frozen=True)
class CohortLine:
    id: int
    name: str
    module: str
    module_id: int
    members: int
    completed: int
    sessions: list[tuple[int, datetime, datetime, int]]  # id, start, end, present


@dataclass(frozen=True)
class ModuleLine:
    id: int
    name: str
    kind: str
    summary: str
    cohorts: int
    members: int
    completed: int


def catalog(session: Session) -> list[ModuleLine]:
    counts = {
        module_id: (cohorts, members, completed)
        for module_id, cohorts, members, completed in session.execute(
            select(
                LearningCohort.module_id,
                func.count(func.distinct(LearningCohort.id)),
                func.count(CohortMember.person_id),
                func.count(CohortMember.completed_at),
            )
            .outerjoin(CohortMember, CohortMember.cohort_id == LearningCohort.id)
            .group_by(LearningCohort.module_id)
        )
    }
    return [
        ModuleLine(m.id, m.name, m.kind, m.summary, *counts.get(m.id, (0, 0, 0)))
        for m in session.scalars(select(LearningModule).order_by(LearningModule.id))
    ]


def cohorts(session: Session, module_id: int | None = None) -> list[CohortLine]:
    query = (
        select(LearningCohort, LearningModule.name)
        .join(LearningModule, LearningModule.id == LearningCohort.module_id)
        .order_by(LearningCohort.opened_at.desc(), LearningCohort.id.desc())
    )
    if module_id is not None:
        query = query.where(LearningCohort.module_id == module_id)
    rows = session.execute(query).all()
    ids = [c.id for c, _ in rows]
    members: dict[int, tuple[int, int]] = {
        cid: (n, done)
        for cid, n, done in session.execute(
            select(
                CohortMember.cohort_id,
                func.count(),
                func.count(CohortMember.completed_at),
            )
            .where(CohortMember.cohort_id.in_(ids))
            .group_by(CohortMember.cohort_id)
        )
    }
    present = dict(
        session.execute(
            select(Attendance.session_id, func.count())
            .join(LearningSession, LearningSession.id == Attendance.session_id)
            .where(LearningSession.cohort_id.in_(ids), Attendance.present.is_(True))
            .group_by(Attendance.session_id)
        ).all()
    )
    meetings: dict[int, list[tuple[int, datetime, datetime, int]]] = defaultdict(list)
    for m in session.scalars(
        select(LearningSession)
        .where(LearningSession.cohort_id.in_(ids))
        .order_by(LearningSession.starts_at)
    ):
        meetings[m.cohort_id].append((m.id, m.starts_at, m.ends_at, present.get(m.id, 0)))
    return [
        CohortLine(c.id, c.name, name, c.module_id, *members.get(c.id, (0, 0)), meetings[c.id])
        for c, name in rows
    ]


@dataclass(frozen=True)
class MemberLine:
    person_id: int
    name: str
    attended: int
    completed_at: datetime | None


def cohort_members(session: Session, cohort_id: int) -> list[MemberLine]:
    _cohort(session, cohort_id)
    attended = dict(
        session.execute(
            select(Attendance.person_id, func.count())
            .join(LearningSession, LearningSession.id == Attendance.session_id)
            .where(LearningSession.cohort_id == cohort_id, Attendance.present.is_(True))
            .group_by(Attendance.person_id)
        ).all()
    )
    return [
        MemberLine(pid, name, attended.get(pid, 0), done)
        for pid, name, done in session.execute(
            select(CohortMember.person_id, Person.name, CohortMember.completed_at)
            .join(Person, Person.id == CohortMember.person_id)
            .where(CohortMember.cohort_id == cohort_id)
            .order_by(Person.name)
        )
    ]


def add_evidence(
    session: Session,
    person_id: int,
    block: str,
    score: float,
    source: str,
    rated_by: int | None,
    now: datetime,
    note: str = "",
) -> int:
    if block not in rules.BLOCKS:
        raise InvalidInput("choose Understand, Own, Serve or Communicate", field="block")
    if source not in rules.SOURCES:
        raise InvalidInput("say where the evidence comes from", field="source")
    if not rules.LOWEST_SCORE <= score <= rules.HIGHEST_SCORE:
        raise InvalidInput("give a score from 1 to 5", field="score")
    if session.get(Person, person_id) is None:
        raise NotFound("no such person", field="person")
    row = CompetencyEvidence(
        person_id=person_id,
        block=block,
        score=score,
        source=source,
        rated_by=rated_by,
        rated_at=now,
        note=note,
    )
    session.add(row)
    session.flush()
    return row.id


@dataclass(frozen=True)
class EvidenceLine:
    block: str
    score: float
    source: str
    rated_by: str | None
    rated_at: datetime
    note: str


def my_record(
    session: Session, person_id: int, now: datetime | None = None
) -> tuple[list[rules.BlockRecord], list[EvidenceLine]]:
    """The person's record on the four blocks and the evidence under it, newest first: the
    observations kept, and (given `now`) the requesters' ratings of the requests they owned over
    the last DESK_DAYS, one line per block."""
    rows = session.execute(
        select(CompetencyEvidence, Person.name)
        .outerjoin(Person, Person.id == CompetencyEvidence.rated_by)
        .where(CompetencyEvidence.person_id == person_id)
        .order_by(CompetencyEvidence.rated_at.desc(), CompetencyEvidence.id.desc())
    ).all()
    lines = [EvidenceLine(e.block, e.score, e.source, by, e.rated_at, e.note) for e, by in rows]
    if now is not None:
        lines = _desk_lines(session, person_id, now) + lines
    lines = sorted(
        lines + _roleplay_lines(session, person_id) + _observer_lines(session, person_id),
        key=lambda e: e.rated_at,
        reverse=True,
    )
    record = rules.competency_record(
        rules.Evidence(e.block, e.score, e.source, e.rated_at) for e in lines
    )
    return record, lines


def _roleplay_lines(session: Session, person_id: int) -> list[EvidenceLine]:
    """One line per block for each role play the person finished, scored automatically."""
    turns: dict[int, list[dict[str, int]]] = defaultdict(list)
    finished: dict[int, tuple[str, datetime]] = {}
    for attempt_id, name, ended_at, scores in session.execute(
        select(
            RolePlayAttempt.id,
            RolePlayAttempt.scenario_name,
            RolePlayAttempt.ended_at,
            RolePlayTurn.scores,
        )
        .join(RolePlayTurn, RolePlayTurn.attempt_id == RolePlayAttempt.id)
        .where(
            RolePlayAttempt.person_id == person_id,
            RolePlayAttempt.ended_at.is_not(None),
            RolePlayTurn.speaker == "participant",
            RolePlayTurn.scores.is_not(None),
        )
        .order_by(RolePlayAttempt.id, RolePlayTurn.number)
    ).all():
        if ended_at is None or not isinstance(scores, dict):
            continue
        finished[attempt_id] = (name, ended_at)
        blocks = scores.get("blocks") or {}
        turns[attempt_id].append({b: int(blocks.get(b, 0)) for b in rules.BLOCKS})
    return [
        EvidenceLine(
            block, score, "role play", None, finished[a][1], f"role play: {finished[a][0]}"
        )
        for a, replies in turns.items()
        for block, score in rules.roleplay_block_scores(replies).items()
    ]


def _observer_lines(session: Session, person_id: int) -> list[EvidenceLine]:
    """One line per block for each observer who scored the person's replies in a live session:
    the share of those replies in which the observer heard a behaviour of the block, on the
    1..5 scale (as for the automatic score), rated by the observer at their newest score."""
    by_observer: dict[tuple[int, int], list[live_service.ScoredReply]] = defaultdict(list)
    for reply in live_service.scored_replies(session, person_id=person_id):
        if reply.observer is not None and reply.observer_id is not None:
            by_observer[(reply.live_session_id, reply.observer_id)].append(reply)
    names = dict(
        session.execute(
            select(Person.id, Person.name).where(Person.id.in_({o for _, o in by_observer}))
        ).all()
    )
    lines = []
    for (_, observer_id), replies in by_observer.items():
        points = [live_rules.block_points(r.observer or frozenset()) for r in replies]
        latest = max(r.observed_at or r.at for r in replies)
        scenario = replies[0].scenario_name
        for block, score in rules.roleplay_block_scores(
            [{b.value: p[b] for b in Block} for p in points]
        ).items():
            lines.append(
                EvidenceLine(
                    block,
                    score,
                    "observer",
                    names.get(observer_id),
                    latest,
                    f"observer in a live role play: {scenario}",
                )
            )
    return lines


# The desk's own evidence: the requesters' ratings of this long before today.
DESK_DAYS = 90


def _desk_lines(session: Session, person_id: int, now: datetime) -> list[EvidenceLine]:
    found = session.execute(
        select(
            func.count(Rating.id),
            func.avg(Rating.understand),
            func.avg(Rating.own),
            func.avg(Rating.serve),
            func.avg(Rating.communicate),
            func.max(Rating.rated_at),
        )
        .join(Request, Request.id == Rating.request_id)
        .where(
            Request.owner_id == person_id,
            Rating.rated_at >= now - timedelta(days=DESK_DAYS),
            Rating.rated_at <= now,
        )
    ).one()
    count, latest = int(found[0] or 0), found[5]
    if not count or latest is None:
        return []
    who = f"requesters ({count} rating{'s' if count != 1 else ''})"
    note = f"the requests they owned, rated over the last {DESK_DAYS} days"
    return [
        EvidenceLine(block, float(mean), "desk", who, latest, note)
        for block, mean in zip(rules.BLOCKS, found[1:5], strict=True)
    ]


def plan(
    session: Session,
    module_id: int,
    now: datetime,
    by: int | None,
    *,
    person_id: int | None = None,
    team_id: int | None = None,
    due_at: datetime | None = None,
) -> int:
    _module(session, module_id)
    if (person_id is None) == (team_id is None):
        raise InvalidInput("plan it for one person or one team", field="person")
    if person_id is not None and session.get(Person, person_id) is None:
        raise NotFound("no such person", field="person")
    if team_id is not None and session.get(Team, team_id) is None:
        raise NotFound("no such team", field="team")
    row = PlanItem(
        module_id=module_id,
        person_id=person_id,
        team_id=team_id,
        due_at=due_at,
        added_by=by,
        added_at=now,
    )
    session.add(row)
    session.flush()
    return row.id


@dataclass(frozen=True)
class PlanLine:
    module: str
    module_id: int
    for_team: str | None  # planned for the person's team (its name), or for them (None)
    due_at: datetime | None
    completed_at: datetime | None


def my_plan(session: Session, person_id: int) -> list[PlanLine]:
    """Modules planned for the person or any team they are in, each with their completion."""
    teams = select(Membership.team_id).where(Membership.person_id == person_id)
    rows = session.execute(
        select(PlanItem, LearningModule.name, Team.name)
        .join(LearningModule, LearningModule.id == PlanItem.module_id)
        .outerjoin(Team, Team.id == PlanItem.team_id)
        .where((PlanItem.person_id == person_id) | PlanItem.team_id.in_(teams))
        .order_by(PlanItem.due_at, PlanItem.id)
    )
    done = rules.first_completions(
        session.execute(
            select(LearningCohort.module_id, CohortMember.completed_at)
            .join(LearningCohort, LearningCohort.id == CohortMember.cohort_id)
            .where(CohortMember.person_id == person_id, CohortMember.completed_at.is_not(None))
        )
    )
    return [
        PlanLine(name, item.module_id, team, item.due_at, done.get(item.module_id))
        for item, name, team in rows
    ]


@dataclass(frozen=True)
class EffectReport:
    module: str
    level: str
    start: datetime
    end: datetime
    completed: int
    not_yet: int
    outcomes: list[OutcomeEffect]


def completions(session: Session, module_id: int) -> dict[int, datetime]:
    """Each person's first completion of the module."""
    return rules.first_completions(
        session.execute(
            select(CohortMember.person_id, CohortMember.completed_at)
            .join(LearningCohort, LearningCohort.id == CohortMember.cohort_id)
            .where(LearningCohort.module_id == module_id, CohortMember.completed_at.is_not(None))
        )
    )


def effect_report(session: Session, module_id: int, level: str, now: datetime) -> EffectReport:
    """What the module changed on the desk for those who completed it (by their completion
    date) against those who had not yet: everyone in a team is in the comparison."""
    module = _module(session, module_id)
    if level not in ("person", "team"):
        raise InvalidInput("choose people or teams", field="level")
    done = completions(session, module_id)
    first_opened = session.scalar(
        select(func.min(LearningCohort.opened_at)).where(LearningCohort.module_id == module_id)
    )
    start = (first_opened or now) - timedelta(weeks=WEEKS_BEFORE)
    members: dict[int, list[int]] = defaultdict(list)
    for team_id, person_id in session.execute(select(Membership.team_id, Membership.person_id)):
        members[team_id].append(person_id)
    if level == "person":
        everyone = sorted({p for people in members.values() for p in people} | set(done))
        started = rules.subjects_reached(everyone, done)
    else:
        started = rules.team_reached(members, done)
    outcomes = programme_effect(
        session, "person" if level == "person" else "team", started, start, now
    )
    reached = sum(1 for at in started.values() if at is not None)
    return EffectReport(module.name, level, start, now, reached, len(started) - reached, outcomes)


def modules(session: Session) -> list[tuple[int, str]]:
    return list(
        session.execute(
            select(LearningModule.id, LearningModule.name).order_by(LearningModule.id)
        ).all()
    )


# ---- live role-play sessions held for a cohort, and the cohort's debrief ----------------------


def hold_for_cohort(
    session: Session,
    live_session_id: int,
    cohort_id: int,
    by: int,
    runs_programme: bool,
    now: datetime,
) -> None:
    """Count a live session in a cohort's debrief: its facilitator does it, and only a learning
    lead (a team lead or an admin) runs the programme's cohorts. One cohort per session."""
    live = session.get(LiveSession, live_session_id)
    if live is None:
        raise NotFound("There is no such live session.")
    if live.facilitator_id != by:
        raise NotAllowed("Only the session's facilitator puts it in a cohort.", field="cohort_id")
    if not runs_programme:
        raise NotAllowed(
            "Only team leads and admins hold sessions for a training cohort.", field="cohort_id"
        )
    if session.get(LearningCohort, cohort_id) is None:
        raise NotFound("There is no such cohort.", field="cohort_id")
    if session.get(LiveSessionCohort, live_session_id) is not None:
        raise Conflict("This session is already held for a cohort.", field="cohort_id")
    session.add(
        LiveSessionCohort(
            live_session_id=live_session_id, cohort_id=cohort_id, linked_at=now, linked_by=by
        )
    )
    session.flush()


def cohort_of_live_session(session: Session, live_session_id: int) -> tuple[int, str] | None:
    """The cohort (id, name) a live session was held for, if any."""
    found = session.execute(
        select(LearningCohort.id, LearningCohort.name)
        .join(LiveSessionCohort, LiveSessionCohort.cohort_id == LearningCohort.id)
        .where(LiveSessionCohort.live_session_id == live_session_id)
    ).one_or_none()
    return None if found is None else (found[0], found[1])


def cohort_choices(session: Session) -> list[tuple[int, str]]:
    """Every cohort, newest first, named with its module: what a session can be held for."""
    return [
        (cohort_id, f"{name} ({module})")
        for cohort_id, name, module in session.execute(
            select(LearningCohort.id, LearningCohort.name, LearningModule.name)
            .join(LearningModule, LearningModule.id == LearningCohort.module_id)
            .order_by(LearningCohort.opened_at.desc(), LearningCohort.id.desc())
        )
    ]


@dataclass(frozen=True)
class LiveSessionLine:
    id: int
    scenario: str
    opened_at: datetime
    closed_at: datetime | None
    replies: int


@dataclass(frozen=True)
class ParticipantLine:
    """One participant over the cohort's sessions: their replies, and per scorer the mean
    points per reply on each block."""

    person_id: int
    name: str
    replies: int
    means: dict[str, dict[Block, float | None]]


@dataclass(frozen=True)
class CohortDebrief:
    cohort_id: int
    name: str
    module: str
    sessions: list[LiveSessionLine]
    replies: int
    means: dict[str, dict[Block, float | None]]
    behaviours: list[live_rules.BehaviourSpread]
    participants: list[ParticipantLine]


def _by_scorer(reply: live_service.ScoredReply) -> dict[str, frozenset[Behaviour] | None]:
    return {
        "participant": reply.participant,
        "observer": reply.observer,
        "automatic": reply.automatic,
    }


def cohort_debrief(session: Session, cohort_id: int) -> CohortDebrief:
    """Every reply of every live session held for the cohort: per behaviour and scorer how often
    it was heard with the spread between people, per block the means, and per participant."""
    cohort = _cohort(session, cohort_id)
    module = _module(session, cohort.module_id)
    sessions = list(
        session.scalars(
            select(LiveSession)
            .join(LiveSessionCohort, LiveSessionCohort.live_session_id == LiveSession.id)
            .where(LiveSessionCohort.cohort_id == cohort_id)
            .order_by(LiveSession.opened_at, LiveSession.id)
        )
    )
    replies = live_service.scored_replies(session, live_session_ids=[s.id for s in sessions])
    rows = [
        (r.person_id, scorer, heard)
        for r in replies
        for scorer, heard in _by_scorer(r).items()
        if heard is not None
    ]
    people = sorted({r.person_id for r in replies})
    names = dict(session.execute(select(Person.id, Person.name).where(Person.id.in_(people))).all())
    participants = [
        ParticipantLine(
            person,
            names.get(person, ""),
            sum(1 for r in replies if r.person_id == person),
            {
                scorer: live_rules.block_means(
                    [h for p, s, h in rows if p == person and s == scorer]
                )
                for scorer in live_rules.SCORERS
            },
        )
        for person in people
    ]
    counted: dict[int, int] = defaultdict(int)
    for r in replies:
        counted[r.live_session_id] += 1
    return CohortDebrief(
        cohort.id,
        cohort.name,
        module.name,
        [
            LiveSessionLine(s.id, s.scenario_name, s.opened_at, s.closed_at, counted[s.id])
            for s in sessions
        ],
        len(replies),
        {
            scorer: live_rules.block_means([h for _, s, h in rows if s == scorer])
            for scorer in live_rules.SCORERS
        },
        live_rules.behaviour_spread(rows),
        sorted(participants, key=lambda p: (p.name, p.person_id)),
    )
