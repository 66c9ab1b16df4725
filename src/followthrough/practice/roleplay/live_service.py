"""Live role-play sessions: open one, join it with its code in a role, play each group's turns,
mark them live, and read the board and the debrief.

Services only flush; the request that calls them commits. Every change raises the session's
`version` by one in the same transaction (one atomic UPDATE), which is what the live pages wait
on. Only the facilitator and the people who joined see a session; to anyone else it is a 404.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from followthrough.errors import Conflict, InvalidInput, NotAllowed, NotFound
from followthrough.fields import form_whole
from followthrough.org.models import Person
from followthrough.practice.roleplay import live_rules, service, xapi_outbox
from followthrough.practice.roleplay.live_models import LiveMark, LiveMember, LiveSession
from followthrough.practice.roleplay.live_rules import MarkKind, Role
from followthrough.practice.roleplay.models import RolePlayAttempt, RolePlayTurn
from followthrough.practice.roleplay.rubric import Behaviour, Block
from followthrough.practice.roleplay.scenario import Scenario, read_scenario
from followthrough.practice.roleplay.scoring import ScoringModel


class SessionClosed(Conflict):
    title = "This session has ended"


class RoleTaken(Conflict):
    title = "This role is taken"


@lru_cache(maxsize=64)
def _scenario_of(name: str, version: int, text: str) -> Scenario:
    """A stored scenario text read once per process: every screen redraws the board on every
    change, and reading the text costs about 6 ms (pure: the same text is the same scenario)."""
    return read_scenario(text, source=f"{name}.yaml")


def played(attempt: RolePlayAttempt) -> Scenario:
    """The scenario as the group's attempt started it (its stored text)."""
    return _scenario_of(attempt.scenario_name, attempt.scenario_version, attempt.scenario_text)


def _bump(session: Session, live: LiveSession) -> None:
    session.execute(
        update(LiveSession)
        .where(LiveSession.id == live.id)
        .values(version=LiveSession.version + 1)
        .execution_options(synchronize_session=False)
    )
    session.expire(live, ["version"])


def open_session(
    session: Session, facilitator_id: int, scenario_name: str, now: datetime, rng: random.Random
) -> LiveSession:
    scenario = service.scenario_named(scenario_name)
    while True:
        code = live_rules.new_code(rng)
        if session.scalar(select(LiveSession.id).where(LiveSession.code == code)) is None:
            break
    live = LiveSession(
        code=code,
        scenario_name=scenario.name,
        facilitator_id=facilitator_id,
        version=0,
        opened_at=now,
    )
    session.add(live)
    session.flush()
    return live


def _whole(value: str, name: str, low: int, high: int) -> int:
    number = form_whole(value)
    if number is None or not low <= number <= high:
        raise InvalidInput(f"must be a whole number from {low} to {high}", field=name)
    return number


def join(
    session: Session,
    person_id: int,
    code: str,
    group: str,
    role: str,
    model: ScoringModel,
    now: datetime,
) -> LiveSession:
    """Join the session with this code in a group and a role; the participant's joining starts
    the group's conversation."""
    cleaned = live_rules.cleaned_code(code)
    if not cleaned:
        raise InvalidInput("enter the code your facilitator gave you", field="code")
    live = session.scalars(select(LiveSession).where(LiveSession.code == cleaned)).one_or_none()
    if live is None:
        raise InvalidInput("no session has this code; check it with your facilitator", field="code")
    if live.closed_at is not None:
        raise SessionClosed("This session has ended; ask your facilitator for a new code.")
    number = _whole(group, "group", 1, live_rules.MAX_GROUPS)
    try:
        chosen = Role(role)
    except ValueError:
        raise InvalidInput("choose participant, character or observer", field="role") from None
    if person_id == live.facilitator_id:
        raise Conflict("You facilitate this session; join it from another account.", field="code")
    existing = member_of(session, live, person_id)
    if existing is not None:
        if (existing.group_number, existing.role) == (number, chosen.value):
            return live
        raise Conflict("You have already joined this session in another role.", field="role")
    taken = [Role(m.role) for m in members_of(session, live) if m.group_number == number]
    if not live_rules.may_take_role(taken, chosen):
        raise RoleTaken(f"Group {number} already has a {chosen.value}.", field="role")
    session.add(
        LiveMember(
            live_session_id=live.id,
            person_id=person_id,
            group_number=number,
            role=chosen.value,
            joined_at=now,
        )
    )
    try:
        session.flush()
    except IntegrityError as error:
        # Two people joined at the same moment: the other took the role, or this person joined
        # from another tab.
        raise RoleTaken(
            f"Someone has just joined group {number} as {chosen.value}, or you have already "
            "joined; reload and choose again.",
            field="role",
        ) from error
    if chosen is Role.PARTICIPANT:
        attempt = service.start_attempt(
            session, person_id, service.scenario_named(live.scenario_name), model, now
        )
        attempt.live_session_id = live.id
        session.flush()
    _bump(session, live)
    return live


