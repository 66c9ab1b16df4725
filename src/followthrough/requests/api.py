"""HTTP API for requests: translates HTTP to service calls and back, nothing more."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Table, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from followthrough.auth.models import IdempotentResponse
from followthrough.errors import Conflict, InvalidInput, NotFound
from followthrough.fields import MAX_ID, Id, Offset, Text
from followthrough.org.actors import Actor
from followthrough.requests import queries, service
from followthrough.requests import schemas as s
from followthrough.requests.models import Request as RequestRow
from followthrough.web.deps import UnitOfWorkRoute, as_caller

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/requests", tags=["requests"])

IfMatch = Annotated[str | None, Header(description='ETag of the version you saw, e.g. "3"')]


def expected_version(if_match: str | None, body_version: int | None) -> int | None:
    """The version the caller saw, from If-Match or the body; they must agree if both are given."""
    header_version: int | None = None
    if if_match:
        raw = if_match.strip().removeprefix("W/").strip('"')
        if not (raw.isascii() and raw.isdigit()) or int(raw) > MAX_ID:
            raise InvalidInput('If-Match must be an ETag like "3"', field="if-match")
        header_version = int(raw)
    if header_version is not None and body_version is not None and header_version != body_version:
        raise InvalidInput("If-Match and version disagree", field="version")
    return header_version if header_version is not None else body_version


async def prefers_minimal(
    prefer: Annotated[
        str | None, Header(description="Send 'return=minimal' for a short answer to a change")
    ] = None,
) -> bool:
    return prefer is not None and "return=minimal" in prefer.replace(" ", "").lower()


Minimal = Annotated[bool, Depends(prefers_minimal)]


def detail_response(
    session: Session,
    actor: Actor,
    request_id: int,
    status: int = 200,
    *,
    minimal: bool = False,
    created: dict[str, int] | None = None,
    may_lose_sight: bool = False,
) -> JSONResponse:
    """The request's full detail, or with `Prefer: return=minimal` (RFC 7240) just its id, state,
    version, owner and team (plus the ids of what the change `created`): a client that acts in
    a loop need not pay for the detail."""
    if not minimal:
        try:
            detail = queries.request_detail(session, actor, request_id)
        except NotFound:
            # `may_lose_sight`: the change may take the request out of the caller's sight (they
            # declined a confidential offer); the change stands, and the short answer says only
            # what they already knew.
            if not may_lose_sight:
                raise
        else:
            return JSONResponse(
                detail.model_dump(mode="json"),
                status_code=status,
                headers={"ETag": f'"{detail.version}"'},
            )
    request = session.get(RequestRow, request_id)
    assert request is not None, "the change just loaded it"
    body = {
        "id": request.id,
        "state": request.state,
        "version": request.version,
        "owner_id": request.owner_id,
        "team_id": request.team_id,
        **(created or {}),
    }
    headers = {"ETag": f'"{request.version}"'}
    if minimal:
        headers["Preference-Applied"] = "return=minimal"
    return JSONResponse(body, status_code=status, headers=headers)


@router.get("", response_model=s.RequestPage)
def list_requests(
    request: Request,
    state: Annotated[list[Text] | None, Query()] = None,
    team_id: Id | None = None,
    owner_id: Id | None = None,
    requester_id: Id | None = None,
    service_id: Id | None = None,
    case_id: Id | None = None,
    overdue: bool | None = None,
    bounced: bool | None = None,
    sort: Text = "-opened_at",
    limit: Annotated[int, Query(ge=1, le=queries.MAX_LIMIT)] = 50,
    offset: Offset = 0,
) -> s.RequestPage:
    with as_caller(request) as (session, actor, now):
        flt = queries.RequestFilter(
            states=tuple(state or ()),
            team_id=team_id,
            owner_id=owner_id,
            requester_id=requester_id,
            service_id=service_id,
            case_id=case_id,
            overdue=overdue,
            bounced=bounced,
            sort=sort,
            limit=limit,
            offset=offset,
        )
        return queries.list_requests(session, actor, flt, now)


def _fingerprint(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


# A claimed key whose answer is not written yet. Only its own transaction can see it: the claim
# and the answer commit together.
_PENDING = 0
_CLAIM = {
    name: insert(cast(Table, IdempotentResponse.__table__)).on_conflict_do_nothing()
    for name, insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}


def _claim_key(session: Session, person_id: int, key: str, fingerprint: str, now: datetime) -> bool:
    """Claim an Idempotency-Key for this transaction; False if another already holds it.

    The insert is the lock: on PostgreSQL a second claim of the same key waits for the first
    transaction to end, then finds its committed answer (or, if it rolled back, claims the key
    itself), so simultaneous retries never both open a request nor fail on the primary key."""
    statement = _CLAIM[session.get_bind().dialect.name].values(
        person_id=person_id,
        key=key,
        fingerprint=fingerprint,
        status_code=_PENDING,
        body={},
        created_at=now,
    )
    return session.execute(statement.returning(IdempotentResponse.key)).first() is not None


def _replay(session: Session, person_id: int, key: str, fingerprint: str) -> JSONResponse:
    """The first answer given for this key, or 409 if it came with another body."""
    stored = session.execute(
        select(
            IdempotentResponse.fingerprint, IdempotentResponse.status_code, IdempotentResponse.body
        ).where(IdempotentResponse.person_id == person_id, IdempotentResponse.key == key)
    ).one_or_none()
    if stored is None or stored.status_code == _PENDING:
        # Only possible if the first holder vanished between our claim and this read.
        raise Conflict(
            "a request with this Idempotency-Key is still being opened; retry shortly",
            field="idempotency-key",
        )
    if stored.fingerprint != fingerprint:
        raise Conflict(
            "this Idempotency-Key was used with a different body", field="idempotency-key"
        )
    return JSONResponse(
        stored.body, status_code=stored.status_code, headers={"Idempotent-Replayed": "true"}
    )


@router.post("", status_code=201, response_model=s.RequestDetail)
def open_request(
    body: s.RequestIn,
    request: Request,
    minimal: Minimal,
    idempotency_key: Annotated[Text | None, Header(max_length=200)] = None,
) -> JSONResponse:
    """Open a request. Retrying with the same Idempotency-Key returns the first result, even
    when the retries arrive at the same moment."""
    with as_caller(request) as (session, actor, now):
        fingerprint = ""
        if idempotency_key is not None:
            fingerprint = _fingerprint(body.model_dump(mode="json"))
            if not _claim_key(session, actor.person_id, idempotency_key, fingerprint, now):
                return _replay(session, actor.person_id, idempotency_key, fingerprint)
        opened = service.open_request(session, actor, body.as_new_request(), now)
        response = detail_response(session, actor, opened.id, status=201, minimal=minimal)
        if idempotency_key is not None:
            session.execute(
                update(IdempotentResponse)
                .where(
                    IdempotentResponse.person_id == actor.person_id,
                    IdempotentResponse.key == idempotency_key,
                )
                .values(status_code=201, body=json.loads(bytes(response.body)))
            )
        response.headers["Location"] = f"/api/v1/requests/{opened.id}"
        return response


@router.get("/{request_id}", response_model=s.RequestDetail)
def get_request(request_id: Id, request: Request) -> JSONResponse:
    with as_caller(request) as (session, actor, _):
        return detail_response(session, actor, request_id)


@router.get("/{request_id}/events", response_model=list[s.EventOut])
def get_events(request_id: Id, request: Request, after_id: Offset = 0) -> list[s.EventOut]:
    with as_caller(request) as (session, actor, _):
        return queries.request_events(session, actor, request_id, after_id)


@router.post("/{request_id}/offers", status_code=201, response_model=s.RequestDetail)
def offer(
    request_id: Id,
    body: s.OfferIn,
    request: Request,
    minimal: Minimal,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Hand off: offer to a team or a person. You stay accountable until they accept."""
    with as_caller(request) as (session, actor, now):
        offer = service.offer_request(
            session,
            actor,
            request_id,
            body.to_team_id,
            body.to_person_id,
            body.note,
            now,
            expected_version(if_match, body.version),
        )
        return detail_response(
            session, actor, request_id, status=201, minimal=minimal, created={"offer_id": offer.id}
        )


