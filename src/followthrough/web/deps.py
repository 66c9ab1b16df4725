"""Request-scoped dependencies: the unit of work, the clock, and who is calling."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from types import UnionType
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin, get_type_hints

import anyio
from anyio import to_thread
from fastapi import Depends, Request, params
from fastapi.routing import APIRoute
from pydantic.fields import FieldInfo
from sqlalchemy.orm import Session

from followthrough.auth.service import person_id_for_token, web_session_for
from followthrough.config import Settings
from followthrough.db import Database
from followthrough.errors import NotAllowed, NotSignedIn, ServiceBusy
from followthrough.fields import same_secret
from followthrough.org.actors import Actor
from followthrough.org.models import Person
from followthrough.org.service import actor_for, actor_of

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


def unit_of_work(request: Request) -> Session:
    """One transaction per HTTP request, committed when the endpoint returns, else rolled back.

    Never called by FastAPI: `UnitOfWorkRoute` opens the transaction on the endpoint's own worker
    thread and passes the session in (see `in_work`)."""
    raise AssertionError("DbSession is provided by UnitOfWorkRoute")


DbSession = Annotated[Session, Depends(unit_of_work)]
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
            if request.method not in SAFE_METHODS and not same_secret(
                request.headers.get(CSRF_HEADER, ""), row.csrf_token
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
    calling and the time, all on the endpoint's own worker thread (the desk's hot endpoints use
    it directly; `UnitOfWorkRoute` gives the same to endpoints that declare DbSession)."""
    at: datetime = request.app.state.clock()
    with database(request).unit_of_work(readonly=request.method in SAFE_METHODS) as session:
        yield session, current_actor(request, session, at), at


# ---- one way into a unit of work -----------------------------------------------------------------


@dataclass
class Work:
    """What a dependency resolved inside the unit of work can use: the request, its transaction,
    the time, anything read before the thread was taken (the form), and earlier results."""

    request: Request
    session: Session
    now: datetime
    prepared: dict[Callable[..., Any], Any]
    resolved: dict[Callable[..., Any], Any] = field(default_factory=dict)

    def get(self, dependency: Callable[..., Any]) -> Any:
        """The value of an in-work dependency, computed once per request."""
        if dependency not in self.resolved:
            self.resolved[dependency] = IN_WORK[dependency].resolve(self)
        return self.resolved[dependency]


@dataclass(frozen=True)
class InWork:
    """How to compute one dependency inside the unit of work; `prepare` runs first, on the event
    loop, for what must be awaited (reading the form body) and never needs a thread."""

    resolve: Callable[[Work], Any]
    prepare: Callable[[Request], Awaitable[Any]] | None = None


IN_WORK: dict[Callable[..., Any], InWork] = {}


def in_work(
    dependency: Callable[..., Any],
    resolve: Callable[[Work], Any],
    prepare: Callable[[Request], Awaitable[Any]] | None = None,
) -> None:
    """Declare that `dependency` is computed inside the endpoint's unit of work by `resolve`."""
    IN_WORK[dependency] = InWork(resolve, prepare)


def _admin(work: Work) -> Actor:
    actor: Actor = work.get(current_actor)
    return admin_actor(actor)


in_work(unit_of_work, lambda work: work.session)
in_work(now, lambda work: work.now)
in_work(current_person, lambda work: current_person(work.request, work.session, work.now))
in_work(current_actor, lambda work: current_actor(work.request, work.session, work.now))
in_work(admin_actor, _admin)


