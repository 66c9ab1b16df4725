"""Test fixtures: a real database per test on SQLite and PostgreSQL, a small org, a live server.

Each test gets its own committed, migrated database, so it drives the product the way it runs
(several units of work, the sweeper, a real HTTP server on threads, the organisation snapshot
that the product reads on a connection of its own), which a rolled-back connection could not.

What made that slow was rebuilding: every test emptied every table and built the small world
again through the services. Now the world is built once per worker process:
- SQLite: two template files, migrated and migrated-with-the-world; a test copies one (cheap).
- PostgreSQL: one database per worker, migrated once; the world's rows are read once after it is
  built through the services, and each test puts the database back to exactly those rows: every
  table emptied with DELETE (small tables: far cheaper than TRUNCATE's new files), the world
  inserted again, every id sequence set where it stood.
A test gets the world's rows when it asks for `world` (directly or through another fixture),
otherwise an empty migrated database.
"""

from __future__ import annotations

import copy
import os
import shutil
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn
from fastapi import FastAPI
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from pydantic import SecretStr
from sqlalchemy import Connection, text

import followthrough.models  # noqa: F401  (every table in Base.metadata)
from followthrough.config import Settings
from followthrough.db import Base, Database
from followthrough.migrate import upgrade
from followthrough.web.app import create_app
from tests.factories import World, build_world

PG_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ["sqlite", "postgresql"]
# pytest-xdist names its workers gw0, gw1, …; without it the run is one process, "main".
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")

