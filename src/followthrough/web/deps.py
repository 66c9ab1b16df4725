"""Request-scoped dependencies: the unit of work, the clock, and who is calling."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, TypeVar

from anyio import to_thread
from fastapi import Depends, Request
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session

from followthrough.auth.service import person_id_for_token, web_session_for
from followthrough.config import Settings
from followthrough.db import Database
from followthrough.errors import NotAllowed, NotSignedIn
from followthrough.org.models import Person
from followthrough.org.service import actor_for, actor_of
from followthrough.requests.rules import Actor

SESSION_COOKIE = "ft_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
T = TypeVar("T")


def database(request: Request) -> Database:
    db: Database = request.app.state.database
    return db


def settings(request: Request) -> Settings:
    value: Settings = request.app.state.settings
    return value


# A coroutine: it does no I/O, and a plain function would cost a hop to the thread pool and
# back on every request.
async def now(request: Request) -> datetime:
    clock: Callable[[], datetime] = request.app.state.clock
    return clock()


def unit_of_work(request: Request) -> Iterator[Session]:
    """One transaction per HTTP request: committed when the endpoint returns, else rolled back."""
    db = database(request)
    with db.unit_of_work(readonly=request.method in SAFE_METHODS) as session:
        yield session


DbSession = Annotated[Session, Depends(unit_of_work, scope="function")]
Now = Annotated[datetime, Depends(now)]


def current_person(request: Request, session: DbSession, at: Now) -> Person:
    """The caller, from a bearer API token or the session cookie (which also needs CSRF)."""
    known: Person | None = getattr(request.state, "caller", None)
    if known is None:
        known = request.state.caller = _caller(request, session, at)
    return known


def _bearer_person_id(request: Request, session: Session, at: datetime) -> int | None:
    """Who the request's API token belongs to; None when it carries no token."""
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        return None
    person_id = person_id_for_token(
        session, header[7:].strip(), at, record_use=request.method not in SAFE_METHODS
    )
    if person_id is None:
        raise NotSignedIn("the API token is unknown or revoked", field="authorization")
    return person_id


def _caller(request: Request, session: Session, at: datetime) -> Person:
    person_id = _bearer_person_id(request, session, at)
    if person_id is not None:
        person = session.get(Person, person_id)
        assert person is not None, "the token's person exists (foreign key)"
        return person
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        row = web_session_for(session, cookie, at)
        if row is not None:
            if (
                request.method not in SAFE_METHODS
                and request.headers.get(CSRF_HEADER) != row.csrf_token
            ):
                raise NotAllowed("missing or wrong CSRF token", field=CSRF_HEADER)
            person = session.get(Person, row.person_id)
            if person is not None and person.active:
                request.state.csrf_token = row.csrf_token
                return person
    raise NotSignedIn("sign in, or send 'Authorization: Bearer <token>'", field="authorization")


CurrentPerson = Annotated[Person, Depends(current_person)]


def current_actor(request: Request, session: DbSession, at: Now) -> Actor:
    # Not built on the CurrentPerson dependency: each synchronous dependency is a hop to the
    # thread pool and back, and nearly every endpoint needs the actor.
    if getattr(request.state, "caller", None) is None:
        # An API client: who it is and what it may do come from the token and the organisation
        # snapshot; nothing needs the person's row.
        person_id = _bearer_person_id(request, session, at)
        if person_id is not None:
            return actor_of(session, person_id)
    return actor_for(session, current_person(request, session, at))


CurrentActor = Annotated[Actor, Depends(current_actor)]


def admin_actor(actor: CurrentActor) -> Actor:
    if not actor.is_admin:
        raise NotAllowed("only admins can manage the organisation")
    return actor


AdminActor = Annotated[Actor, Depends(admin_actor)]


@contextmanager
def as_caller(request: Request) -> Iterator[tuple[Session, Actor, datetime]]:
    """The caller's unit of work, opened inside a synchronous endpoint: the transaction, who is
    calling and the time, all on the endpoint's own worker thread.

    The request desk's endpoints use this instead of the DbSession and CurrentActor
    dependencies: FastAPI runs each synchronous dependency (and the session's close) on the thread
    pool separately, four hops per request where this takes one.
    """
    at: datetime = request.app.state.clock()
    with database(request).unit_of_work(readonly=request.method in SAFE_METHODS) as session:
        yield session, current_actor(request, session, at), at


class UnitOfWorkRoute(APIRoute):
    """Every route of the app: its unit of work, the caller and the endpoint run in one
    thread-pool call, after a bounded wait for a free worker (and, on SQLite, the write turn)."""


async def run_in_unit_of_work(
    request: Request, work: Callable[[Session, datetime], T], *, write: bool
) -> T:
    """Run `work(session, now)` in one unit of work on a worker thread, after the same bounded
    admission as the routes. For async endpoints that need several steps (e.g. sign-in: read,
    check the password off the pool, then write)."""
    at: datetime = request.app.state.clock()

    def call() -> T:
        with database(request).unit_of_work(readonly=not write) as session:
            return work(session, at)

    return await to_thread.run_sync(call)