def member_of(session: Session, live: LiveSession, person_id: int) -> LiveMember | None:
    return session.scalars(
        select(LiveMember).where(
            LiveMember.live_session_id == live.id, LiveMember.person_id == person_id
        )
    ).one_or_none()


def members_of(session: Session, live: LiveSession) -> list[LiveMember]:
    return list(
        session.scalars(
            select(LiveMember)
            .where(LiveMember.live_session_id == live.id)
            .order_by(LiveMember.group_number, LiveMember.joined_at, LiveMember.id)
        )
    )


def visible_session(session: Session, person_id: int, live_id: int) -> LiveSession:
    """The session, for its facilitator or someone who joined it; anyone else: not found."""
    live = session.get(LiveSession, live_id)
    if live is None or (
        live.facilitator_id != person_id and member_of(session, live, person_id) is None
    ):
        raise NotFound("There is no such live session.")
    return live


def sessions_of(session: Session, person_id: int) -> list[LiveSession]:
    joined = select(LiveMember.live_session_id).where(LiveMember.person_id == person_id)
    return list(
        session.scalars(
            select(LiveSession)
            .where((LiveSession.facilitator_id == person_id) | LiveSession.id.in_(joined))
            .order_by(LiveSession.opened_at.desc(), LiveSession.id.desc())
            .limit(50)
        )
    )


def current_version(session: Session, live_id: int) -> int | None:
    return session.scalar(select(LiveSession.version).where(LiveSession.id == live_id))


def group_attempt(session: Session, live: LiveSession, group: int) -> RolePlayAttempt | None:
    participant = select(LiveMember.person_id).where(
        LiveMember.live_session_id == live.id,
        LiveMember.group_number == group,
        LiveMember.role == Role.PARTICIPANT.value,
    )
    return session.scalars(
        select(RolePlayAttempt).where(
            RolePlayAttempt.live_session_id == live.id,
            RolePlayAttempt.person_id.in_(participant),
        )
    ).one_or_none()


def _open_member(session: Session, live: LiveSession, person_id: int) -> LiveMember:
    if live.closed_at is not None:
        raise SessionClosed("This session has ended.")
    member = member_of(session, live, person_id)
    if member is None:
        raise NotAllowed("Only the people in a group play and mark its turns.")
    return member


def take_turn(
    session: Session,
    live: LiveSession,
    person_id: int,
    choice: int | None,
    text: str,
    expected_turn: int | None,
    model: ScoringModel,
    now: datetime,
) -> RolePlayTurn:
    """The group's participant answers: a choice, or a reply scored on the rubric."""
    member = _open_member(session, live, person_id)
    if member.role != Role.PARTICIPANT.value:
        raise NotAllowed("Only the group's participant answers the character.")
    attempt = group_attempt(session, live, member.group_number)
    if attempt is None:  # the participant's joining always starts it
        raise NotFound("This group has no conversation.")
    if attempt.outcome is not None:
        raise Conflict("This conversation has ended.", field="turn")
    if choice is not None:
        turn = service.take_choice(session, attempt, choice, now, expected_turn)
    else:
        turn = service.give_reply(session, attempt, text, model, now, expected_turn).turn
    _bump(session, live)
    return turn