class Admission:
    """Bounds what a worker process takes on: at most `workers` units of work at once, and on
    SQLite one writer at a time. Both are waited for on the event loop, before a thread is
    taken, so a request never holds a thread, a lock or a transaction while waiting for another;
    a wait beyond `wait_seconds` answers 503 with Retry-After instead of queueing without end."""

    def __init__(self, workers: int, wait_seconds: float, single_writer: bool) -> None:
        self.workers = workers
        self.wait_seconds = wait_seconds
        self.single_writer = single_writer
        self._slots: anyio.Semaphore | None = None
        self._writer: anyio.Lock | None = None
        self._threads: anyio.CapacityLimiter | None = None

    def _primitives(self) -> tuple[anyio.Semaphore, anyio.Lock, anyio.CapacityLimiter]:
        # Made on first use, on the event loop that serves the app (anyio needs one running).
        if self._slots is None or self._writer is None or self._threads is None:
            self._slots = anyio.Semaphore(self.workers)
            self._writer = anyio.Lock()
            self._threads = anyio.CapacityLimiter(self.workers)
        return self._slots, self._writer, self._threads

    async def run(self, call: Callable[[], T], *, write: bool) -> T:
        """Run `call` on a worker thread once admitted; ServiceBusy if not admitted in time."""
        slots, writer, threads = self._primitives()
        async with AsyncExitStack() as held:
            with anyio.move_on_after(self.wait_seconds) as waiting:
                if write and self.single_writer:
                    await writer.acquire()
                    held.callback(writer.release)
                await slots.acquire()
                held.callback(slots.release)
            if waiting.cancelled_caught:
                raise ServiceBusy(
                    "the desk is busy right now and nothing was done; try again in a moment",
                    retry_after=2,
                )
            # Not abandoned on cancellation: a started unit of work always finishes (commits or
            # rolls back) before its slot and write turn are given back.
            return await to_thread.run_sync(call, limiter=threads)


def admission(request: Request) -> Admission:
    app = request.app
    found: Admission | None = getattr(app.state, "admission", None)
    if found is None:
        settings_ = settings(request)
        found = app.state.admission = Admission(
            settings_.worker_threads,
            settings_.admission_wait_seconds,
            single_writer=database(request).is_sqlite,
        )
    return found


async def run_in_unit_of_work(
    request: Request, work: Callable[[Session, datetime], T], *, write: bool
) -> T:
    """Run `work(session, now)` in one unit of work on a worker thread, after the same bounded
    admission as the routes. For async endpoints with several steps (sign-in: read, check the
    password off the pool, then write), each step its own transaction."""
    at: datetime = request.app.state.clock()

    def call() -> T:
        with database(request).unit_of_work(readonly=not write) as session:
            return work(session, at)

    return await admission(request).run(call, write=write)


def _hints(function: Callable[..., Any]) -> dict[str, Any]:
    try:
        return get_type_hints(function, include_extras=True)
    except (NameError, TypeError):  # not a plain function (a class, a partial): nothing to check
        return {}


def _in_work_dependency(annotation: Any) -> Callable[..., Any] | None:
    """The in-work dependency an `Annotated[..., Depends(x)]` parameter asks for, if any."""
    if get_origin(annotation) is not Annotated:
        return None
    for extra in get_args(annotation)[1:]:
        if isinstance(extra, params.Depends) and extra.dependency in IN_WORK:
            return extra.dependency
    return None


def _check_no_hidden_work(annotation: Any, endpoint: Callable[..., Any]) -> None:
    """A dependency FastAPI would run on its own thread must not need the unit of work."""
    if get_origin(annotation) is not Annotated:
        return
    for extra in get_args(annotation)[1:]:
        if isinstance(extra, params.Depends) and extra.dependency is not None:
            for value in _hints(extra.dependency).values():
                if _in_work_dependency(value) is not None:
                    raise TypeError(
                        f"{endpoint.__qualname__}: dependency {extra.dependency.__qualname__} "
                        "needs the unit of work; declare it with in_work()"
                    )


_UNBOUNDED = (int, float)


