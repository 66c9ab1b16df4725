"""Test fixtures: a real database per test on SQLite and PostgreSQL, a small org, a live server.

Each test gets a clean, migrated database: on SQLite a copy of a migrated template file, on
PostgreSQL the tables of a migrated database emptied. Both let a test drive the product the way
it runs (several transactions, the sweeper, a real HTTP server), which a rolled-back connection
could not.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest
import uvicorn
from sqlalchemy import text

from followthrough.config import Settings
from followthrough.db import Base, Database
from followthrough.migrate import upgrade
from followthrough.web.app import create_app
from tests.factories import World, build_world

PG_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ["sqlite", "postgresql"]


def _pg_reachable() -> bool:
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    if not _pg_reachable():
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}; CI needs it")
        pytest.skip("PostgreSQL is not reachable")
    name = f"ft_test_{os.getpid()}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    yield url
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _empty_postgres(database: Database) -> None:
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with database.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A clean migrated database: SQLite, then PostgreSQL."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "test.sqlite3"
        shutil.copy(template, path)
        database = Database(f"sqlite:///{path}")
    else:
        url: str = request.getfixturevalue("pg_url")
        database = Database(url, pool_size=5, max_overflow=20)
        _empty_postgres(database)
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
def world(db: Database) -> World:
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
    app = create_app(settings, database=db, clock=clock)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.01)
    live = LiveServer(f"http://127.0.0.1:{port}")
    try:
        yield live
    finally:
        live.close()
        server.should_exit = True
        thread.join(timeout=10)


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
