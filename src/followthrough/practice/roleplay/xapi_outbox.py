"""Learning records out: queue statements with their turn, send them to the LRS, export them.

1. `queue_attempt_started`, `queue_turn` and `queue_live_mark` add outbox rows in the
   caller's transaction, so a turn (or a live session's score or note) and its statements
   commit together or not at all.
2. `send_due` (the sweeper's job) claims pending rows in one short transaction (SKIP LOCKED on
   PostgreSQL; each claim lasts a lease), builds their statements, commits, POSTs them to the
   LRS with no transaction open, then records the answer in a new transaction. A failed try
   waits twice as long as the last, up to MAX_TRIES; then the row is marked failed.
3. `statements_since` builds the same statements for an export to any other store.

Statement ids are stable (xapi.statement_id), so a statement sent twice (a sender that died
after sending, before recording) is stored once: an LRS answers a repeat of an identical
statement with 204.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from followthrough.config import Settings
from followthrough.db import Database
from followthrough.org.models import Person
from followthrough.practice.roleplay import xapi
from followthrough.practice.roleplay.live_models import LiveMark
from followthrough.practice.roleplay.live_rules import MarkKind
from followthrough.practice.roleplay.models import RolePlayAttempt, RolePlayTurn
from followthrough.practice.roleplay.rubric import default_rubric
from followthrough.practice.roleplay.xapi_models import XapiStatement

BATCH = 100
MAX_TRIES = 10
FIRST_WAIT = timedelta(minutes=1)
LONGEST_WAIT = timedelta(hours=6)
LEASE = timedelta(minutes=5)
TIMEOUT_SECONDS = 30.0


def _queue(
    session: Session,
    attempt_id: int,
    turn_id: int | None,
    verb: str,
    now: datetime,
    mark_id: int | None = None,
) -> None:
    kind, row_id = ("attempt", attempt_id) if turn_id is None else ("turn", turn_id)
    if mark_id is not None:
        kind, row_id = "mark", mark_id
    session.add(
        XapiStatement(
            record_key=xapi.record_key(kind, row_id, verb),
            verb=verb,
            attempt_id=attempt_id,
            turn_id=turn_id,
            mark_id=mark_id,
            state="pending",
            tries=0,
            created_at=now,
            next_try_at=now,
        )
    )


def queue_attempt_started(session: Session, attempt: RolePlayAttempt, now: datetime) -> None:
    _queue(session, attempt.id, None, "attempted", now)
    session.flush()


def queue_turn(
    session: Session, attempt: RolePlayAttempt, turn: RolePlayTurn, now: datetime
) -> None:
    """The learner's turn (answered; scored when it was a scored reply); completed when the
    turn reached an ending. Other speakers' turns (a live session's observers) are not the
    learner's record."""
    if turn.speaker != "participant":
        return
    _queue(session, attempt.id, turn.id, "answered", now)
    if turn.points is not None and turn.scores is not None:
        _queue(session, attempt.id, turn.id, "scored", now)
    if attempt.outcome is not None:
        _queue(session, attempt.id, None, "completed", now)
    session.flush()


def queue_live_mark(
    session: Session, attempt: RolePlayAttempt, turn: RolePlayTurn, mark: LiveMark, now: datetime
) -> None:
    """A score of the learner's turn, by an observer or by the learner (every score, a second
    look too: the newest is the one that counts, as on the board), or a note written on its
    own; a note written with a score goes with the score's statement instead."""
    verb = "scored" if mark.kind == MarkKind.SCORE.value else "commented"
    _queue(session, attempt.id, turn.id, verb, now, mark_id=mark.id)
    session.flush()


def next_try_at(tries: int, now: datetime) -> datetime | None:
    """When to try again after `tries` failed tries; None when they are used up."""
    if tries >= MAX_TRIES:
        return None
    wait: timedelta = min(FIRST_WAIT * 2 ** (tries - 1), LONGEST_WAIT)
    return now + wait


# --- building statements from rows ------------------------------------------------------------


def _attempt_row(attempt: RolePlayAttempt) -> xapi.AttemptRow:
    return xapi.AttemptRow(
        id=attempt.id,
        scenario_name=attempt.scenario_name,
        scenario_version=attempt.scenario_version,
        rubric_version=attempt.rubric_version,
        started_at=attempt.started_at,
        ended_at=attempt.ended_at,
        outcome=attempt.outcome,
    )


def _turn_row(turn: RolePlayTurn) -> xapi.TurnRow:
    blocks = None if turn.scores is None else dict(turn.scores.get("blocks", {}))
    return xapi.TurnRow(
        id=turn.id,
        number=turn.number,
        node=turn.node,
        kind=turn.kind,
        text=turn.text,
        points=turn.points,
        blocks=blocks,
        at=turn.at,
    )


