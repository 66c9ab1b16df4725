"""One way into a unit of work: every route runs its transaction, caller and body on one worker
thread after a bounded wait; a burst of writes never stalls the server or answers 500."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.routing import BaseRoute, Mount

from followthrough.config import Settings
from followthrough.db import Database
from followthrough.web.app import create_app
from followthrough.web.deps import DbSession, UnitOfWorkRoute, one_unit_of_work
from tests.conftest import Clock, _free_port, issue_tokens, serving
from tests.factories import World, build_world, give_costly_passwords


def _api_routes(routes: list[BaseRoute]) -> Iterator[APIRoute]:
    """Every APIRoute of the app, through included routers and mounts."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)  # FastAPI's included router
        if included is not None and not isinstance(route, Mount):
            yield from _api_routes(list(included.routes))


def test_every_api_route_and_page_goes_through_the_unit_of_work_route(tmp_path: Any) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path}/x.sqlite3"))
    routes = list(_api_routes(app.routes))
    assert len(routes) > 50, "the app's routes were not all found"
    strays = [f"{sorted(r.methods)} {r.path}" for r in routes if not isinstance(r, UnitOfWorkRoute)]
    assert strays == []


def test_an_async_endpoint_may_not_ask_for_the_session() -> None:
    async def endpoint(session: DbSession) -> None:
        return None

    with pytest.raises(TypeError, match="run_in_unit_of_work"):
        one_unit_of_work(endpoint)


def _hidden(session: DbSession) -> int:
    return 1


def test_a_dependency_that_needs_the_session_outside_the_unit_of_work_is_refused() -> None:
    def endpoint(value: Annotated[int, Depends(_hidden)]) -> int:
        return value

    with pytest.raises(TypeError, match="needs the unit of work"):
        one_unit_of_work(endpoint)


def test_the_session_and_the_body_share_one_thread_and_one_transaction(db: Database) -> None:
    seen: dict[str, Any] = {}
    router = APIRouter(route_class=UnitOfWorkRoute)

    @router.post("/probe")
    def probe(session: DbSession) -> dict[str, bool]:
        seen["thread"] = threading.get_ident()
        seen["in_transaction"] = session.in_transaction()
        seen["session"] = session
        return {"ok": True}

    app = FastAPI()
    app.state.database = db
    app.state.settings = Settings(database_url=db.url)
    app.state.clock = Clock()
    app.include_router(router)
    transport = httpx.ASGITransport(app=app)

    async def call() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.post("/probe")

    import anyio

    # On a thread of its own: the browser tests leave an event loop running on this one.
    answers: list[httpx.Response] = []
    runner = threading.Thread(target=lambda: answers.append(anyio.run(call)))
    runner.start()
    runner.join(timeout=30)
    (response,) = answers
    assert response.status_code == 200
    assert seen["thread"] != runner.ident
    # The endpoint ran with a session whose transaction has since been closed by the route.
    assert not seen["session"].in_transaction()


def _burst(
    base_url: str, calls: list[Callable[[httpx.Client], httpx.Response]]
) -> tuple[list[int], list[float], list[float]]:
    """Run `calls` at once while probing health every 50 ms; statuses, call and probe times."""
    done = threading.Event()
    probes: list[float] = []

    def probe() -> None:
        with httpx.Client(base_url=base_url, timeout=30) as client:
            while not done.is_set():
                started = time.monotonic()
                response = client.get("/api/v1/health")
                assert response.status_code == 200
                probes.append(time.monotonic() - started)
                time.sleep(0.05)

    # Made before the burst: building a client costs the load generator tens of milliseconds.
    clients = [httpx.Client(base_url=base_url, timeout=60) for _ in calls]

    def timed(pair: tuple[Callable[[httpx.Client], httpx.Response], httpx.Client]) -> Any:
        call, client = pair
        started = time.monotonic()
        return call(client).status_code, time.monotonic() - started

    try:
        clients[0].get("/api/v1/health")  # the server is up and warm before the burst starts
        prober = threading.Thread(target=probe)
        prober.start()
        try:
            with ThreadPoolExecutor(max_workers=len(calls)) as pool:
                results = list(pool.map(timed, zip(calls, clients, strict=True)))
        finally:
            done.set()
            prober.join()
    finally:
        for client in clients:
            client.close()
    return [status for status, _ in results], [t for _, t in results], probes


@contextmanager
def _server_process(db: Database, **settings: str) -> Iterator[str]:
    """`followthrough serve` in a process of its own (as deployed), so the test's own load
    generator does not share the server's interpreter; its base URL."""
    port = _free_port()
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FOLLOWTHROUGH_")},
        "FOLLOWTHROUGH_SWEEPER_IN_PROCESS": "false",
        **{f"FOLLOWTHROUGH_{name.upper()}": value for name, value in settings.items()},
    }
    command = [
        str(Path(sys.executable).parent / "followthrough"),
        "serve",
        "--database-url",
        db.url,
        "--port",
        str(port),
    ]
    server = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base_url + "/api/v1/health").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None, "the server stopped at start-up"
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        yield base_url
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.mark.slow
def test_a_burst_of_writes_and_failed_sign_ins_never_stalls_health_or_answers_500(
    db: Database, world: World, clock: Clock
) -> None:
    tokens = issue_tokens(db, world, clock)
    asha = {"Authorization": f"Bearer {tokens['asha']}"}
    with db.unit_of_work() as session:
        give_costly_passwords(session, world, "cleo")  # her wrong passwords cost a real check

    def new_case(n: int) -> Callable[[httpx.Client], httpx.Response]:
        body = {"reference": f"CLM-{n}", "customer": f"Customer {n}"}
        return lambda client: client.post("/api/v1/cases", json=body, headers=asha)

    def wrong_sign_in(n: int) -> Callable[[httpx.Client], httpx.Response]:
        body = {"handle": "cleo", "password": f"wrong-{n}-password"}
        return lambda client: client.post("/api/v1/session", json=body)

    calls = [new_case(n) for n in range(16)] + [wrong_sign_in(n) for n in range(12)]
    with _server_process(db, worker_threads="2") as base_url:
        statuses, times, probes = _burst(base_url, calls)
    writes, sign_ins = statuses[:16], statuses[16:]
    assert 500 not in statuses
    assert writes == [201] * 16, "every case was created (the burst is small enough to admit)"
    assert set(sign_ins) <= {401, 429, 503}
    assert probes, "health was probed during the burst"
    assert max(probes) < 1.0, f"health took {max(probes):.2f} s during the burst: {probes}"
    assert max(times) < 30.0


