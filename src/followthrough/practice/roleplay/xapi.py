"""Learning records: role-play attempts, answers, scores and completions as xAPI 1.0.3 statements.

Pure: plain rows in, statements (JSON-ready dicts) out; no database, clock or HTTP. A statement's
id is a UUID 5 of the desk, the row it comes from and its verb, so sending it again (a retry, a second
sender, an export loaded into another store) names the same statement and a store keeps one.

The learner is an xAPI `account` on this desk (its public address and the person's handle), so no
e-mail address leaves the desk unless the organisation chooses to send it (`lrs_send_email`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from followthrough.practice.roleplay.rubric import Rubric

XAPI_VERSION = "1.0.3"
# Fixed for ever: every statement id is derived from it, so a resend keeps its id.
STATEMENT_NAMESPACE = uuid.UUID("2f6a1c8e-4b7d-5e90-9a3c-6d1e0f2b7c45")

ADL = "http://adlnet.gov/expapi"
VERBS: dict[str, str] = {
    "attempted": f"{ADL}/verbs/attempted",
    "answered": f"{ADL}/verbs/answered",
    "scored": f"{ADL}/verbs/scored",
    "completed": f"{ADL}/verbs/completed",
    "commented": f"{ADL}/verbs/commented",
}
SIMULATION = f"{ADL}/activities/simulation"
INTERACTION = f"{ADL}/activities/cmi.interaction"


@dataclass(frozen=True)
class Learner:
    handle: str
    email: str


@dataclass(frozen=True)
class AttemptRow:
    id: int
    scenario_name: str
    scenario_version: int
    rubric_version: str
    started_at: datetime
    ended_at: datetime | None
    outcome: str | None


@dataclass(frozen=True)
class TurnRow:
    id: int
    number: int
    node: str
    kind: str  # "choice" or "reply"
    text: str
    points: int | None
    # Points per building block, as stored with the turn's scores (None for a choice).
    blocks: Mapping[str, int] | None
    at: datetime


@dataclass(frozen=True)
class Bounds:
    """The lowest and highest points a reply can get (a deflection counts against)."""

    low: int
    high: int

    def scaled(self, raw: int) -> float:
        return (raw - self.low) / (self.high - self.low) if self.high > self.low else 0.0


@dataclass(frozen=True)
class ScoreBounds:
    total: Bounds
    blocks: Mapping[str, Bounds]


def score_bounds(rubric: Rubric) -> ScoreBounds:
    """Per reply: the total's and each block's range, from the rubric's behaviours."""
    blocks: dict[str, Bounds] = {}
    for rule in rubric.behaviours:
        now = blocks.get(rule.block.value, Bounds(0, 0))
        blocks[rule.block.value] = Bounds(
            now.low + min(rule.points, 0), now.high + max(rule.points, 0)
        )
    total = Bounds(sum(b.low for b in blocks.values()), sum(b.high for b in blocks.values()))
    return ScoreBounds(total, blocks)


@dataclass(frozen=True)
class Desk:
    """Where the statements come from: the desk's public address, and whether e-mail may go."""

    public_url: str
    send_email: bool = False

    @property
    def base(self) -> str:
        return self.public_url.rstrip("/")


def record_key(kind: str, row_id: int, verb: str) -> str:
    """What a statement records on this desk: a row ("attempt", "turn", or an observer's
    "mark") and a verb."""
    return f"roleplay/{kind}/{row_id}/{verb}"


def statement_id(desk: Desk, key: str) -> str:
    """The statement's id: the same row and verb on the same desk always give the same id, and
    two desks sending to one store never share one."""
    return str(uuid.uuid5(STATEMENT_NAMESPACE, f"{desk.base}/{key}"))


def registration(desk: Desk, attempt_id: int) -> str:
    """One attempt's registration: it ties the attempt's statements together in any store."""
    return str(uuid.uuid5(STATEMENT_NAMESPACE, f"{desk.base}/roleplay/attempt/{attempt_id}"))