def mark(
    session: Session,
    live: LiveSession,
    person_id: int,
    kind: str,
    turn_number: int,
    heard: Iterable[str],
    text: str,
    now: datetime,
) -> list[LiveMark]:
    """A score of a turn, a timestamped note, or the character's line, as the role allows. A
    score's `text` is kept as a note of its own with the same time, and travels with the score
    in its learning record. Every score and every note on its own is a learning record of the
    participant's, queued in this transaction."""
    is_score = kind == MarkKind.SCORE.value
    made = [
        _add_mark(session, live, person_id, kind, turn_number, heard, "" if is_score else text, now)
    ]
    if is_score and text.strip():
        made.append(
            _add_mark(session, live, person_id, MarkKind.NOTE.value, turn_number, [], text, now)
        )
    first = made[0]
    if first.kind != MarkKind.LINE.value:
        attempt = group_attempt(session, live, first.group_number)
        if attempt is not None:
            on = session.scalars(
                select(RolePlayTurn).where(
                    RolePlayTurn.attempt_id == attempt.id, RolePlayTurn.number == first.turn_number
                )
            ).one()
            xapi_outbox.queue_live_mark(session, attempt, on, first, now)
    _bump(session, live)
    return made


def _add_mark(
    session: Session,
    live: LiveSession,
    person_id: int,
    kind: str,
    turn_number: int,
    heard: Iterable[str],
    text: str,
    now: datetime,
) -> LiveMark:
    member = _open_member(session, live, person_id)
    try:
        mark_kind = MarkKind(kind)
    except ValueError:
        raise InvalidInput("choose a score, a note or a line", field="kind") from None
    role = Role(member.role)
    if not live_rules.may_mark(role, mark_kind):
        raise NotAllowed(f"A {role.value} cannot add a {mark_kind.value} here.")
    text = text.strip()
    if len(text) > live_rules.MAX_NOTE:
        raise InvalidInput(f"must be at most {live_rules.MAX_NOTE} characters", field="text")
    if mark_kind is not MarkKind.SCORE and not text:
        raise InvalidInput("must not be empty", field="text")
    try:
        behaviours = sorted({Behaviour(value) for value in heard})
    except ValueError:
        raise InvalidInput("is not a behaviour of the rubric", field="heard") from None
    attempt = group_attempt(session, live, member.group_number)
    taken = attempt.turns_taken if attempt is not None else 0
    # A line comes before the participant's next turn; a score or note is about one taken.
    last = taken + 1 if mark_kind is MarkKind.LINE else taken
    if mark_kind is MarkKind.LINE:
        turn_number = last
    if not 1 <= turn_number <= last:
        raise InvalidInput("is not a turn of this conversation", field="turn")
    row = LiveMark(
        live_session_id=live.id,
        group_number=member.group_number,
        author_id=person_id,
        role=role.value,
        kind=mark_kind.value,
        turn_number=turn_number,
        heard=[b.value for b in behaviours] if mark_kind is MarkKind.SCORE else None,
        text=text,
        at=now,
    )
    session.add(row)
    session.flush()
    return row


def close(session: Session, live: LiveSession, person_id: int, now: datetime) -> None:
    if live.facilitator_id != person_id:
        raise NotAllowed("Only the facilitator ends the session.")
    if live.closed_at is None:
        live.closed_at = now
        _bump(session, live)


# ---- the board and the debrief ------------------------------------------------------------------


@dataclass(frozen=True)
class Scored:
    """One scorer's view of one turn: the behaviours heard and the points per block."""

    heard: frozenset[Behaviour]
    blocks: dict[Block, int]

    @property
    def total(self) -> int:
        return sum(self.blocks.values())


def _scored(heard: Iterable[Behaviour]) -> Scored:
    chosen = frozenset(heard)
    return Scored(chosen, live_rules.block_points(chosen))