def test_a_write_that_cannot_get_its_turn_in_time_answers_503_with_retry_after(
    db: Database, world: World, clock: Clock
) -> None:
    """A write stuck inside the database holds its turn; the next write waits no longer than
    the bound, is answered 503 with Retry-After, and writes nothing. Health keeps answering."""
    tokens = issue_tokens(db, world, clock)
    asha = {"Authorization": f"Bearer {tokens['asha']}"}
    blocker = _hold_the_write_lock(db)
    with (
        serving(db, clock, worker_threads=1, admission_wait_seconds=0.5) as live,
        httpx.Client(base_url=live.base_url, timeout=30) as client,
    ):
        with ThreadPoolExecutor(max_workers=1) as pool:
            first = pool.submit(
                client.post,
                "/api/v1/cases",
                json={"reference": "CLM-1", "customer": "First"},
                headers=asha,
            )
            time.sleep(0.3)  # the first is admitted and waits inside the database
            second = client.post(
                "/api/v1/cases", json={"reference": "CLM-2", "customer": "Second"}, headers=asha
            )
            health_started = time.monotonic()
            assert client.get("/api/v1/health").status_code == 200
            assert time.monotonic() - health_started < 1.0
            blocker.release()
            assert first.result().status_code == 201
        assert second.status_code == 503
        assert second.headers["content-type"].startswith("application/problem+json")
        assert int(second.headers["retry-after"]) >= 1
        found = client.get("/api/v1/cases", params={"q": "CLM-"}, headers=asha).json()
        assert [case["reference"] for case in found] == ["CLM-1"]


class _Blocker:
    def __init__(self, release: Callable[[], None]) -> None:
        self.release = release


def _hold_the_write_lock(db: Database) -> _Blocker:
    """Hold the database's write lock from another connection until released."""
    if db.is_sqlite:
        connection = db.engine.raw_connection()
        connection.cursor().execute("BEGIN IMMEDIATE")

        def release_sqlite() -> None:
            connection.rollback()
            connection.close()

        return _Blocker(release_sqlite)
    # PostgreSQL: lock the table new cases go into.
    session: Session = db.sessions()
    session.connection().exec_driver_sql("LOCK TABLE customer_case IN EXCLUSIVE MODE")

    def release_postgres() -> None:
        session.rollback()
        session.close()

    return _Blocker(release_postgres)


def test_recording_a_tokens_use_never_waits_for_another_request_of_the_same_token(
    pg_db: Database, clock: Clock
) -> None:
    """On PostgreSQL a request that holds the token's row (recording the same use) must not make
    the next request of that token wait: the burst that once hung the server for good."""
    with pg_db.unit_of_work() as session:
        world = build_world(session)
    tokens = issue_tokens(pg_db, world, clock)
    holder: Session = pg_db.sessions()
    holder.connection().exec_driver_sql("SELECT id FROM api_token FOR UPDATE")
    try:
        with (
            serving(pg_db, clock) as live,
            httpx.Client(base_url=live.base_url, timeout=30) as client,
        ):
            started = time.monotonic()
            answer = client.post(
                "/api/v1/cases",
                json={"reference": "CLM-9", "customer": "Waiting"},
                headers={"Authorization": f"Bearer {tokens['asha']}"},
            )
            took = time.monotonic() - started
    finally:
        holder.rollback()
        holder.close()
    assert answer.status_code == 201
    assert took < 5.0, f"the write waited {took:.1f} s behind the token's row lock"


def test_a_statement_that_waits_too_long_for_a_lock_answers_503_not_500(
    pg_url: str, clock: Clock
) -> None:
    """Every PostgreSQL statement gives up on a lock after the lock timeout (here 0.5 s); the
    request is answered 503 with Retry-After and writes nothing."""
    quick = Database(pg_url, connect_args={"options": "-c lock_timeout=500"})
    from tests.conftest import _empty_postgres

    _empty_postgres(quick)
    with quick.unit_of_work() as session:
        world = build_world(session)
    tokens = issue_tokens(quick, world, clock)
    blocker = _hold_the_write_lock(quick)  # locks the table new cases go into
    try:
        with (
            serving(quick, clock) as live,
            httpx.Client(base_url=live.base_url, timeout=30) as client,
        ):
            answer = client.post(
                "/api/v1/cases",
                json={"reference": "CLM-7", "customer": "Blocked"},
                headers={"Authorization": f"Bearer {tokens['asha']}"},
            )
    finally:
        blocker.release()
    try:
        assert answer.status_code == 503
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert int(answer.headers["retry-after"]) >= 1
        with quick.unit_of_work(readonly=True) as session:
            count = session.connection().exec_driver_sql("SELECT count(*) FROM customer_case")
            assert count.scalar() == 0
    finally:
        quick.dispose()
