"""Attachments on the request page: upload from its form, download through the read rule."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from followthrough.attachments import service
from followthrough.attachments.api import attachment_store, download
from followthrough.attachments.upload import Received, receive_upload
from followthrough.fields import Id
from followthrough.requests.web import _request_page as request_page_with
from followthrough.web.deps import UnitOfWorkRoute, Work, in_work, settings
from followthrough.web.pages import FormFields, Page, ReadPage, checked_viewer, page_viewer

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)


@dataclass(frozen=True)
class UploadPage:
    """A page posting a file: the page (signed in; CSRF checked whenever the form could be
    read) and what was received."""

    page: Page
    received: Received


def upload_page(request: Request) -> UploadPage:
    """Computed inside the unit of work (`in_work` below); never called by FastAPI itself."""
    raise AssertionError("UploadPage is provided by UnitOfWorkRoute")


def _upload_page(work: Work) -> UploadPage:
    received: Received = work.prepared[upload_page]
    form = FormFields(list(received.fields.items()))
    viewer = page_viewer(work.request, work.session, work.now)
    if not received.upload.too_big:
        # An oversized body is not read, so its CSRF token is unknown: such a post changes
        # nothing and only shows the request page again with the message.
        viewer = checked_viewer(work.request, form, viewer)
    return UploadPage(Page(work.request, work.session, viewer, work.now, form), received)


in_work(upload_page, _upload_page, prepare=receive_upload)


@router.post("/requests/{request_id}/attachments")
def attach(request_id: Id, posted: Annotated[UploadPage, Depends(upload_page)]) -> Response:
    page = posted.page
    errors = page.attempt(
        "attach",
        lambda: service.add_attachment(
            page.session,
            attachment_store(page.request),
            page.actor,
            request_id,
            posted.received.upload,
            settings(page.request).attachment_max_bytes,
            page.now,
        ),
    )
    if errors:
        return request_page_with(page, request_id, errors)
    return page.redirect(f"/requests/{request_id}#attachments", "File attached.")


@router.get("/requests/{request_id}/attachments/{attachment_id}")
def attachment_file(request_id: Id, attachment_id: Id, page: ReadPage) -> Response:
    row, content = service.attached_file(
        page.session, attachment_store(page.request), page.actor, request_id, attachment_id
    )
    return download(row, content)