@router.post("/{request_id}/offers/{offer_id}/accept", response_model=s.RequestDetail)
def accept(
    request_id: Id,
    offer_id: Id,
    request: Request,
    minimal: Minimal,
    body: s.VersionedIn | None = None,
    if_match: IfMatch = None,
) -> JSONResponse:
    with as_caller(request) as (session, actor, now):
        version = expected_version(if_match, None if body is None else body.version)
        service.accept_offer(session, actor, request_id, offer_id, now, version)
        return detail_response(session, actor, request_id, minimal=minimal)


@router.post("/{request_id}/offers/{offer_id}/decline", response_model=s.RequestDetail)
def decline(
    request_id: Id,
    offer_id: Id,
    body: s.DeclineIn,
    request: Request,
    minimal: Minimal,
    if_match: IfMatch = None,
) -> JSONResponse:
    with as_caller(request) as (session, actor, now):
        service.decline_offer(
            session,
            actor,
            request_id,
            offer_id,
            body.reason,
            now,
            expected_version(if_match, body.version),
        )
        return detail_response(session, actor, request_id, minimal=minimal, may_lose_sight=True)


@router.post("/{request_id}/offers/{offer_id}/withdraw", response_model=s.RequestDetail)
def withdraw(
    request_id: Id,
    offer_id: Id,
    request: Request,
    minimal: Minimal,
    body: s.VersionedIn | None = None,
    if_match: IfMatch = None,
) -> JSONResponse:
    with as_caller(request) as (session, actor, now):
        version = expected_version(if_match, None if body is None else body.version)
        service.withdraw_offer(session, actor, request_id, offer_id, now, version)
        return detail_response(session, actor, request_id, minimal=minimal)


