"""Attaching files to a request and reading them back, through the one authorisation rule.

A file is written to the store before the transaction commits, under a fresh random key, and
removed again if that transaction rolls back (whatever the reason: a refused change after it in
the same unit of work, a failed flush, a failed commit). So a committed attachment row always
has its file, and a rolled-back one leaves none. Only a process killed between the write and
the commit can leave a file without a row: unreachable (nothing names its key) and harmless.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import event, select
from sqlalchemy.orm import Session, SessionTransaction

from followthrough.attachments import rules
from followthrough.attachments.models import Attachment
from followthrough.attachments.storage import AttachmentStore, StoredFileMissing, new_key
from followthrough.errors import InvalidTransition, NotFound
from followthrough.history.payloads import AttachmentAdded
from followthrough.history.service import record_event
from followthrough.notify.service import notify
from followthrough.org.actors import Actor
from followthrough.org.models import Person
from followthrough.requests.access import get_readable_request
from followthrough.requests.vocabulary import RequestState


@dataclass(frozen=True)
class Upload:
    """A file as it arrived: the name the sender gave it and its bytes. `too_big` when the
    upload went past the size limit (its bytes are then not kept); `missing` says why there
    is no file at all (no file chosen, not a multipart form)."""

    file_name: str
    content: bytes
    too_big: bool = False
    missing: str = ""


def add_attachment(
    session: Session,
    store: AttachmentStore,
    actor: Actor,
    request_id: int,
    upload: Upload,
    max_bytes: int,
    now: datetime,
) -> Attachment:
    """Attach a file to a request the actor may read, with its event, in the session's
    transaction; the file is in the store from now on, and gone again if it rolls back."""
    request = get_readable_request(session, actor, request_id)
    if request.state == RequestState.CLOSED:
        raise InvalidTransition(
            "the request is closed; raise a new request to send more files", field="state"
        )
    accepted = rules.check_upload(
        upload.file_name,
        upload.content,
        too_big=upload.too_big,
        missing=upload.missing,
        max_bytes=max_bytes,
    )
    row = Attachment(
        request_id=request.id,
        file_name=accepted.file_name,
        content_type=accepted.content_type,
        size_bytes=len(upload.content),
        sha256=hashlib.sha256(upload.content).hexdigest(),
        storage_key=new_key(),
        added_by_id=actor.person_id,
        added_at=now,
    )
    session.add(row)
    session.flush()
    record_event(
        session,
        AttachmentAdded(attachment_id=row.id, file_name=row.file_name, size_bytes=row.size_bytes),
        now,
        request_id=request.id,
        actor_id=actor.person_id,
        team_id=request.team_id,
    )
    if request.owner_id != actor.person_id:
        notify(
            session,
            request.owner_id,
            "attachment",
            f"A file was attached to #{request.id} {request.title}: {row.file_name}",
            now,
            request_id=request.id,
        )
    # Undo first, then write: a write that fails half-way is rolled back and removed too.
    remove_on_rollback(session, store, row.storage_key)
    store.put(row.storage_key, upload.content)
    return row


def remove_on_rollback(session: Session, store: AttachmentStore, key: str) -> None:
    """Delete `key` from the store if the transaction now open (or the savepoint, or any
    transaction around it) rolls back; forget it once the outermost transaction commits.

    The listeners stay on the session (one unit of work) and do nothing once settled: a
    listener cannot be removed while the session is calling its listeners."""
    written_in = session.get_nested_transaction() or session.get_transaction()
    settled = False

    def inside(transaction: SessionTransaction) -> bool:
        current = written_in
        while current is not None:
            if current is transaction:
                return True
            current = current.parent
        return False

    def rolled_back(_session: Session, previous: SessionTransaction) -> None:
        nonlocal settled
        if not settled and inside(previous):
            settled = True
            store.delete(key)

    def committed(_session: Session) -> None:
        nonlocal settled
        settled = True

    event.listen(session, "after_soft_rollback", rolled_back)
    event.listen(session, "after_commit", committed)


def request_attachments(session: Session, actor: Actor, request_id: int) -> list[Attachment]:
    """The request's attachments, oldest first, for someone who may read the request."""
    request = get_readable_request(session, actor, request_id)
    return list(
        session.scalars(
            select(Attachment).where(Attachment.request_id == request.id).order_by(Attachment.id)
        )
    )


@dataclass(frozen=True)
class ShownAttachment:
    """An attachment as the request page lists it, in the users' words."""

    id: int
    file_name: str
    kind: str
    size: str
    added_by: str
    added_at: datetime


def attachments_for_page(session: Session, actor: Actor, request_id: int) -> list[ShownAttachment]:
    """The request's attachments for its page, oldest first, with who attached each."""
    rows = request_attachments(session, actor, request_id)
    added_by = {r.added_by_id for r in rows}
    names = {
        row.id: row.name
        for row in session.execute(select(Person.id, Person.name).where(Person.id.in_(added_by)))
    }
    return [
        ShownAttachment(
            id=r.id,
            file_name=r.file_name,
            kind=rules.type_label(r.content_type),
            size=rules.size_label(r.size_bytes),
            added_by=names.get(r.added_by_id, "someone"),
            added_at=r.added_at,
        )
        for r in rows
    ]


def attached_file(
    session: Session, store: AttachmentStore, actor: Actor, request_id: int, attachment_id: int
) -> tuple[Attachment, bytes]:
    """An attachment and its bytes, for someone who may read its request; NotFound for anyone
    else, for an attachment of another request, and for a file the store no longer holds
    whole."""
    request = get_readable_request(session, actor, request_id)
    row = session.get(Attachment, attachment_id)
    if row is None or row.request_id != request.id:
        raise NotFound(
            f"request {request_id} has no attachment {attachment_id}", field="attachment_id"
        )
    try:
        content = store.get(row.storage_key)
    except StoredFileMissing:
        raise NotFound(
            f"the file of attachment {attachment_id} is missing from storage; "
            "ask whoever attached it to attach it again",
            field="attachment_id",
        ) from None
    if hashlib.sha256(content).hexdigest() != row.sha256:
        raise NotFound(
            f"the stored file of attachment {attachment_id} is not the one attached; "
            "ask whoever attached it to attach it again",
            field="attachment_id",
        )
    return row, content
