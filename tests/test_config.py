"""Settings fail loudly when mistyped; the demo clock runs on from a fixed instant."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import httpx
import pytest
from fastapi import APIRouter

from followthrough.config import Settings, load_settings, unknown_variables
from followthrough.migrate import upgrade
from followthrough.web.app import create_app, shifted_clock
from followthrough.web.deps import DbSession, UnitOfWorkRoute


def test_a_mistyped_variable_is_named() -> None:
    environ = {"FOLLOWTHROUGH_DATABSE_URL": "x", "FOLLOWTHROUGH_DATABASE_URL": "y", "PATH": "/bin"}
    assert unknown_variables(environ) == ["FOLLOWTHROUGH_DATABSE_URL"]


def test_load_settings_refuses_unknown_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOLLOWTHROUGH_SWEEP_EVERY", "5")
    with pytest.raises(ValueError, match="FOLLOWTHROUGH_SWEEP_EVERY"):
        load_settings()


def test_a_bad_value_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOLLOWTHROUGH_SWEEP_INTERVAL_SECONDS", "-1")
    with pytest.raises(ValueError, match="sweep_interval_seconds"):
        load_settings()


def test_the_shifted_clock_starts_at_the_given_instant_and_runs_on() -> None:
    start = datetime(2026, 11, 20, 16, tzinfo=UTC)
    clock = shifted_clock(start)
    first = clock()
    assert start <= first < start + timedelta(seconds=5)
    assert clock() >= first


def test_the_app_uses_the_configured_clock_start() -> None:
    start = datetime(2026, 11, 20, 16, tzinfo=UTC)
    app = create_app(Settings(database_url="sqlite:///unused.sqlite3", clock_start=start))
    assert start <= app.state.clock() < start + timedelta(seconds=5)


def test_each_worker_works_on_at_most_worker_threads_requests_at_once(tmp_path: Path) -> None:
    """Eight requests at once to a worker set to three: never more than three are worked on
    together; the others wait their turn (on the event loop) and are all answered."""
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/x.sqlite3", sweeper_in_process=False, worker_threads=3
    )
    app = create_app(settings)
    upgrade(settings.database_url)
    in_flight: list[int] = [0]
    most: list[int] = [0]
    guard = threading.Lock()
    probe = APIRouter(route_class=UnitOfWorkRoute)

    @probe.get("/probe")
    def slow(session: DbSession) -> dict[str, int]:
        with guard:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
        time.sleep(0.2)
        with guard:
            in_flight[0] -= 1
        return {"ok": 1}

    app.include_router(probe)

    async def eight_at_once() -> list[int]:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                statuses: list[int] = []

                async def call() -> None:
                    statuses.append((await client.get("/probe")).status_code)

                async with anyio.create_task_group() as group:
                    for _ in range(8):
                        group.start_soon(call)
                return statuses

    # On a thread of its own: the browser tests leave an event loop running on this one.
    results: list[list[int]] = []
    thread = threading.Thread(target=lambda: results.append(anyio.run(eight_at_once)))
    thread.start()
    thread.join(timeout=60)
    assert results == [[200] * 8]
    assert most[0] == 3


def test_a_worker_thread_count_below_one_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOLLOWTHROUGH_WORKER_THREADS", "0")
    with pytest.raises(ValueError, match="worker_threads"):
        load_settings()
