"""The request lifecycle as plain functions: states, who may act, bounces and the update ladder.

No database, clock or HTTP here: callers pass in the facts and `now`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from followthrough.errors import InvalidInput, InvalidTransition, NotAllowed

# Who acts and who is accountable live in the organisation; named here for older callers.
from followthrough.org.actors import Actor as Actor
from followthrough.org.actors import effective_duty_owner as effective_duty_owner
from followthrough.org.rules import WorkingCalendar, add_business_hours
from followthrough.requests.vocabulary import Priority, RequestState, WaitReason

NEW = RequestState.NEW
IN_PROGRESS = RequestState.IN_PROGRESS
NEEDS_CLARIFICATION = RequestState.NEEDS_CLARIFICATION
WAITING = RequestState.WAITING
RESOLVED = RequestState.RESOLVED
CLOSED = RequestState.CLOSED
WITHDRAWN = RequestState.WITHDRAWN
MERGED = RequestState.MERGED

STATES = tuple(RequestState)
OPEN_STATES = frozenset({NEW, IN_PROGRESS, NEEDS_CLARIFICATION, WAITING})
PAUSED_STATES = frozenset({NEEDS_CLARIFICATION, WAITING})
# Ended without being resolved; never counted as resolved work.
UNRESOLVED_ENDS = frozenset({WITHDRAWN, MERGED})

# What an owner may pause a request to wait on; a clarification pauses it by asking.
WAIT_REASONS = (WaitReason.REQUESTER, WaitReason.SUB_REQUEST, WaitReason.OUTSIDE)
# While the requester owes an answer, nobody owes them an update.
REQUESTER_OWES = frozenset({WaitReason.CLARIFICATION, WaitReason.REQUESTER})
PRIORITIES = tuple(Priority)

# Which actions each state allows. Anything else is an InvalidTransition naming the state.
ALLOWED_IN: dict[str, frozenset[RequestState]] = {
    "offer": frozenset({NEW, IN_PROGRESS}),
    "answer_offer": frozenset({NEW, IN_PROGRESS}),
    "ask_clarification": frozenset({NEW, IN_PROGRESS}),
    "answer_clarification": frozenset({NEEDS_CLARIFICATION}),
    "wait": frozenset({IN_PROGRESS}),
    "resume": frozenset({WAITING}),
    "resolve": frozenset({NEW, IN_PROGRESS}),
    "confirm": frozenset({RESOLVED}),
    "reopen": frozenset({RESOLVED}),
    "auto_close": frozenset({RESOLVED}),
    "post_update": OPEN_STATES,
    "make_promise": OPEN_STATES,
    "open_sub_request": frozenset({NEW, IN_PROGRESS, WAITING}),
    "rate": frozenset({RESOLVED, CLOSED}),
    # Handed to a new owner when its owner leaves: open work, and resolved work not yet closed.
    "reassign": OPEN_STATES | {RESOLVED},
    "withdraw": OPEN_STATES,
    "merge": OPEN_STATES,
    "merge_into": OPEN_STATES,
    # Another service while it is being worked; moving to another team is also an offer.
    "change_service": OPEN_STATES,
}


def require_state(action: str, state: str) -> None:
    """Raise InvalidTransition unless `action` is allowed while the request is in `state`."""
    if state not in ALLOWED_IN[action]:
        allowed = ", ".join(sorted(ALLOWED_IN[action]))
        raise InvalidTransition(
            f"cannot {action.replace('_', ' ')} a request that is {state.replace('_', ' ')}"
            f" (allowed when: {allowed})",
            field="state",
            state=state,
        )


def working_state(accepted: bool) -> RequestState:
    """The state an unpaused open request is in: new until a team member has accepted it."""
    return IN_PROGRESS if accepted else NEW


def is_working_on(actor: Actor, owner_id: int, team_id: int) -> bool:
    """The owner and the members of the request's current team work on it."""
    return actor.person_id == owner_id or team_id in actor.team_ids


def require_working_on(actor: Actor, owner_id: int, team_id: int, what: str) -> None:
    if not is_working_on(actor, owner_id, team_id):
        raise NotAllowed(f"only the owner or the owning team can {what}")


class HeldRequest(Protocol):
    """What the permission rules need to know about a request."""

    requester_id: int
    owner_id: int
    team_id: int


def require_requester_or_working_on(actor: Actor, request: HeldRequest, what: str) -> None:
    if actor.person_id != request.requester_id and not is_working_on(
        actor, request.owner_id, request.team_id
    ):
        raise NotAllowed(f"only the requester or the owning team can {what}")


def require_owner_or_lead(actor: Actor, owner_id: int, team_id: int, what: str) -> None:
    if actor.person_id != owner_id and team_id not in actor.lead_of and not actor.is_admin:
        raise NotAllowed(f"only the accountable owner or the team lead can {what}")


def may_answer_offer(actor: Actor, to_team_id: int, to_person_id: int | None) -> bool:
    """An offer to a person is theirs to answer; an offer to a team, any member's."""
    if to_person_id is not None:
        return actor.person_id == to_person_id or to_team_id in actor.lead_of
    return to_team_id in actor.team_ids


def is_bounce(path: Sequence[int], to_team_id: int) -> bool:
    """Moving to a team the request already left (not the team it is in now) is a bounce."""
    return bool(path) and path[-1] != to_team_id and to_team_id in path[:-1]


def require_text(value: str, field: str, *, max_length: int = 10_000) -> str:
    """Trimmed, non-empty text, or an InvalidInput naming the field."""
    text = value.strip()
    if not text:
        raise InvalidInput(f"{field} must not be empty", field=field)
    if len(text) > max_length:
        raise InvalidInput(f"{field} is longer than {max_length} characters", field=field)
    return text


def owes_updates(waiting_on: str | None) -> bool:
    """Updates are owed unless the requester owes an answer (a question or a requester wait)."""
    return waiting_on not in REQUESTER_OWES


def require_one_of(value: str, choices: Collection[str], field: str) -> str:
    if value not in choices:
        raise InvalidInput(f"{field} must be one of: {', '.join(choices)}", field=field)
    return value


@dataclass(frozen=True)
class UpdateLadder:
    """When the next update is due, and when an overdue one escalates to the team lead."""

    due_at: datetime
    escalate_at: datetime


def update_ladder(
    calendar: WorkingCalendar, last_update: datetime, every_hours: float
) -> UpdateLadder:
    """The next update is due `every_hours` business hours after the last one; if it is still
    missing half a cadence later, it escalates to the lead."""
    due_at = add_business_hours(calendar, last_update, every_hours)
    return UpdateLadder(
        due_at=due_at, escalate_at=add_business_hours(calendar, due_at, every_hours / 2)
    )


def is_overdue(due_at: datetime | None, now: datetime) -> bool:
    return due_at is not None and now >= due_at
