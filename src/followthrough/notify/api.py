"""HTTP API for the caller's inbox."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from followthrough.fields import MAX_ID, Id
from followthrough.notify import service
from followthrough.web.deps import CurrentPerson, DbSession, Now, UnitOfWorkRoute
from followthrough.web.schemas import Input

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/inbox", tags=["inbox"])


class NotificationOut(BaseModel):
    id: int
    kind: str
    message: str
    request_id: int | None
    created_at: datetime
    read_at: datetime | None


class InboxOut(BaseModel):
    unread: int
    items: list[NotificationOut]


class MarkReadIn(Input):
    ids: list[Id] | None = Field(
        default=None, max_length=1000, description="Omit to mark everything read"
    )


@router.get("", response_model=InboxOut)
def inbox(
    session: DbSession,
    person: CurrentPerson,
    unread_only: bool = False,
    limit: Annotated[int, Query(ge=1, le=MAX_ID)] = 50,
) -> InboxOut:
    items = service.inbox(
        session, person.id, unread_only=unread_only, limit=max(1, min(limit, 200))
    )
    return InboxOut(
        unread=service.unread_count(session, person.id),
        items=[
            NotificationOut(
                id=n.id,
                kind=n.kind,
                message=n.message,
                request_id=n.request_id,
                created_at=n.created_at,
                read_at=n.read_at,
            )
            for n in items
        ],
    )


@router.post("/read", response_model=InboxOut)
def mark_read(body: MarkReadIn, session: DbSession, person: CurrentPerson, now: Now) -> InboxOut:
    service.mark_read(session, person.id, body.ids, now)
    return inbox(session, person)
