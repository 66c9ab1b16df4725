"""HTTP API for promises."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from followthrough.fields import Id, ZonedDateTime
from followthrough.promises import service
from followthrough.requests.api import Minimal, detail_response
from followthrough.requests.schemas import RequestDetail
from followthrough.web.deps import UnitOfWorkRoute, as_caller
from followthrough.web.schemas import Input

router = APIRouter(
    route_class=UnitOfWorkRoute, prefix="/requests/{request_id}/promises", tags=["promises"]
)


class PromiseIn(Input):
    what: str = Field(min_length=1, max_length=1000, description="What you promise the requester")
    due_at: ZonedDateTime


class KeepIn(Input):
    note: str = Field(min_length=1, max_length=2000, description="What was done")


@router.post("", status_code=201, response_model=RequestDetail)
def make_promise(
    request_id: Id,
    body: PromiseIn,
    request: Request,
    minimal: Minimal,
) -> JSONResponse:
    with as_caller(request) as (session, actor, now):
        promise = service.make_promise(session, actor, request_id, body.what, body.due_at, now)
        return detail_response(
            session,
            actor,
            request_id,
            status=201,
            minimal=minimal,
            created={"promise_id": promise.id},
        )


@router.post("/{promise_id}/keep", response_model=RequestDetail)
def keep_promise(
    request_id: Id,
    promise_id: Id,
    body: KeepIn,
    request: Request,
    minimal: Minimal,
) -> JSONResponse:
    with as_caller(request) as (session, actor, now):
        service.keep_promise(session, actor, request_id, promise_id, body.note, now)
        return detail_response(session, actor, request_id, minimal=minimal)