# Hypothesis: no per-example deadline anywhere (the machines are shared and small, and a slow
# example is not a wrong one); in CI the examples are also derived from the test, not random,
# so a red CI run is the same run again.
hypothesis_settings.register_profile("dev", deadline=None)
hypothesis_settings.register_profile(
    "ci",
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
hypothesis_settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") == "true" else "dev")
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The long tests first (marked `slow`, then the browser's), the rest in their usual order.

    Each xdist worker starts on its share of this list, and an idle worker takes the unstarted
    end of a busy one's: a long test started early is shared out, one started last is the
    whole run's last minute. Mark a test `slow` when it takes more than a few seconds."""

    def lateness(item: pytest.Item) -> int:
        if item.get_closest_marker("slow"):
            return 0
        return 1 if item.get_closest_marker("browser") else 2

    items.sort(key=lateness)  # stable: modules keep their tests together and in order


def _pg_reachable() -> bool:
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, empty SQLite file, copied by each test that wants one."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def sqlite_world(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, World]:
    """A migrated SQLite file holding the world, built once through the services."""
    path = tmp_path_factory.mktemp("template") / "world.sqlite3"
    shutil.copy(sqlite_template, path)
    database = Database(f"sqlite:///{path}")
    try:
        with database.unit_of_work() as session:
            world = build_world(session)
    finally:
        database.dispose()
    # Everything into the main file, so copying that one file copies the world.
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path, world


@dataclass
class PostgresWorld:
    """A worker's PostgreSQL database and the rows that put it back to the world."""

    url: str
    world: World
    rows: dict[str, list[dict[str, Any]]]
    sequences: dict[str, tuple[str, str]]  # sequence -> (table, column)


def _sequences(connection: Connection) -> dict[str, tuple[str, str]]:
    """Every sequence owned by a table column (the id columns), by its qualified name."""
    found = connection.execute(
        text(
            "SELECT s.oid::regclass::text, t.relname, a.attname"
            " FROM pg_class s"
            " JOIN pg_depend d ON d.objid = s.oid AND d.deptype IN ('a', 'i')"
            " JOIN pg_class t ON t.oid = d.refobjid"
            " JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid"
            " WHERE s.relkind = 'S'"
        )
    )
    return {seq: (table, column) for seq, table, column in found}


# The id sequences of the schema (the same in every worker's database), read on the first reset.
_SEQUENCES: dict[str, tuple[str, str]] | None = None


def _reset_postgres(database: Database, rows: dict[str, list[dict[str, Any]]]) -> None:
    """Put every table back to `rows` (empty when not named), ids where they stood.

    Replica mode turns off foreign-key checks and triggers for this one transaction, so tables
    can be emptied and filled in any order and the organisation's revision trigger does not
    count the reset as a change: org_revision comes back exactly as the rows say.
    """
    global _SEQUENCES
    tables = Base.metadata.sorted_tables
    with database.engine.begin() as conn:
        if _SEQUENCES is None:
            _SEQUENCES = _sequences(conn)
        conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        conn.exec_driver_sql("; ".join(f'DELETE FROM "{t.name}"' for t in tables))
        for table in tables:
            if rows.get(table.name):
                conn.execute(table.insert(), rows[table.name])
        restarts = []
        for sequence, (table_name, column) in _SEQUENCES.items():
            used = [row[column] for row in rows.get(table_name, ()) if row[column] is not None]
            restarts.append(f"SELECT setval('{sequence}', {max(used, default=0) + 1}, false)")
        if restarts:
            conn.exec_driver_sql("; ".join(restarts))


def _empty_postgres(database: Database) -> None:
    """Every table empty and every id sequence back at 1 (TRUNCATE … RESTART IDENTITY, fast)."""
    _reset_postgres(database, {})


@pytest.fixture(scope="session")
def pg_world() -> Iterator[PostgresWorld]:
    """This worker's PostgreSQL database, migrated, and the world's rows read once."""
    if not _pg_reachable():
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}; CI needs it")
        pytest.skip("PostgreSQL is not reachable")
    name = f"ft_test_{WORKER}_{os.getpid()}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
        # A commit returns before its write-ahead log reaches the disk: a test never survives a
        # crash of the server, and waiting for the flush was 1-6 ms of every commit (thousands
        # per run). What other connections see, and when, is unchanged.
        conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    database = Database(url)
    try:
        _empty_postgres(database)
        with database.unit_of_work() as session:
            world = build_world(session)
        with database.engine.connect() as conn:
            rows = {
                table.name: [dict(row) for row in conn.execute(table.select()).mappings()]
                for table in Base.metadata.sorted_tables
            }
        assert _SEQUENCES is not None
        yield PostgresWorld(url, world, rows, _SEQUENCES)
    finally:
        database.dispose()
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_url(pg_world: PostgresWorld) -> str:
    return pg_world.url


# Where a test's database came with the world already in it (see `db` and `world`).
SEEDED = pytest.StashKey[World]()


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated database of its own, SQLite then PostgreSQL: holding the world when the test
    asks for `world`, otherwise empty."""
    seeded = "world" in request.fixturenames
    world: World | None = None
    if request.param == "sqlite":
        if seeded:
            template, world = request.getfixturevalue("sqlite_world")
        else:
            template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "test.sqlite3"
        shutil.copy(template, path)
        database = Database(f"sqlite:///{path}")
    else:
        pg: PostgresWorld = request.getfixturevalue("pg_world")
        database = Database(pg.url, pool_size=5, max_overflow=20)
        if seeded:
            _reset_postgres(database, pg.rows)
            world = pg.world
        else:
            _empty_postgres(database)
    if world is not None:
        request.node.stash[SEEDED] = copy.deepcopy(world)
    yield database
    database.dispose()


@pytest.fixture
def pg_db(pg_url: str) -> Iterator[Database]:
    """PostgreSQL only, for tests about several processes or connections at once."""
    database = Database(pg_url, pool_size=10, max_overflow=30)
    _empty_postgres(database)
    yield database
    database.dispose()


T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday, 09:00 UTC


class Clock:
    """A clock the tests move by hand."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def world(db: Database, request: pytest.FixtureRequest) -> World:
    """The small insurer of tests/factories.py, in the test's database."""
    seeded = request.node.stash.get(SEEDED, None)
    if seeded is not None:
        return seeded
    # Asked for by name at run time (request.getfixturevalue): build it in the empty database.
    with db.unit_of_work() as session:
        return build_world(session)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.clients: list[httpx.Client] = []

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        client = httpx.Client(base_url=self.base_url + "/api/v1", headers=headers, timeout=30)
        self.clients.append(client)
        return client

    def close(self) -> None:
        for client in self.clients:
            client.close()


@contextmanager
def serving(
    db: Database, clock: Clock, sweep_every: float | None = None, **overrides: object
) -> Iterator[LiveServer]:
    """The real app on a real port, with the test's clock. The test drives the sweeper, unless
    `sweep_every` (seconds) asks the server to run its own, as it does in production; other
    settings can be given as keywords (e.g. worker_threads=2)."""
    settings = Settings(
        database_url=db.url,
        sweeper_in_process=sweep_every is not None,
        sweep_interval_seconds=sweep_every or 30.0,
        **overrides,  # type: ignore[arg-type]
    )
    # A server with its own sweeper runs its lifespan for this test alone; any other is the same
    # server as another test's with the same settings, so an idle one is used again.
    key = None if settings.sweeper_in_process else _settings_key(settings)
    served = _idle_server(key) if key is not None else None
    served = served or _start(settings, db, clock)
    _bind(served, settings, db, clock)
    live = LiveServer(served.base_url)
    try:
        yield live
    finally:
        live.close()
        if key is not None and _quiet(served):
            _IDLE_SERVERS.append((key, served))
            if len(_IDLE_SERVERS) > _KEPT_SERVERS:
                _stop(_IDLE_SERVERS.pop(0)[1])
        else:
            _stop(served)


# Building the app, and FastAPI's work on each of its routes at their first requests, cost
# 0.2-0.3 s of a core, and stopping a uvicorn server 0.2 s of waiting, several hundred times a run.
# So a worker keeps the apps and servers its tests used: an app keeps nothing between tests but
# app.state, where requests and the lifespan read the settings, database and clock; it is put
# back as built, with the next test's own (anything a request cached there, such as the admission
# queue or the password lane, goes). A server is kept only when a test ends with no connection
# open and no request running, so nothing of one test reaches the next.
@dataclass
class _Served:
    app: FastAPI
    built: dict[str, Any]  # app.state as create_app left it
    server: uvicorn.Server
    thread: threading.Thread
    base_url: str


_IDLE_APPS: list[tuple[FastAPI, dict[str, Any]]] = []
# Idle servers by their settings, oldest first; a few at most (tests with settings of their own,
# such as a temporary folder, leave servers nobody else can use).
_IDLE_SERVERS: list[tuple[str, _Served]] = []
_KEPT_SERVERS = 4


def pytest_sessionfinish() -> None:
    """The kept servers stop with the worker, each as a test's server would."""
    for _, served in _IDLE_SERVERS:
        served.server.should_exit = True
    for _, served in _IDLE_SERVERS:
        served.thread.join(timeout=10)


def _settings_key(settings: Settings) -> str:
    """Every setting but the database's address, secrets included: a kept server's lifespan
    read its settings once, so it serves only a test whose settings are the same."""
    values = {
        name: value.get_secret_value() if isinstance(value, SecretStr) else value
        for name, value in settings
        if name != "database_url"
    }
    return repr(sorted(values.items()))


def _idle_server(key: str) -> _Served | None:
    for index in range(len(_IDLE_SERVERS) - 1, -1, -1):
        if _IDLE_SERVERS[index][0] == key:
            return _IDLE_SERVERS.pop(index)[1]
    return None


def _stop(served: _Served) -> None:
    served.server.should_exit = True
    served.thread.join(timeout=10)
    if not served.thread.is_alive():
        _IDLE_APPS.append((served.app, served.built))


def _start(settings: Settings, db: Database, clock: Clock) -> _Served:
    if _IDLE_APPS:
        app, built = _IDLE_APPS.pop()
    else:
        app = create_app(settings, database=db, clock=clock)
        built = dict(app.state._state)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    served = _Served(app, built, server, threading.Thread(target=server.run, daemon=True), "")
    _bind(served, settings, db, clock)  # before the lifespan reads it
    served.thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.01)
    served.base_url = f"http://127.0.0.1:{port}"
    return served