def _check_bounded(name: str, annotation: Any, default: Any, endpoint: Callable[..., Any]) -> None:
    """A bare int or float parameter would let 2**63 or 1e300 through to the database or the
    calendar; path and query numbers use the bounded types of `followthrough.fields` (or say
    their upper bound in Query(le=…))."""
    if isinstance(default, FieldInfo) and any(
        getattr(rule, "le", None) is not None or getattr(rule, "lt", None) is not None
        for rule in default.metadata
    ):
        return
    choices = get_args(annotation) if get_origin(annotation) in (Union, UnionType) else ()
    if annotation in _UNBOUNDED or any(choice in _UNBOUNDED for choice in choices):
        raise TypeError(
            f"{endpoint.__qualname__}: parameter {name!r} is a bare {annotation}; use a bounded "
            "type from followthrough.fields (Id, Offset, Hours, …)"
        )


def one_unit_of_work(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """The endpoint as FastAPI should call it: admitted on the event loop, then its unit of
    work, its in-work dependencies and its body on one worker thread, in one transaction.

    Async endpoints are left alone: they manage their own steps with `run_in_unit_of_work` and
    may not declare in-work dependencies.
    """
    hints = get_type_hints(endpoint, include_extras=True)
    signature = inspect.signature(endpoint)
    kept: list[inspect.Parameter] = []
    deferred: dict[str, Callable[..., Any]] = {}
    for name, parameter in signature.parameters.items():
        annotation = hints.get(name, parameter.annotation)
        dependency = _in_work_dependency(annotation)
        if dependency is not None:
            deferred[name] = dependency
            continue
        _check_no_hidden_work(annotation, endpoint)
        _check_bounded(name, annotation, parameter.default, endpoint)
        kept.append(parameter.replace(annotation=annotation))
    if inspect.iscoroutinefunction(endpoint):
        if deferred:
            raise TypeError(
                f"{endpoint.__qualname__} is async: use run_in_unit_of_work, not {sorted(deferred)}"
            )
        return endpoint
    request_name = next((p.name for p in kept if hints.get(p.name) is Request), None)
    if request_name is None:
        request_name = "ft_request"
        kept.append(
            inspect.Parameter(request_name, inspect.Parameter.KEYWORD_ONLY, annotation=Request)
        )
    passes_request = request_name in signature.parameters
    prepares = {
        dependency: step.prepare
        for dependency in _closure(deferred.values())
        if (step := IN_WORK[dependency]).prepare is not None
    }

    async def endpoint_in_work(**values: Any) -> Any:
        request: Request = values[request_name] if passes_request else values.pop(request_name)
        prepared = {dependency: await prepare(request) for dependency, prepare in prepares.items()}
        write = request.method not in SAFE_METHODS

        def call() -> Any:
            if not deferred:  # the endpoint opens its own (as_caller) or needs none
                return endpoint(**values)
            at: datetime = request.app.state.clock()
            with database(request).unit_of_work(readonly=not write) as session:
                work = Work(request, session, at, prepared)
                for name, dependency in deferred.items():
                    values[name] = work.get(dependency)
                return endpoint(**values)

        return await admission(request).run(call, write=write)

    endpoint_in_work.__name__ = endpoint.__name__
    endpoint_in_work.__qualname__ = endpoint.__qualname__
    endpoint_in_work.__doc__ = endpoint.__doc__
    endpoint_in_work.__module__ = endpoint.__module__
    return_annotation = hints.get("return", signature.return_annotation)
    endpoint_in_work.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=sorted(kept, key=lambda p: p.kind), return_annotation=return_annotation
    )
    return endpoint_in_work


def _closure(dependencies: Iterable[Callable[..., Any]]) -> list[Callable[..., Any]]:
    """In-work dependencies and the in-work dependencies they use, for their prepare steps."""
    seen: list[Callable[..., Any]] = []
    todo = list(dependencies)
    while todo:
        dependency = todo.pop()
        if dependency in seen:
            continue
        seen.append(dependency)
        for value in _hints(dependency).values():
            inner = _in_work_dependency(value)
            if inner is not None:
                todo.append(inner)
    return seen


class UnitOfWorkRoute(APIRoute):
    """Every route of the app: see `one_unit_of_work`."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, one_unit_of_work(endpoint), **kwargs)