def scenario_activity_id(desk: Desk, scenario_name: str) -> str:
    return f"{desk.base}/xapi/activities/roleplay/{scenario_name}"


def step_activity_id(desk: Desk, scenario_name: str, node: str) -> str:
    return f"{scenario_activity_id(desk, scenario_name)}/steps/{node}"


def extension(desk: Desk, name: str) -> str:
    return f"{desk.base}/xapi/extensions/{name}"


def _timestamp(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _actor(desk: Desk, learner: Learner) -> dict[str, Any]:
    if desk.send_email:
        return {"objectType": "Agent", "mbox": f"mailto:{learner.email}"}
    return {"objectType": "Agent", "account": {"homePage": desk.base, "name": learner.handle}}


def _verb(name: str) -> dict[str, Any]:
    return {"id": VERBS[name], "display": {"en-US": name}}


def _scenario(desk: Desk, attempt: AttemptRow) -> dict[str, Any]:
    return {
        "objectType": "Activity",
        "id": scenario_activity_id(desk, attempt.scenario_name),
        "definition": {
            "type": SIMULATION,
            "name": {"en-US": attempt.scenario_name.replace("-", " ").replace("_", " ")},
        },
    }


def _step(desk: Desk, attempt: AttemptRow, turn: TurnRow) -> dict[str, Any]:
    return {
        "objectType": "Activity",
        "id": step_activity_id(desk, attempt.scenario_name, turn.node),
        "definition": {
            "type": INTERACTION,
            "name": {"en-US": f"{attempt.scenario_name} step {turn.node}"},
            "interactionType": "choice" if turn.kind == "choice" else "long-fill-in",
        },
    }


def _context(desk: Desk, attempt: AttemptRow, parent: bool) -> dict[str, Any]:
    context: dict[str, Any] = {
        "registration": registration(desk, attempt.id),
        "platform": "Followthrough",
        "extensions": {
            extension(desk, "scenario-version"): attempt.scenario_version,
            extension(desk, "rubric-version"): attempt.rubric_version,
        },
    }
    if parent:
        context["contextActivities"] = {
            "parent": [
                {"id": scenario_activity_id(desk, attempt.scenario_name), "objectType": "Activity"}
            ]
        }
    return context


def _score(raw: int, bounds: Bounds) -> dict[str, Any]:
    return {
        "scaled": round(bounds.scaled(raw), 4),
        "raw": raw,
        "min": bounds.low,
        "max": bounds.high,
    }


def _statement(
    desk: Desk,
    learner: Learner,
    ident: str,
    verb: str,
    target: dict[str, Any],
    at: datetime,
    context: dict[str, Any],
    result: dict[str, Any] | None = None,
) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "id": ident,
        "actor": _actor(desk, learner),
        "verb": _verb(verb),
        "object": target,
        "context": context,
        "timestamp": _timestamp(at),
        "version": XAPI_VERSION,
    }
    if result is not None:
        statement["result"] = result
    return statement


def attempted(desk: Desk, learner: Learner, attempt: AttemptRow) -> dict[str, Any]:
    """The attempt started."""
    return _statement(
        desk,
        learner,
        statement_id(desk, record_key("attempt", attempt.id, "attempted")),
        "attempted",
        _scenario(desk, attempt),
        attempt.started_at,
        _context(desk, attempt, parent=False),
    )


def answered(desk: Desk, learner: Learner, attempt: AttemptRow, turn: TurnRow) -> dict[str, Any]:
    """One turn: the choice taken or the reply written, as the learner's response."""
    return _statement(
        desk,
        learner,
        statement_id(desk, record_key("turn", turn.id, "answered")),
        "answered",
        _step(desk, attempt, turn),
        turn.at,
        _context(desk, attempt, parent=True),
        {"response": turn.text, "extensions": {extension(desk, "turn"): turn.number}},
    )