def _bind(served: _Served, settings: Settings, db: Database, clock: Clock) -> None:
    state = served.app.state._state
    state.clear()
    state.update(served.built, settings=settings, database=db, clock=clock)


def _quiet(served: _Served, within: float = 0.5) -> bool:
    """Whether the server is still up with every connection closed and no request running."""
    deadline = time.monotonic() + within
    while served.thread.is_alive() and not served.server.should_exit:
        state = served.server.server_state
        if not state.connections and not state.tasks:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return False


@pytest.fixture
def live_server(db: Database, clock: Clock) -> Iterator[LiveServer]:
    with serving(db, clock) as live:
        yield live


def issue_tokens(db: Database, world: World, clock: Clock) -> dict[str, str]:
    """An API token for each person in the world, by handle."""
    from followthrough.auth.service import create_api_token
    from followthrough.org.models import Person

    result = {}
    with db.unit_of_work() as session:
        for handle, person_id in world.people.items():
            person = session.get(Person, person_id)
            assert person is not None
            result[handle], _ = create_api_token(session, person, "tests", clock.now)
    return result


@pytest.fixture
def tokens(db: Database, world: World, clock: Clock) -> dict[str, str]:
    return issue_tokens(db, world, clock)


# Browser tests drive Debian's Chromium through Playwright; one browser serves the whole run
# (two sync Playwright instances cannot live in one process).
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
BROWSER_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def require_chromium() -> None:
    """Skip a browser test module when Chromium is missing, except in CI, where it must exist."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            raise RuntimeError(f"Chromium is not installed at {CHROMIUM}; `make test` installs it")
        pytest.skip("Chromium is not installed", allow_module_level=True)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_FLAGS)
        yield chromium
        chromium.close()


def at_once(calls: list[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    """Start every call at the same instant (a double click, a burst) and collect every answer,
    in the order of the calls."""
    barrier = threading.Barrier(len(calls))
    results: list[httpx.Response | None] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    answered = [r for r in results if r is not None]
    assert len(answered) == len(calls), "a call got no answer within 60 s"
    return answered