def build_statements(
    session: Session, rows: Sequence[XapiStatement], desk: xapi.Desk
) -> list[dict[str, Any]]:
    """The statements of these outbox rows, in their order (seven queries, whatever the count)."""
    attempt_ids = {row.attempt_id for row in rows}
    if not attempt_ids:
        return []
    attempts = {
        a.id: a
        for a in session.scalars(select(RolePlayAttempt).where(RolePlayAttempt.id.in_(attempt_ids)))
    }
    learners = {
        p.id: xapi.Learner(handle=p.handle, email=p.email)
        for p in session.scalars(
            select(Person).where(Person.id.in_({a.person_id for a in attempts.values()}))
        )
    }
    turns: dict[int, list[RolePlayTurn]] = {}
    for turn in session.scalars(
        select(RolePlayTurn)
        .where(RolePlayTurn.attempt_id.in_(attempt_ids), RolePlayTurn.speaker == "participant")
        .order_by(RolePlayTurn.attempt_id, RolePlayTurn.number)
    ):
        turns.setdefault(turn.attempt_id, []).append(turn)
    marks = {
        m.id: m
        for m in session.scalars(
            select(LiveMark).where(LiveMark.id.in_({r.mark_id for r in rows if r.mark_id}))
        )
    }
    notes = _notes_with(session, [m for m in marks.values() if m.kind == MarkKind.SCORE.value])
    authors = {
        p.id: xapi.Learner(handle=p.handle, email=p.email)
        for p in session.scalars(
            select(Person).where(Person.id.in_({m.author_id for m in marks.values()}))
        )
    }
    rubric = default_rubric()
    bounds = xapi.score_bounds(rubric)
    built: list[dict[str, Any]] = []
    for row in rows:
        attempt = attempts[row.attempt_id]
        learner = learners[attempt.person_id]
        plain = _attempt_row(attempt)
        own_turns = [_turn_row(t) for t in turns.get(attempt.id, [])]
        if row.mark_id is not None:
            mark = marks[row.mark_id]
            step = next(t for t in own_turns if t.id == row.turn_id)
            if row.verb == "commented":
                note = xapi.LiveNoteRow(
                    mark.id, mark.live_session_id, mark.role, mark.text, mark.at
                )
                built.append(
                    xapi.live_noted(desk, learner, authors[mark.author_id], plain, step, note)
                )
                continue
            score = xapi.LiveScoreRow(
                mark.id,
                mark.live_session_id,
                frozenset(mark.heard or []),
                mark.at,
                notes.get(mark.id, ""),
            )
            # The learner's own score has no instructor.
            scorer = None if mark.author_id == attempt.person_id else authors[mark.author_id]
            built.append(xapi.live_scored(desk, learner, scorer, plain, step, score, rubric))
        elif row.verb == "attempted":
            built.append(xapi.attempted(desk, learner, plain))
        elif row.verb == "completed":
            built.append(xapi.completed(desk, learner, plain, own_turns, bounds))
        else:
            step = next(t for t in own_turns if t.id == row.turn_id)
            if row.verb == "answered":
                built.append(xapi.answered(desk, learner, plain, step))
            else:
                built.append(xapi.scored(desk, learner, plain, step, bounds))
    return built


def _notes_with(session: Session, scores: Iterable[LiveMark]) -> dict[int, str]:
    """The note each observer wrote with a score (saved in the same moment, on the same turn),
    by the score's id: marks are append-only, so a resend carries the same note."""
    wanted = {(m.live_session_id, m.author_id, m.turn_number, m.at): m.id for m in scores}
    if not wanted:
        return {}
    found: dict[int, str] = {}
    for note in session.scalars(
        select(LiveMark)
        .where(
            LiveMark.live_session_id.in_({key[0] for key in wanted}),
            LiveMark.author_id.in_({key[1] for key in wanted}),
            LiveMark.kind == MarkKind.NOTE.value,
        )
        .order_by(LiveMark.id)
    ):
        score_id = wanted.get((note.live_session_id, note.author_id, note.turn_number, note.at))
        if score_id is not None and score_id not in found:
            found[score_id] = note.text
    return found


def desk_of(settings: Settings) -> xapi.Desk:
    return xapi.Desk(public_url=settings.public_url, send_email=settings.lrs_send_email)