@router.post("/{request_id}/clarification", response_model=s.RequestDetail)
def ask_clarification(
    request_id: Id,
    body: s.QuestionIn,
    request: Request,
    minimal: Minimal,
    if_match: IfMatch = None,
) -> JSONResponse:
    with as_caller(request) as (session, actor, now):
        service.ask_clarification(
            session, actor, request_id, body.question, now, expected_version(if_match, body.version)
        )
        return detail_response(session, actor, request_id, minimal=minimal)


@router.post("/{request_id}/clarification/answer", response_model=s.RequestDetail)
def answer_clarification(
    request_id: Id,
    body: s.AnswerIn,
    request: Request,
    minimal: Minimal,
    if_match: IfMatch = None,
) -> JSONResponse:
    with as_caller(request) as (session, actor, now):
        service.answer_clarification(
            session, actor, request_id, body.answer, now, expected_version(if_match, body.version)
        )
        return detail_response(session, actor, request_id, minimal=minimal)


@router.post("/{request_id}/wait", response_model=s.RequestDetail)
def wait(
    request_id: Id,
    body: s.WaitIn,
    request: Request,
    minimal: Minimal,
    if_match: IfMatch = None,
) -> JSONResponse:
    with as_caller(request) as (session, actor, now):
        service.start_waiting(
            session,
            actor,
            request_id,
            body.reason,
            body.note,
            now,
            body.child_request_id,
            expected_version(if_match, body.version),
        )
        return detail_response(session, actor, request_id, minimal=minimal)


@router.post("/{request_id}/resume", response_model=s.RequestDetail)
def resume(
    request_id: Id,
    request: Request,
    minimal: Minimal,
    body: s.VersionedIn | None = None,
    if_match: IfMatch = None,
) -> JSONResponse:
    with as_caller(request) as (session, actor, now):
        service.resume(
            session,
            actor,
            request_id,
            now,
            expected_version(if_match, None if body is None else body.version),
        )
        return detail_response(session, actor, request_id, minimal=minimal)


@router.post("/{request_id}/updates", status_code=201, response_model=s.RequestDetail)
def post_update(
    request_id: Id,
    body: s.UpdateIn,
    request: Request,
    minimal: Minimal,
    if_match: IfMatch = None,
) -> JSONResponse:
    with as_caller(request) as (session, actor, now):
        update = service.post_update(
            session, actor, request_id, body.body, now, expected_version(if_match, body.version)
        )
        return detail_response(
            session,
            actor,
            request_id,
            status=201,
            minimal=minimal,
            created={"update_id": update.id},
        )


