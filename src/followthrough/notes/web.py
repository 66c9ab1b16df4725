"""Internal notes on the request page."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from followthrough.fields import Id
from followthrough.notes import service
from followthrough.notes.api import NoteIn
from followthrough.requests.web import _request_page as request_page_with
from followthrough.web.deps import UnitOfWorkRoute
from followthrough.web.pages import ChangePage, model_from_form

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)


@router.post("/requests/{request_id}/notes")
def add_note(request_id: Id, page: ChangePage) -> Response:
    def act() -> None:
        body = model_from_form(NoteIn, page.form)
        service.add_note(page.session, page.actor, request_id, body.body, page.now)

    errors = page.attempt("note", act)
    if errors:
        return request_page_with(page, request_id, errors)
    return page.redirect(f"/requests/{request_id}#notes", "Internal note added.")