def scored(
    desk: Desk, learner: Learner, attempt: AttemptRow, turn: TurnRow, bounds: ScoreBounds
) -> dict[str, Any]:
    """A scored reply: its total on the rubric, and each building block's points."""
    if turn.points is None or turn.blocks is None:
        raise ValueError(f"turn {turn.id} was not scored")
    blocks = {
        extension(desk, f"block/{block}"): _score(turn.blocks.get(block, 0), block_bounds)
        for block, block_bounds in bounds.blocks.items()
    }
    return _statement(
        desk,
        learner,
        statement_id(desk, record_key("turn", turn.id, "scored")),
        "scored",
        _step(desk, attempt, turn),
        turn.at,
        _context(desk, attempt, parent=True),
        {"score": _score(turn.points, bounds.total), "extensions": blocks},
    )


def completed(
    desk: Desk,
    learner: Learner,
    attempt: AttemptRow,
    turns: Sequence[TurnRow],
    bounds: ScoreBounds,
) -> dict[str, Any]:
    """The attempt reached an ending: success when the ending is a good one; the replies'
    points added up against what those replies could have scored."""
    if attempt.outcome is None or attempt.ended_at is None:
        raise ValueError(f"attempt {attempt.id} has not ended")
    replies = [t.points for t in turns if t.points is not None]
    result: dict[str, Any] = {
        "success": attempt.outcome == "good",
        "completion": True,
        "duration": _duration(attempt.ended_at - attempt.started_at),
        "extensions": {extension(desk, "outcome"): attempt.outcome},
    }
    if replies:
        over = Bounds(bounds.total.low * len(replies), bounds.total.high * len(replies))
        result["score"] = _score(sum(replies), over)
    return _statement(
        desk,
        learner,
        statement_id(desk, record_key("attempt", attempt.id, "completed")),
        "completed",
        _scenario(desk, attempt),
        attempt.ended_at,
        _context(desk, attempt, parent=False),
        result,
    )


def _duration(elapsed: timedelta) -> str:
    """ISO 8601 duration, to the hundredth of a second as xAPI keeps it."""
    seconds = max(elapsed.total_seconds(), 0.0)
    return f"PT{seconds:.2f}S"


@dataclass(frozen=True)
class LiveScoreRow:
    """A score of one turn in a live session, by an observer or by the participant: the
    behaviours heard."""

    id: int
    live_session_id: int
    heard: frozenset[str]  # rubric behaviour names
    at: datetime
    note: str = ""  # what the scorer wrote with the score, if anything


@dataclass(frozen=True)
class LiveNoteRow:
    """A note on one turn in a live session, written on its own (not with a score)."""

    id: int
    live_session_id: int
    role: str  # the author's role in the session: observer or character
    text: str
    at: datetime


def live_session_activity_id(desk: Desk, live_session_id: int) -> str:
    return f"{desk.base}/xapi/activities/roleplay-live/{live_session_id}"


def _live_context(desk: Desk, attempt: AttemptRow, live_session_id: int) -> dict[str, Any]:
    context = _context(desk, attempt, parent=True)
    context["contextActivities"]["grouping"] = [
        {"id": live_session_activity_id(desk, live_session_id), "objectType": "Activity"}
    ]
    return context