@router.post("/{request_id}/resolve", response_model=s.RequestDetail)
def resolve(
    request_id: Id,
    body: s.ResolveIn,
    request: Request,
    minimal: Minimal,
    if_match: IfMatch = None,
) -> JSONResponse:
    with as_caller(request) as (session, actor, now):
        service.resolve_request(
            session,
            actor,
            request_id,
            body.resolution,
            now,
            expected_version(if_match, body.version),
        )
        return detail_response(session, actor, request_id, minimal=minimal)


@router.post("/{request_id}/confirm", response_model=s.RequestDetail)
def confirm(
    request_id: Id,
    request: Request,
    minimal: Minimal,
    body: s.VersionedIn | None = None,
    if_match: IfMatch = None,
) -> JSONResponse:
    with as_caller(request) as (session, actor, now):
        version = expected_version(if_match, None if body is None else body.version)
        service.confirm_resolution(session, actor, request_id, now, version)
        return detail_response(session, actor, request_id, minimal=minimal)


@router.post("/{request_id}/reopen", response_model=s.RequestDetail)
def reopen(
    request_id: Id,
    body: s.ReopenIn,
    request: Request,
    minimal: Minimal,
    if_match: IfMatch = None,
) -> JSONResponse:
    with as_caller(request) as (session, actor, now):
        service.reopen_request(
            session, actor, request_id, body.reason, now, expected_version(if_match, body.version)
        )
        return detail_response(session, actor, request_id, minimal=minimal)


@router.post("/{request_id}/cases", response_model=s.RequestDetail)
def link_case(
    request_id: Id,
    body: s.LinkCaseIn,
    request: Request,
    minimal: Minimal,
) -> JSONResponse:
    with as_caller(request) as (session, actor, now):
        service.link_case(session, actor, request_id, body.case_id, now)
        return detail_response(session, actor, request_id, minimal=minimal)


@router.post("/{request_id}/withdraw", response_model=s.RequestDetail)
def withdraw_request(
    request_id: Id,
    body: s.WithdrawIn,
    request: Request,
    minimal: Minimal,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Withdraw your request with a reason (the requester, or an admin): it ends unresolved,
    its open offer is withdrawn, open promises are released and the owner is told why.
    Withdrawing it again answers the same; any other ended request is a 409."""
    with as_caller(request) as (session, actor, now):
        service.withdraw_request(
            session, actor, request_id, body.reason, now, expected_version(if_match, body.version)
        )
        return detail_response(session, actor, request_id, minimal=minimal)


@router.post("/{request_id}/service", response_model=s.RequestDetail)
def change_service(
    request_id: Id,
    body: s.ServiceChangeIn,
    request: Request,
    minimal: Minimal,
    if_match: IfMatch = None,
) -> JSONResponse:
    """File the request under another catalog service, with a reason (its owner, the owning
    team, its lead, or triage). Its resolve-by and update cadence follow the new service;
    a service of another team is offered to that team, and the owner stays accountable until
    someone there accepts. A closed, withdrawn or merged request is a 409."""
    with as_caller(request) as (session, actor, now):
        service.change_service(
            session,
            actor,
            request_id,
            body.service_id,
            body.reason,
            now,
            expected_version(if_match, body.version),
        )
        return detail_response(session, actor, request_id, minimal=minimal)


@router.post("/{request_id}/merge", response_model=s.RequestDetail)
def merge_request(
    request_id: Id,
    body: s.MergeIn,
    request: Request,
    minimal: Minimal,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Merge this request, a duplicate, into another open request (`into_id`); you must work
    on this one and be able to read the other. Its requester, participants and customer cases
    are carried over; both histories are kept and both requesters are told."""
    with as_caller(request) as (session, actor, now):
        service.merge_requests(
            session,
            actor,
            request_id,
            body.into_id,
            body.note,
            now,
            expected_version(if_match, body.version),
        )
        return detail_response(session, actor, request_id, minimal=minimal)