@dataclass(frozen=True)
class Round:
    """One participant turn with what was said before it and every score and note on it."""

    turn: RolePlayTurn
    said_before: str  # the character's line, from the scenario or its player
    automatic: Scored | None  # None for a choice: only free text is scored automatically
    participant: Scored | None
    observer: Scored | None
    notes: list[LiveMark]


@dataclass
class Group:
    number: int
    members: list[tuple[LiveMember, str]] = field(default_factory=list)  # member, name
    attempt: RolePlayAttempt | None = None
    rounds: list[Round] = field(default_factory=list)
    next_line: str = ""

    def totals(self, scorer: str) -> dict[Block, int] | None:
        rows = [getattr(r, scorer) for r in self.rounds if r.automatic is not None]
        scored = [s for s in rows if s is not None]
        if not scored:
            return None
        return {b: sum(s.blocks[b] for s in scored) for b in Block}

    def agreement(self) -> live_rules.Agreement:
        return live_rules.agreement(
            [
                (r.observer.heard, r.automatic.heard)
                for r in self.rounds
                if r.observer is not None and r.automatic is not None
            ]
        )


def _latest_scores(marks: Sequence[LiveMark], role: Role) -> dict[int, Scored]:
    latest: dict[int, LiveMark] = {}
    for m in marks:
        if m.kind == MarkKind.SCORE.value and m.role == role.value:
            latest[m.turn_number] = m  # marks come oldest first: the newest wins
    return {n: _scored(Behaviour(b) for b in (m.heard or [])) for n, m in latest.items()}


def board(session: Session, live: LiveSession, only_group: int | None = None) -> list[Group]:
    """Every group (or one) with its members, transcript and the three scores per turn."""
    members = members_of(session, live)
    names = dict(
        session.execute(
            select(Person.id, Person.name).where(Person.id.in_({m.person_id for m in members}))
        ).all()
    )
    groups: dict[int, Group] = {}
    for m in members:
        if only_group is None or m.group_number == only_group:
            groups.setdefault(m.group_number, Group(m.group_number)).members.append(
                (m, names.get(m.person_id, ""))
            )
    attempts = {
        a.person_id: a
        for a in session.scalars(
            select(RolePlayAttempt).where(RolePlayAttempt.live_session_id == live.id)
        )
    }
    marks = list(
        session.scalars(
            select(LiveMark)
            .where(LiveMark.live_session_id == live.id)
            .order_by(LiveMark.at, LiveMark.id)
        )
    )
    for group in groups.values():
        participant = next((m for m, _ in group.members if m.role == Role.PARTICIPANT.value), None)
        group.attempt = attempts.get(participant.person_id) if participant else None
        mine = [m for m in marks if m.group_number == group.number]
        lines = {m.turn_number: m.text for m in mine if m.kind == MarkKind.LINE.value}
        by_participant = _latest_scores(mine, Role.PARTICIPANT)
        by_observer = _latest_scores(mine, Role.OBSERVER)
        if group.attempt is None:
            continue
        scenario = played(group.attempt)
        for turn in service.turns_of(session, group.attempt):
            said = lines.get(turn.number) or scenario.node(turn.node).say
            group.rounds.append(
                Round(
                    turn=turn,
                    said_before=said,
                    automatic=_scored(live_rules.heard_automatically(turn.scores))
                    if turn.kind == "reply"
                    else None,
                    participant=by_participant.get(turn.number),
                    observer=by_observer.get(turn.number),
                    notes=[
                        m
                        for m in mine
                        if m.kind == MarkKind.NOTE.value and m.turn_number == turn.number
                    ],
                )
            )
        next_number = group.attempt.turns_taken + 1
        group.next_line = lines.get(next_number) or scenario.node(group.attempt.node).say
    return [groups[n] for n in sorted(groups)]


@dataclass(frozen=True)
class CohortDebrief:
    """The whole session: mean points per block per scorer over every scored reply."""

    means: dict[str, dict[Block, float | None]]
    agreement: live_rules.Agreement
    replies: int


