"""HTTP API for a request's internal notes: only the teams working it read or add them."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from followthrough.fields import Id
from followthrough.notes import service
from followthrough.notes.models import InternalNote
from followthrough.web.deps import CurrentActor, DbSession, Now, UnitOfWorkRoute
from followthrough.web.schemas import Input

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/requests", tags=["internal notes"])


class NoteIn(Input):
    body: str = Field(min_length=1, max_length=service.MAX_NOTE)


class NoteOut(BaseModel):
    id: int
    request_id: int
    author_id: int
    body: str
    posted_at: datetime
    internal: bool = Field(
        default=True, description="Always true: only the teams working the request see it"
    )


def note_out(note: InternalNote) -> NoteOut:
    return NoteOut(
        id=note.id,
        request_id=note.request_id,
        author_id=note.author_id,
        body=note.body,
        posted_at=note.posted_at,
    )


@router.post("/{request_id}/notes", status_code=201, response_model=NoteOut)
def add_note(
    request_id: Id, body: NoteIn, session: DbSession, actor: CurrentActor, now: Now
) -> NoteOut:
    """Add an internal note. Only the request's owner and the teams holding it, in its path or
    named by an open offer may (403 for its other readers, 404 for anyone else)."""
    return note_out(service.add_note(session, actor, request_id, body.body, now))


@router.get("/{request_id}/notes", response_model=list[NoteOut])
def notes(request_id: Id, session: DbSession, actor: CurrentActor) -> list[NoteOut]:
    """The internal notes, oldest first, for the teams working the request (403 for its other
    readers, 404 for anyone else)."""
    return [note_out(n) for n in service.request_notes(session, actor, request_id)]
