"""Writing the history: one event row per change, in the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from followthrough.history.models import Event

# Every kind of event the product writes; Insight and the exports read these names.
EVENT_KINDS = (
    "opened",
    "offered",
    "accepted",
    "declined",
    "withdrawn",
    "escalated",
    "paused",
    "resumed",
    "clarification_asked",
    "clarification_answered",
    "update_posted",
    "update_reminded",
    "update_escalated",
    "promise_made",
    "promise_kept",
    "promise_broken",
    "resolved",
    "reopened",
    "closed",
    "rated",
    "feedback_given",
    "case_linked",
    "sub_request_opened",
)


def record_event(
    session: Session,
    kind: str,
    at: datetime,
    /,
    *,
    request_id: int | None = None,
    actor_id: int | None = None,
    team_id: int | None = None,
    other_team_id: int | None = None,
    person_id: int | None = None,
    **payload: Any,
) -> Event:
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    event = Event(
        kind=kind,
        at=at,
        request_id=request_id,
        actor_id=actor_id,
        team_id=team_id,
        other_team_id=other_team_id,
        person_id=person_id,
        payload={k: v for k, v in payload.items() if v is not None},
    )
    session.add(event)
    return event


def request_events(session: Session, request_id: int) -> list[Event]:
    return list(
        session.scalars(select(Event).where(Event.request_id == request_id).order_by(Event.id))
    )