def cohort_debrief(groups: Sequence[Group]) -> CohortDebrief:
    means: dict[str, dict[Block, float | None]] = {}
    for scorer in ("participant", "observer", "automatic"):
        rows = [
            s
            for g in groups
            for r in g.rounds
            if r.automatic is not None and (s := getattr(r, scorer)) is not None
        ]
        means[scorer] = {b: live_rules.mean([s.blocks[b] for s in rows]) for b in Block}
    pairs = [
        (r.observer.heard, r.automatic.heard)
        for g in groups
        for r in g.rounds
        if r.observer is not None and r.automatic is not None
    ]
    replies = sum(1 for g in groups for r in g.rounds if r.automatic is not None)
    return CohortDebrief(means, live_rules.agreement(pairs), replies)


# ---- scored replies across sessions (a cohort's debrief, a person's record) --------------------


@dataclass(frozen=True)
class ScoredReply:
    """One reply in a participant's own words in a live session, with what each scorer heard
    (None: that scorer did not score it; the newest score counts)."""

    live_session_id: int
    scenario_name: str
    person_id: int  # the participant
    turn_number: int
    at: datetime
    automatic: frozenset[Behaviour]
    participant: frozenset[Behaviour] | None
    observer: frozenset[Behaviour] | None
    observer_id: int | None  # who gave the observer's score
    observed_at: datetime | None


def scored_replies(
    session: Session,
    *,
    live_session_ids: Sequence[int] | None = None,
    person_id: int | None = None,
) -> list[ScoredReply]:
    """Every reply of these sessions (or of this participant, in any session), oldest first,
    in four queries whatever the number of sessions."""
    attempts_query = select(RolePlayAttempt).where(RolePlayAttempt.live_session_id.is_not(None))
    if live_session_ids is not None:
        attempts_query = attempts_query.where(RolePlayAttempt.live_session_id.in_(live_session_ids))
    if person_id is not None:
        attempts_query = attempts_query.where(RolePlayAttempt.person_id == person_id)
    attempts = {a.id: a for a in session.scalars(attempts_query)}
    if not attempts:
        return []
    sessions = {a.live_session_id for a in attempts.values()}
    groups = {
        (m.live_session_id, m.person_id): m.group_number
        for m in session.scalars(
            select(LiveMember).where(
                LiveMember.live_session_id.in_(sessions),
                LiveMember.role == Role.PARTICIPANT.value,
            )
        )
    }
    latest: dict[tuple[int, int, int, str], LiveMark] = {}
    for m in session.scalars(
        select(LiveMark)
        .where(LiveMark.live_session_id.in_(sessions), LiveMark.kind == MarkKind.SCORE.value)
        .order_by(LiveMark.at, LiveMark.id)
    ):
        latest[(m.live_session_id, m.group_number, m.turn_number, m.role)] = m
    found: list[ScoredReply] = []
    for turn in session.scalars(
        select(RolePlayTurn)
        .where(
            RolePlayTurn.attempt_id.in_(list(attempts)),
            RolePlayTurn.kind == "reply",
            RolePlayTurn.speaker == "participant",
        )
        .order_by(RolePlayTurn.at, RolePlayTurn.id)
    ):
        attempt = attempts[turn.attempt_id]
        live_id = attempt.live_session_id
        assert live_id is not None
        group = groups.get((live_id, attempt.person_id))
        if group is None:
            continue
        by_participant = latest.get((live_id, group, turn.number, Role.PARTICIPANT.value))
        by_observer = latest.get((live_id, group, turn.number, Role.OBSERVER.value))
        found.append(
            ScoredReply(
                live_session_id=live_id,
                scenario_name=attempt.scenario_name,
                person_id=attempt.person_id,
                turn_number=turn.number,
                at=turn.at,
                automatic=live_rules.heard_automatically(turn.scores),
                participant=_heard(by_participant),
                observer=_heard(by_observer),
                observer_id=by_observer.author_id if by_observer else None,
                observed_at=by_observer.at if by_observer else None,
            )
        )
    return found


def _heard(mark: LiveMark | None) -> frozenset[Behaviour] | None:
    return None if mark is None else frozenset(Behaviour(b) for b in mark.heard or [])
