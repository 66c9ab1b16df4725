"""HTTP API for signing in, the caller's own profile and personal API tokens."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from followthrough.auth import service
from followthrough.auth.passwords import MAX_PASSWORD_LENGTH, password_checks
from followthrough.fields import Id
from followthrough.web.deps import (
    SESSION_COOKIE,
    CurrentActor,
    CurrentPerson,
    DbSession,
    Now,
    UnitOfWorkRoute,
    run_in_unit_of_work,
    settings,
)
from followthrough.web.schemas import Input
from followthrough.web.security import client_address, cookies_secure

router = APIRouter(route_class=UnitOfWorkRoute, tags=["auth"])


class SignInIn(Input):
    handle: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)


class MeOut(BaseModel):
    id: int
    handle: str
    name: str
    email: str
    is_admin: bool
    team_ids: list[int]
    lead_of: list[int]
    csrf_token: str | None = Field(
        default=None, description="Send as X-CSRF-Token with cookie sessions"
    )


class TokenIn(Input):
    name: str = Field(min_length=1, max_length=120)


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class NewTokenOut(TokenOut):
    token: str = Field(description="Shown once; store it now")


@router.post("/session", response_model=MeOut)
async def sign_in(body: SignInIn, request: Request, response: Response) -> MeOut:
    """Three steps, no transaction open while the password is hashed: read the hash (refused
    with 429 if the account or address must wait), check it on the password lane (503 if the
    lane is full), then record the failure or start the session."""
    address = client_address(request)
    attempt = await run_in_unit_of_work(
        request,
        lambda session, now: service.begin_sign_in(session, body.handle, address, now),
        write=False,
    )
    if not await password_checks(request).matches(attempt.password_hash, body.password):
        await run_in_unit_of_work(
            request,
            lambda session, now: service.record_failed_sign_in(session, attempt, now),
            write=True,
        )
        raise service.wrong_password()
    days = settings(request).session_days
    person, token, row = await run_in_unit_of_work(
        request,
        lambda session, now: service.finish_sign_in(session, attempt, now, days),
        write=True,
    )
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=cookies_secure(request),
        max_age=days * 86400,
    )
    return MeOut(
        id=person.id,
        handle=person.handle,
        name=person.name,
        email=person.email,
        is_admin=person.is_admin,
        team_ids=[],
        lead_of=[],
        csrf_token=row.csrf_token,
    )


@router.delete("/session", status_code=204)
def sign_out(
    request: Request, response: Response, session: DbSession, person: CurrentPerson
) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        service.end_web_session(session, cookie)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/me", response_model=MeOut)
def me(request: Request, person: CurrentPerson, actor: CurrentActor) -> MeOut:
    return MeOut(
        id=person.id,
        handle=person.handle,
        name=person.name,
        email=person.email,
        is_admin=person.is_admin,
        team_ids=sorted(actor.team_ids),
        lead_of=sorted(actor.lead_of),
        csrf_token=getattr(request.state, "csrf_token", None),
    )


def _token_out(token: service.ApiToken) -> TokenOut:
    return TokenOut(
        id=token.id,
        name=token.name,
        prefix=token.prefix,
        created_at=token.created_at,
        last_used_at=token.last_used_at,
        revoked_at=token.revoked_at,
    )


@router.get("/me/tokens", response_model=list[TokenOut])
def list_tokens(session: DbSession, person: CurrentPerson) -> list[TokenOut]:
    return [_token_out(t) for t in service.tokens_of(session, person)]


@router.post("/me/tokens", status_code=201, response_model=NewTokenOut)
def create_token(body: TokenIn, session: DbSession, person: CurrentPerson, now: Now) -> NewTokenOut:
    secret, token = service.create_api_token(session, person, body.name, now)
    return NewTokenOut(**_token_out(token).model_dump(), token=secret)


@router.delete("/me/tokens/{token_id}", response_model=TokenOut)
def revoke_token(token_id: Id, session: DbSession, person: CurrentPerson, now: Now) -> TokenOut:
    return _token_out(service.revoke_api_token(session, person, token_id, now))
