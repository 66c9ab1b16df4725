"""The `followthrough` command: set-up, people and the sweeper, with clear errors."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from followthrough.cli import app
from followthrough.db import Database
from followthrough.org.models import Membership, Person
from followthrough.promises import service as promises
from followthrough.promises.models import Promise
from followthrough.requests import service
from followthrough.requests.service import NewRequest
from tests.conftest import T0
from tests.factories import World

runner = CliRunner()


def test_init_creates_the_schema_and_a_first_admin(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/new/ft.sqlite3"
    result = runner.invoke(
        app, ["init", "--database-url", url, "--admin-password", "long enough pw"]
    )
    assert result.exit_code == 0, result.output
    db = Database(url)
    with db.unit_of_work(readonly=True) as session:
        admin = session.scalar(select(Person).where(Person.handle == "admin"))
        assert admin is not None
        assert admin.is_admin
    db.dispose()


def test_init_refuses_a_short_password_and_writes_no_person(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/ft.sqlite3"
    result = runner.invoke(app, ["init", "--database-url", url, "--admin-password", "short"])
    assert result.exit_code == 2
    assert "password must be at least 8 characters" in result.output
    db = Database(url)
    with db.unit_of_work(readonly=True) as session:
        assert session.scalars(select(Person)).all() == []
    db.dispose()


def test_user_add_joins_teams_and_names_a_missing_team(db: Database, world: World) -> None:
    ok = runner.invoke(
        app,
        [
            "user",
            "add",
            "zoe",
            "--name",
            "Zoe Z",
            "--email",
            "zoe@example.com",
            "--password",
            "long enough pw",
            "--team",
            "Claims",
            "--database-url",
            db.url,
        ],
    )
    assert ok.exit_code == 0, ok.output
    with db.unit_of_work(readonly=True) as session:
        zoe = session.scalar(select(Person).where(Person.handle == "zoe"))
        assert zoe is not None
        assert session.get(Membership, (world.teams["claims"], zoe.id)) is not None
    bad = runner.invoke(
        app,
        [
            "user",
            "add",
            "yan",
            "--name",
            "Yan",
            "--email",
            "yan@example.com",
            "--password",
            "long enough pw",
            "--team",
            "Nowhere",
            "--database-url",
            db.url,
        ],
    )
    assert bad.exit_code == 2
    assert "no team named 'Nowhere'" in bad.output
    duplicate = runner.invoke(
        app,
        [
            "user",
            "add",
            "zoe",
            "--name",
            "Zoe",
            "--email",
            "z2@example.com",
            "--password",
            "long enough pw",
            "--database-url",
            db.url,
        ],
    )
    assert duplicate.exit_code == 2
    assert "handle" in duplicate.output
    with db.unit_of_work(readonly=True) as session:
        assert session.scalar(select(Person).where(Person.handle == "yan")) is None


def test_sweep_once_breaks_due_promises(db: Database, world: World) -> None:
    with db.unit_of_work() as session:
        cleo = world.actor(session, "cleo")
        request = service.open_request(
            session,
            cleo,
            NewRequest(title="t", need="n", service_id=world.services["correct_policy"]),
            T0,
        )
        promises.make_promise(session, cleo, request.id, "call back", T0 + timedelta(hours=1), T0)
    later = (T0 + timedelta(hours=2)).isoformat()
    result = runner.invoke(app, ["sweep", "--once", "--now", later, "--database-url", db.url])
    assert result.exit_code == 0, result.output
    assert "promises broken" in result.output
    with db.unit_of_work(readonly=True) as session:
        assert [p.state for p in session.scalars(select(Promise))] == ["broken"]


def test_sweep_names_a_bad_time(db: Database) -> None:
    result = runner.invoke(app, ["sweep", "--once", "--now", "tea time", "--database-url", db.url])
    assert result.exit_code == 2
    assert "--now must be an ISO 8601 time" in result.output


def test_serve_refuses_several_workers_on_sqlite(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["serve", "--workers", "2", "--database-url", f"sqlite:///{tmp_path}/x.sqlite3"]
    )
    assert result.exit_code == 2
    assert "several workers need PostgreSQL" in result.output


def test_serve_refuses_a_thread_count_below_one(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["serve", "--threads", "0", "--database-url", f"sqlite:///{tmp_path}/x.sqlite3"]
    )
    assert result.exit_code == 2
    assert "--threads" in result.output


def test_user_token_prints_a_working_api_token(db: Database, world: World) -> None:
    from followthrough.auth.service import person_id_for_token

    result = runner.invoke(
        app, ["user", "token", "asha", "--name", "script", "--database-url", db.url]
    )
    assert result.exit_code == 0, result.output
    secret = result.output.strip()
    with db.unit_of_work(readonly=True) as session:
        assert person_id_for_token(session, secret, T0, record_use=False) == world.people["asha"]
    unknown = runner.invoke(
        app, ["user", "token", "nobody", "--name", "x", "--database-url", db.url]
    )
    assert unknown.exit_code == 2
    assert "no person with handle 'nobody'" in unknown.output


def test_a_bad_database_url_is_named() -> None:
    result = runner.invoke(app, ["migrate", "--database-url", "nonsense://x"])
    assert result.exit_code == 2
    assert (
        "--database-url: 'nonsense://x' is not a sqlite:/// or postgresql:// URL" in result.output
    )


def test_an_unreachable_database_is_one_line_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from followthrough.cli import main

    url = "postgresql://postgres@127.0.0.1:1/none"
    monkeypatch.setattr("sys.argv", ["followthrough", "sweep", "--once", "--database-url", url])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 2
    assert "cannot use the database" in capsys.readouterr().err


def test_a_mistyped_setting_stops_the_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOLLOWTHROUGH_DATABSE_URL", "sqlite:///x.sqlite3")
    result = runner.invoke(app, ["sweep", "--once"])
    assert result.exit_code == 2
    assert "FOLLOWTHROUGH_DATABSE_URL" in result.output


@pytest.mark.slow
def test_serve_stops_within_five_seconds_of_sigterm_while_a_stream_is_open(
    tmp_path: Path,
) -> None:
    """A process manager's SIGTERM ends the server within seconds, even with a client holding
    a connection open (the live stream of a request page keeps one for minutes)."""
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time

    import httpx

    from tests.conftest import _free_port

    url = f"sqlite:///{tmp_path / 'serve.sqlite3'}"
    port = _free_port()
    command = [
        str(Path(sys.executable).parent / "followthrough"),
        "serve",
        "--database-url",
        url,
        "--port",
        str(port),
    ]
    environment = {**os.environ, "FOLLOWTHROUGH_SWEEPER_IN_PROCESS": "true"}
    server = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v1/health").status_code == 200:
                    break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        # A client in the middle of a request that never finishes sending its body.
        lingering = socket.create_connection(("127.0.0.1", port))
        lingering.sendall(
            b"POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"handle": '
        )
        time.sleep(0.5)
        try:
            started = time.monotonic()
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=15)
            took = time.monotonic() - started
        finally:
            lingering.close()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert took < 5.0, f"the server took {took:.1f} s to stop"
