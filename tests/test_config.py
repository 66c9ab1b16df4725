"""Settings fail loudly when mistyped; the demo clock runs on from a fixed instant."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import pytest
from anyio import to_thread

from followthrough.config import Settings, load_settings, unknown_variables
from followthrough.web.app import create_app, shifted_clock


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
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/x.sqlite3", sweeper_in_process=False, worker_threads=3
    )
    app = create_app(settings)

    async def pool_size_while_serving() -> float:
        async with app.router.lifespan_context(app):
            # The pool that runs the synchronous endpoints, on the loop that serves requests.
            return to_thread.current_default_thread_limiter().total_tokens

    # On a thread of its own: the browser tests leave an event loop running on this one.
    sizes: list[float] = []
    thread = threading.Thread(target=lambda: sizes.append(anyio.run(pool_size_while_serving)))
    thread.start()
    thread.join(timeout=30)
    assert sizes == [3]


def test_a_worker_thread_count_below_one_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOLLOWTHROUGH_WORKER_THREADS", "0")
    with pytest.raises(ValueError, match="worker_threads"):
        load_settings()
