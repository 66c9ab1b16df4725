"""Internal notes: written and read only by the people working a request
(`requests.access.may_see_internal_notes`), each with its event in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from followthrough.errors import InvalidInput, NotAllowed
from followthrough.history.payloads import NoteAdded
from followthrough.history.service import record_event
from followthrough.notes.models import InternalNote
from followthrough.notify.service import notify
from followthrough.org.actors import Actor
from followthrough.org.models import Person
from followthrough.requests.access import (
    get_readable_request,
    may_see_internal_notes,
    working_teams,
)
from followthrough.requests.models import Request

MAX_NOTE = 10_000


def _working_request(session: Session, actor: Actor, request_id: int) -> Request:
    """The request, if the actor works it: NotFound for someone who may not read it (as if it
    did not exist), NotAllowed for a reader who does not work it."""
    request = get_readable_request(session, actor, request_id)
    if not may_see_internal_notes(actor, working_teams(session, request)):
        raise NotAllowed(
            "internal notes are only for the teams working this request", field="request_id"
        )
    return request


def add_note(
    session: Session, actor: Actor, request_id: int, body: str, now: datetime
) -> InternalNote:
    text = body.strip()
    if not text:
        raise InvalidInput("write the note", field="body")
    if len(text) > MAX_NOTE:
        raise InvalidInput(f"a note is at most {MAX_NOTE:,} characters", field="body")
    request = _working_request(session, actor, request_id)
    note = InternalNote(request_id=request.id, author_id=actor.person_id, body=text, posted_at=now)
    session.add(note)
    session.flush()
    record_event(
        session,
        NoteAdded(note_id=note.id),
        now,
        request_id=request.id,
        actor_id=actor.person_id,
        team_id=request.team_id,
    )
    if request.owner_id != actor.person_id:
        notify(
            session,
            request.owner_id,
            "note",
            f"An internal note was added to #{request.id} {request.title}",
            now,
            request_id=request.id,
        )
    return note


def request_notes(session: Session, actor: Actor, request_id: int) -> list[InternalNote]:
    """The request's internal notes, oldest first, for someone working it."""
    request = _working_request(session, actor, request_id)
    return list(
        session.scalars(
            select(InternalNote)
            .where(InternalNote.request_id == request.id)
            .order_by(InternalNote.id)
        )
    )


@dataclass(frozen=True)
class ShownNote:
    """An internal note as the request page shows it."""

    id: int
    author: str
    body: str
    posted_at: datetime


def notes_if_working(session: Session, actor: Actor, request_id: int) -> list[ShownNote] | None:
    """For the request page: the notes if the actor works the request, else None (the page
    then shows nothing about notes). NotFound, as always, for someone who may not read it."""
    request = get_readable_request(session, actor, request_id)
    if not may_see_internal_notes(actor, working_teams(session, request)):
        return None
    rows = session.execute(
        select(InternalNote, Person.name)
        .join(Person, Person.id == InternalNote.author_id)
        .where(InternalNote.request_id == request.id)
        .order_by(InternalNote.id)
    )
    return [ShownNote(n.id, name, n.body, n.posted_at) for n, name in rows]
