"""HTTP API for a request's attachments: upload (multipart), list and download."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel

from followthrough.attachments import rules, service
from followthrough.attachments.models import Attachment
from followthrough.attachments.storage import AttachmentStore, store_from_settings
from followthrough.attachments.upload import FILE_FIELD, Received, receive_upload
from followthrough.fields import Id
from followthrough.web.deps import CurrentActor, DbSession, Now, UnitOfWorkRoute, in_work, settings

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/requests", tags=["attachments"])


def attachment_store(request: Request) -> AttachmentStore:
    """The app's one store, made from its settings on first use (tests may set their own on
    `app.state.attachment_store` first)."""
    found: AttachmentStore | None = getattr(request.app.state, "attachment_store", None)
    if found is None:
        found = request.app.state.attachment_store = store_from_settings(settings(request))
    return found


def received_upload(request: Request) -> Received:
    """The upload of the request, read on the event loop before the unit of work starts
    (`in_work` below); never called by FastAPI itself."""
    raise AssertionError("Received is provided by UnitOfWorkRoute")


in_work(received_upload, lambda work: work.prepared[received_upload], prepare=receive_upload)
ReceivedUpload = Annotated[Received, Depends(received_upload)]


class AttachmentOut(BaseModel):
    id: int
    request_id: int
    file_name: str
    content_type: str
    size_bytes: int
    sha256: str
    added_by_id: int
    added_at: datetime
    download_url: str


def attachment_out(row: Attachment) -> AttachmentOut:
    return AttachmentOut(
        id=row.id,
        request_id=row.request_id,
        file_name=row.file_name,
        content_type=row.content_type,
        size_bytes=row.size_bytes,
        sha256=row.sha256,
        added_by_id=row.added_by_id,
        added_at=row.added_at,
        download_url=f"/api/v1/requests/{row.request_id}/attachments/{row.id}",
    )


UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [FILE_FIELD],
                    "properties": {
                        FILE_FIELD: {
                            "type": "string",
                            "format": "binary",
                            "description": f"The file: {rules.ACCEPTED}; its kind is read "
                            "from its content, and its size is limited (413 beyond it)",
                        }
                    },
                }
            }
        },
    }
}


@router.post(
    "/{request_id}/attachments",
    status_code=201,
    response_model=AttachmentOut,
    openapi_extra=UPLOAD_BODY,
)
def attach(
    request_id: Id,
    request: Request,
    received: ReceivedUpload,
    session: DbSession,
    actor: CurrentActor,
    now: Now,
) -> AttachmentOut:
    """Attach a file to a request you may read (any state but closed)."""
    row = service.add_attachment(
        session,
        attachment_store(request),
        actor,
        request_id,
        received.upload,
        settings(request).attachment_max_bytes,
        now,
    )
    return attachment_out(row)


@router.get("/{request_id}/attachments", response_model=list[AttachmentOut])
def attachments(request_id: Id, session: DbSession, actor: CurrentActor) -> list[AttachmentOut]:
    return [attachment_out(row) for row in service.request_attachments(session, actor, request_id)]


def download(row: Attachment, content: bytes) -> Response:
    """The file as a download, never shown in the page: `attachment` with a safe name, the type
    read from its content, and not kept by shared caches."""
    return Response(
        content,
        media_type=row.content_type,
        headers={
            "Content-Disposition": rules.content_disposition(row.file_name),
            "Cache-Control": "private, no-store",
            "Content-Security-Policy": "sandbox; default-src 'none'",
        },
    )


@router.get(
    "/{request_id}/attachments/{attachment_id}",
    response_class=Response,
    responses={
        200: {
            "description": "The file, as a download, with the type it was checked as on upload",
            "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
def attachment_file(
    request_id: Id, attachment_id: Id, request: Request, session: DbSession, actor: CurrentActor
) -> Response:
    row, content = service.attached_file(
        session, attachment_store(request), actor, request_id, attachment_id
    )
    return download(row, content)