def statements_since(
    session: Session, settings: Settings, since: datetime, limit: int | None = None
) -> list[dict[str, Any]]:
    """Every statement recorded since `since` (sent or not), oldest first: an export."""
    query = (
        select(XapiStatement)
        .where(XapiStatement.created_at >= since)
        .order_by(XapiStatement.created_at, XapiStatement.id)
    )
    if limit is not None:
        query = query.limit(limit)
    return build_statements(session, list(session.scalars(query)), desk_of(settings))


# --- sending ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outgoing:
    row_id: int
    statement: dict[str, Any]


@dataclass(frozen=True)
class Answer:
    row_ids: tuple[int, ...]
    sent: bool
    error: str | None


def claim(session: Session, settings: Settings, now: datetime, limit: int) -> list[Outgoing]:
    due = (
        select(XapiStatement)
        .where(
            XapiStatement.state == "pending",
            XapiStatement.next_try_at <= now,
            or_(XapiStatement.claimed_until.is_(None), XapiStatement.claimed_until < now),
        )
        .order_by(XapiStatement.next_try_at, XapiStatement.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    rows = list(session.scalars(due))
    if not rows:
        return []
    session.execute(
        update(XapiStatement)
        .where(XapiStatement.id.in_([row.id for row in rows]))
        .values(claimed_until=now + LEASE)
    )
    statements = build_statements(session, rows, desk_of(settings))
    return [Outgoing(row.id, statement) for row, statement in zip(rows, statements, strict=True)]


def _endpoint(settings: Settings) -> str:
    assert settings.lrs_url is not None
    return settings.lrs_url.rstrip("/") + "/statements"


def _auth(settings: Settings) -> httpx.Auth:
    if settings.lrs_username is None:
        return httpx.Auth()  # the base class sends the request as it is
    password = "" if settings.lrs_password is None else settings.lrs_password.get_secret_value()
    return httpx.BasicAuth(settings.lrs_username, password)


HEADERS = {"X-Experience-API-Version": xapi.XAPI_VERSION, "content-type": "application/json"}


def _failure(response: httpx.Response | None, error: Exception | None) -> str:
    if response is not None:
        return f"{response.status_code}: {response.text}"[:500]
    return f"{type(error).__name__}: {error}"[:500]


def send(client: httpx.Client, settings: Settings, batch: Sequence[Outgoing]) -> list[Answer]:
    """POST the batch; if the store refuses it (one statement it will not take spoils a batch),
    PUT each statement on its own so the others still go. Never raises for the store's
    failures: they are the answer."""
    ids = tuple(item.row_id for item in batch)
    try:
        response = client.post(
            _endpoint(settings),
            json=[item.statement for item in batch],
            headers=HEADERS,
            auth=_auth(settings),
        )
    except httpx.HTTPError as error:
        return [Answer(ids, False, _failure(None, error))]
    if response.is_success:
        return [Answer(ids, True, None)]
    if response.status_code not in (400, 409) or len(batch) == 1:
        return [Answer(ids, False, _failure(response, None))]
    answers = []
    for item in batch:
        try:
            one = client.put(
                _endpoint(settings),
                params={"statementId": item.statement["id"]},
                json=item.statement,
                headers=HEADERS,
                auth=_auth(settings),
            )
            answers.append(Answer((item.row_id,), one.is_success, _failure(one, None)))
        except httpx.HTTPError as error:
            answers.append(Answer((item.row_id,), False, _failure(None, error)))
    return answers


def record(session: Session, answers: Iterable[Answer], now: datetime) -> None:
    for answer in answers:
        for row in session.scalars(
            select(XapiStatement).where(XapiStatement.id.in_(answer.row_ids))
        ):
            row.claimed_until = None
            row.tries += 1
            if answer.sent:
                row.state, row.sent_at, row.last_error = "sent", now, None
                continue
            row.last_error = answer.error
            later = next_try_at(row.tries, now)
            if later is None:
                row.state = "failed"
            else:
                row.next_try_at = later
    session.flush()


def send_due(
    database: Database,
    settings: Settings,
    now: datetime,
    *,
    client: httpx.Client | None = None,
    limit: int = BATCH,
) -> int:
    """Send every statement due at `now` that nobody else holds; how many were tried."""
    if settings.lrs_url is None:
        return 0
    own = client is None
    http = client or httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False)
    tried = 0
    try:
        while True:
            with database.unit_of_work() as session:
                batch = claim(session, settings, now, limit)
            if not batch:
                return tried
            answers = send(http, settings, batch)
            with database.unit_of_work() as session:
                record(session, answers, now)
            tried += len(batch)
            if len(batch) < limit:
                return tried
    finally:
        if own:
            http.close()