def live_scored(
    desk: Desk,
    learner: Learner,
    observer: Learner | None,
    attempt: AttemptRow,
    turn: TurnRow,
    score: LiveScoreRow,
    rubric: Rubric,
) -> dict[str, Any]:
    """A person scored the learner's turn in a live session: the learner is the actor; an
    observer is the context's instructor (`observer` None: the learner scored themselves). The
    result has the total, each block and each behaviour (its points when heard, 0 when not), on
    the rubric's own points, and the note written with the score as its response."""
    bounds = score_bounds(rubric)
    heard = {rule.behaviour.value for rule in rubric.behaviours} & score.heard
    blocks = dict.fromkeys(bounds.blocks, 0)
    for rule in rubric.behaviours:
        if rule.behaviour.value in heard:
            blocks[rule.block.value] += rule.points
    extensions: dict[str, Any] = {
        extension(desk, f"block/{block}"): _score(points, bounds.blocks[block])
        for block, points in blocks.items()
    }
    for rule in rubric.behaviours:
        own = Bounds(min(rule.points, 0), max(rule.points, 0))
        raw = rule.points if rule.behaviour.value in heard else 0
        extensions[extension(desk, f"behaviour/{rule.behaviour.value}")] = _score(raw, own)
    extensions[extension(desk, "scorer")] = "self" if observer is None else "observer"
    extensions[extension(desk, "turn")] = turn.number
    context = _live_context(desk, attempt, score.live_session_id)
    if observer is not None:
        context["instructor"] = _actor(desk, observer)
    result: dict[str, Any] = {
        "score": _score(sum(blocks.values()), bounds.total),
        "extensions": extensions,
    }
    if score.note:
        result["response"] = score.note
    return _statement(
        desk,
        learner,
        statement_id(desk, record_key("mark", score.id, "scored")),
        "scored",
        _step(desk, attempt, turn),
        score.at,
        context,
        result,
    )


def live_noted(
    desk: Desk,
    learner: Learner,
    author: Learner,
    attempt: AttemptRow,
    turn: TurnRow,
    note: LiveNoteRow,
) -> dict[str, Any]:
    """Someone in the session (an observer, or the character's player) commented on the
    learner's turn: the author is the actor, since the words are theirs; the learner, whose
    record it is, is named in the context (and the attempt's registration ties it to their
    other statements)."""
    context = _live_context(desk, attempt, note.live_session_id)
    context["extensions"][extension(desk, "learner")] = _actor(desk, learner)
    return _statement(
        desk,
        author,
        statement_id(desk, record_key("mark", note.id, "commented")),
        "commented",
        _step(desk, attempt, turn),
        note.at,
        context,
        {
            "response": note.text,
            "extensions": {
                extension(desk, "author-role"): note.role,
                extension(desk, "turn"): turn.number,
            },
        },
    )


# --- checking a statement ---------------------------------------------------------------------

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
_IRI = re.compile(r"^[a-z][a-z0-9+.-]*://\S+$")


def problems(statement: Mapping[str, Any]) -> list[str]:
    """What stops the statement being a valid xAPI 1.0.3 statement of ours; empty when none."""
    found: list[str] = []
    if not _UUID.match(str(statement.get("id", ""))):
        found.append("id: not a UUID")
    actor = statement.get("actor") or {}
    ifis = [key for key in ("mbox", "mbox_sha1sum", "openid", "account") if key in actor]
    if len(ifis) != 1:
        found.append("actor: needs exactly one identifier")
    elif "account" in actor:
        account = actor["account"]
        if not _IRI.match(str(account.get("homePage", ""))) or not account.get("name"):
            found.append("actor.account: needs a homePage address and a name")
    verb = statement.get("verb") or {}
    if verb.get("id") not in VERBS.values():
        found.append("verb.id: not an ADL verb")
    target = statement.get("object") or {}
    if not _IRI.match(str(target.get("id", ""))):
        found.append("object.id: not an absolute address")
    try:
        stamp = datetime.fromisoformat(str(statement.get("timestamp")).replace("Z", "+00:00"))
        if stamp.tzinfo is None:
            found.append("timestamp: no time zone")
    except ValueError:
        found.append("timestamp: not ISO 8601")
    if statement.get("version") != XAPI_VERSION:
        found.append(f"version: not {XAPI_VERSION}")
    result = statement.get("result") or {}
    scores = [("result.score", result.get("score"))] + [
        (f"result.extensions[{key}]", value)
        for key, value in (result.get("extensions") or {}).items()
        if isinstance(value, dict)
    ]
    for where, score in scores:
        if score is None:
            continue
        if not 0.0 <= score["scaled"] <= 1.0:
            found.append(f"{where}.scaled: outside 0..1")
        if not score["min"] <= score["raw"] <= score["max"]:
            found.append(f"{where}.raw: outside min..max")
    return found
