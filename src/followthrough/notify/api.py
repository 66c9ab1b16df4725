"""HTTP API for the caller's notifications: the inbox and its whole history."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from followthrough.fields import MAX_ID, Id, Offset
from followthrough.notify import service
from followthrough.notify.models import Notification
from followthrough.notify.service import Shown
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
    unread: int = Field(description="All the caller's unread notifications")
    total: int = Field(description="The notifications shown (all, unread or read), every page")
    offset: int
    items: list[NotificationOut] = Field(description="Newest first")


class MarkReadIn(Input):
    ids: list[Id] | None = Field(
        default=None, max_length=1000, description="Omit to mark everything read"
    )


class MarkUnreadIn(Input):
    ids: list[Id] = Field(min_length=1, max_length=1000)


def _out(n: Notification) -> NotificationOut:
    return NotificationOut(
        id=n.id,
        kind=n.kind,
        message=n.message,
        request_id=n.request_id,
        created_at=n.created_at,
        read_at=n.read_at,
    )


@router.get("", response_model=InboxOut)
def inbox(
    session: DbSession,
    person: CurrentPerson,
    unread_only: bool = False,
    shown: Annotated[
        Shown, Query(description="all, unread or read (unread_only=true means unread)")
    ] = Shown.ALL,
    limit: Annotated[int, Query(ge=1, le=MAX_ID)] = 50,
    offset: Offset = 0,
) -> InboxOut:
    """Every notification the caller has had, newest first, a page at a time."""
    page = service.history(
        session,
        person.id,
        Shown.UNREAD if unread_only else shown,
        offset=offset,
        limit=max(1, min(limit, 200)),
    )
    return InboxOut(
        unread=page.unread, total=page.total, offset=offset, items=[_out(n) for n in page.items]
    )


@router.post("/read", response_model=InboxOut)
def mark_read(body: MarkReadIn, session: DbSession, person: CurrentPerson, now: Now) -> InboxOut:
    service.mark_read(session, person.id, body.ids, now)
    return inbox(session, person)


@router.post("/unread", response_model=InboxOut)
def mark_unread(body: MarkUnreadIn, session: DbSession, person: CurrentPerson) -> InboxOut:
    """Mark read notifications unread again, to come back to them."""
    service.mark_unread(session, person.id, body.ids)
    return inbox(session, person)
