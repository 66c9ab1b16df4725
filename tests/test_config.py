"""Settings fail loudly when mistyped; the demo clock runs on from a fixed instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

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
