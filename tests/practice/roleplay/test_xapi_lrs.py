"""Role-play statements round-trip through a real Learning Record Store (Ralph), on SQLite and
PostgreSQL: queued with their turns, sent by the sweeper's job, read back with GET /xAPI/statements.

Ralph runs in its own environment (`make lrs` makes .venv-ralph: its pins — Starlette 0.38,
click 8.2 — cannot live beside ours). Its file-system store writes its file once and refuses the
second write (the store is meant for trying Ralph out), so the launcher below makes that store
append; everything the tests check (validation, ids, conflicts, queries) is Ralph's own.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select
from typer.testing import CliRunner

from followthrough.cli import app
from followthrough.config import Settings
from followthrough.db import Database
from followthrough.org import service as org
from followthrough.practice.roleplay import live_service, service, xapi_outbox
from followthrough.practice.roleplay.scenario import shipped_scenario
from followthrough.practice.roleplay.scoring import ScoringModel
from followthrough.practice.roleplay.xapi_models import XapiStatement
from followthrough.sweeper.service import jobs_for
from tests.conftest import T0
from tests.mail.conftest import free_port

RALPH_PYTHON = Path(__file__).resolve().parents[3] / ".venv-ralph" / "bin" / "python"
USER, PASSWORD = "followthrough", "lrs-secret"
runner = CliRunner()

LAUNCHER = """
import sys
import uvicorn
from ralph.backends.data.base import BaseOperationType
from ralph.backends.lrs.fs import FSLRSBackend
FSLRSBackend.default_operation_type = BaseOperationType.APPEND
uvicorn.run("ralph.api:app", host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


@dataclass(frozen=True)
class Lrs:
    url: str

    def statements(self, **query: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        params: dict[str, str] = {**query, "limit": "100"}
        with httpx.Client(auth=(USER, PASSWORD), timeout=10) as client:
            url = f"{self.url}/statements"
            while True:
                answer = client.get(url, params=params)
                answer.raise_for_status()
                body = answer.json()
                found += body["statements"]
                if not body.get("more"):
                    return found
                url, params = self.url.removesuffix("/xAPI") + body["more"], {}


def _require_ralph() -> Path:
    if not RALPH_PYTHON.exists():
        reason = "Ralph is not installed (make lrs makes .venv-ralph)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return RALPH_PYTHON


@pytest.fixture(scope="session")
def lrs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lrs]:
    python = _require_ralph()
    home = tmp_path_factory.mktemp("ralph")
    env = {
        **os.environ,
        "RALPH_APP_DIR": str(home),
        "RALPH_AUTH_FILE": str(home / "auth.json"),
        "RALPH_RUNSERVER_BACKEND": "fs",
        "RALPH_BACKENDS__LRS__FS__DEFAULT_DIRECTORY_PATH": str(home / "statements"),
    }
    ralph = str(python.parent / "ralph")
    subprocess.run(
        [ralph, "auth", "-u", USER, "-p", PASSWORD, "-s", "all", "-w", "-A", USER, "http://t.test"],
        env=env,
        check=True,
        capture_output=True,
    )
    port = free_port()
    log = home / "ralph.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [str(python), "-c", LAUNCHER, str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/xAPI"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/__heartbeat__", timeout=2).is_success:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Ralph did not start: {log.read_text()}")
            time.sleep(0.2)
        yield Lrs(url)
    finally:
        server.terminate()
        server.wait(timeout=10)


def _settings(lrs_url: str | None) -> Settings:
    # Each test is a desk of its own, so statement ids never meet another test's in the store.
    return Settings(
        public_url=f"https://desk-{uuid.uuid4().hex[:8]}.example.org",
        lrs_url=lrs_url,
        lrs_username=USER,
        lrs_password=SecretStr(PASSWORD),
    )


def _play_to_the_end(db: Database, model: ScoringModel) -> int:
    """One attempt: a choice, then two scored replies that end it well (as in test_service)."""
    with db.unit_of_work() as session:
        rita = org.add_person(session, "rita", "Rita Roleplay", "rita@example.com").id
        attempt = service.start_attempt(
            session, rita, shipped_scenario("missed-call-back"), model, T0
        )
        service.take_choice(session, attempt, 0, T0 + timedelta(seconds=10))
        service.give_reply(
            session,
            attempt,
            "That sounds really stressful. What does Mr Patel need from us now?",
            model,
            T0 + timedelta(seconds=40),
        )
        service.give_reply(
            session,
            attempt,
            "Leave it with me, I'll ring the garage with the code by 2pm today. Does that work?",
            model,
            T0 + timedelta(seconds=90),
        )
        assert attempt.outcome == "good"
        return attempt.id


def _rows(db: Database) -> list[XapiStatement]:
    with db.unit_of_work(readonly=True) as session:
        rows = list(session.scalars(select(XapiStatement).order_by(XapiStatement.id)))
        session.expunge_all()
        return rows


def _instant(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _same(sent: dict[str, Any], stored: dict[str, Any]) -> None:
    for field in ("id", "actor", "verb", "object", "result", "context", "version"):
        assert stored.get(field) == sent.get(field), field
    assert _instant(stored["timestamp"]) == _instant(sent["timestamp"])


def test_statements_round_trip_through_the_lrs(db: Database, model: ScoringModel, lrs: Lrs) -> None:
    settings = _settings(lrs.url)
    _play_to_the_end(db, model)
    # Queued with the turns: attempted; answered x3; scored x2 (the replies); completed.
    assert [row.verb for row in _rows(db)] == [
        "attempted",
        "answered",
        "answered",
        "scored",
        "answered",
        "scored",
        "completed",
    ]
    assert all(row.state == "pending" for row in _rows(db))

    # The sweeper's job for it is there only because an LRS is set.
    jobs = dict(jobs_for(settings))
    assert "learning records sent" not in dict(jobs_for(_settings(None)))
    job = jobs["learning records sent"]
    assert job.run(db, T0 + timedelta(minutes=5)) == 7
    assert all(row.state == "sent" and row.tries == 1 for row in _rows(db))

    with db.unit_of_work(readonly=True) as session:
        exported = xapi_outbox.statements_since(session, settings, T0)
    registration = exported[0]["context"]["registration"]
    stored = {s["id"]: s for s in lrs.statements(registration=registration)}
    assert sorted(stored) == sorted(s["id"] for s in exported)
    for statement in exported:
        _same(statement, stored[statement["id"]])
    # Read back by the learner, as any report on the store would.
    by_learner = lrs.statements(
        agent=json.dumps({"account": {"homePage": settings.public_url, "name": "rita"}})
    )
    assert {s["id"] for s in by_learner} == set(stored)
    completed = next(s for s in stored.values() if s["verb"]["id"].endswith("/completed"))
    assert completed["result"]["success"] is True
    assert completed["result"]["completion"] is True


def test_sending_again_stores_each_statement_once(
    db: Database, model: ScoringModel, lrs: Lrs
) -> None:
    settings = _settings(lrs.url)
    _play_to_the_end(db, model)
    later = T0 + timedelta(minutes=5)
    assert xapi_outbox.send_due(db, settings, later) == 7
    # A sender that died after sending and before recording: every row is pending again.
    with db.unit_of_work() as session:
        for row in session.scalars(select(XapiStatement)):
            row.state, row.sent_at = "pending", None
    assert xapi_outbox.send_due(db, settings, later) == 7
    assert all(row.state == "sent" and row.tries == 2 for row in _rows(db))
    with db.unit_of_work(readonly=True) as session:
        exported = xapi_outbox.statements_since(session, settings, T0)
    stored = lrs.statements(registration=exported[0]["context"]["registration"])
    assert len(stored) == 7
    assert len({s["id"] for s in stored}) == 7


def test_a_store_that_cannot_be_reached_is_tried_again_later(
    db: Database, model: ScoringModel, lrs: Lrs
) -> None:
    closed = f"http://127.0.0.1:{free_port()}/xAPI"
    _play_to_the_end(db, model)
    first = T0 + timedelta(minutes=5)
    assert xapi_outbox.send_due(db, _settings(closed), first) == 7
    rows = _rows(db)
    assert all(row.state == "pending" and row.tries == 1 for row in rows)
    assert all(row.next_try_at == first + timedelta(minutes=1) for row in rows)
    assert all(row.last_error and "ConnectError" in row.last_error for row in rows)
    # Not due again before its wait is over; then the store is back and takes them all.
    settings = _settings(lrs.url)
    assert xapi_outbox.send_due(db, settings, first + timedelta(seconds=30)) == 0
    assert xapi_outbox.send_due(db, settings, first + timedelta(minutes=1)) == 7
    assert all(row.state == "sent" for row in _rows(db))


def test_nothing_is_sent_without_an_lrs(db: Database, model: ScoringModel) -> None:
    _play_to_the_end(db, model)
    assert xapi_outbox.send_due(db, _settings(None), T0 + timedelta(minutes=5)) == 0
    assert all(row.state == "pending" and row.tries == 0 for row in _rows(db))


def test_a_statement_the_store_refuses_does_not_hold_back_the_others(
    db: Database, model: ScoringModel, lrs: Lrs
) -> None:
    settings = _settings(lrs.url)
    _play_to_the_end(db, model)
    with db.unit_of_work(readonly=True) as session:
        exported = xapi_outbox.statements_since(session, settings, T0)
    # Someone else already stored a different statement under the completion's id.
    squatter = {**exported[-1], "verb": {"id": "http://adlnet.gov/expapi/verbs/attempted"}}
    with httpx.Client(auth=(USER, PASSWORD)) as client:
        client.post(f"{lrs.url}/statements", json=[squatter]).raise_for_status()
    later = T0 + timedelta(minutes=5)
    assert xapi_outbox.send_due(db, settings, later) == 7
    rows = _rows(db)
    assert [row.state for row in rows] == ["sent"] * 6 + ["pending"]
    assert rows[-1].last_error is not None
    assert rows[-1].last_error.startswith("409")
    assert rows[-1].next_try_at == later + timedelta(minutes=1)


def test_the_export_loads_into_another_store_as_it_is(
    db: Database, model: ScoringModel, lrs: Lrs
) -> None:
    """`followthrough roleplay export-xapi --since DATE`: a JSON array any LRS takes as is."""
    _play_to_the_end(db, model)
    desk = f"https://desk-{uuid.uuid4().hex[:8]}.example.org"
    env = {"FOLLOWTHROUGH_PUBLIC_URL": desk}
    result = runner.invoke(
        app,
        ["roleplay", "export-xapi", "--since", "2026-03-02", "--database-url", db.url],
        env=env,
    )
    assert result.exit_code == 0, result.output
    exported = json.loads(result.stdout)
    assert [s["verb"]["display"]["en-US"] for s in exported] == [
        "attempted",
        "answered",
        "answered",
        "scored",
        "answered",
        "scored",
        "completed",
    ]
    assert all(s["actor"]["account"]["homePage"] == desk for s in exported)
    with httpx.Client(auth=(USER, PASSWORD)) as client:
        client.post(f"{lrs.url}/statements", json=exported).raise_for_status()
    stored = {
        s["id"]: s for s in lrs.statements(registration=exported[0]["context"]["registration"])
    }
    assert sorted(stored) == sorted(s["id"] for s in exported)
    for statement in exported:
        _same(statement, stored[statement["id"]])
    # Nothing after the last turn; a date that is not one is refused, naming the option.
    later = runner.invoke(
        app,
        ["roleplay", "export-xapi", "--since", "2026-03-03", "--database-url", db.url],
        env=env,
    )
    assert later.exit_code == 0
    assert json.loads(later.stdout) == []
    bad = runner.invoke(
        app, ["roleplay", "export-xapi", "--since", "yesterday", "--database-url", db.url]
    )
    assert bad.exit_code == 2
    assert "--since" in bad.output


def test_an_observers_scores_round_trip_as_the_participants_records(
    db: Database, model: ScoringModel, lrs: Lrs
) -> None:
    """A live session: the observer scores the participant's reply twice (a second look); each
    score is a `scored` statement of the participant's, queued with the score, sent by the
    sweeper's job and read back by the participant and by the instructor who gave it."""
    settings = _settings(lrs.url)
    with db.unit_of_work() as session:
        fay = org.add_person(session, "fay", "Fay Facilitator", "fay@example.com").id
        pia = org.add_person(session, "pia", "Pia Participant", "pia@example.com").id
        oli = org.add_person(session, "oli", "Oli Observer", "oli@example.com").id
        live = live_service.open_session(session, fay, "missed-call-back", T0, random.Random(3))
        live_service.join(session, pia, live.code, "1", "participant", model, T0)
        live_service.join(session, oli, live.code, "1", "observer", model, T0)
        live_service.take_turn(session, live, pia, 0, "", 0, model, T0 + timedelta(seconds=10))
        live_service.take_turn(
            session,
            live,
            pia,
            None,
            "That sounds really stressful. What does Mr Patel need from us now?",
            1,
            model,
            T0 + timedelta(seconds=40),
        )
        live_service.mark(
            session, live, oli, "score", 2, ["asks_need"], "", T0 + timedelta(seconds=50)
        )
        # A score with its note, as the page and the API save it.
        live_service.mark(
            session,
            live,
            oli,
            "score",
            2,
            ["asks_need", "acknowledges_feeling"],
            "Good question",
            T0 + timedelta(seconds=70),
        )
        # A note on its own, and the participant's own score.
        live_service.mark(
            session, live, oli, "note", 2, [], "Warm tone", T0 + timedelta(seconds=80)
        )
        live_service.mark(
            session, live, pia, "score", 2, ["asks_need"], "", T0 + timedelta(seconds=90)
        )
    observed = [row for row in _rows(db) if row.mark_id is not None]
    assert [row.verb for row in observed] == ["scored", "scored", "commented", "scored"]
    # attempted; answered x2; scored (the reply, automatically); the observer's two scores and
    # note; the participant's own score. The note saved with a score is not a record of its own.
    assert len(_rows(db)) == 8
    assert xapi_outbox.send_due(db, settings, T0 + timedelta(minutes=5)) == 8
    assert all(row.state == "sent" for row in _rows(db))

    with db.unit_of_work(readonly=True) as session:
        exported = xapi_outbox.statements_since(session, settings, T0)
    mine = [s for s in exported if "instructor" in s["context"]]
    assert len(mine) == 2
    oli_agent = {"account": {"homePage": settings.public_url, "name": "oli"}}
    stored = {
        s["id"]: s for s in lrs.statements(agent=json.dumps(oli_agent), related_agents="true")
    }
    noted = [s for s in exported if s["verb"]["id"].endswith("/commented")]
    assert len(noted) == 1
    assert sorted(stored) == sorted(s["id"] for s in [*mine, *noted])
    for statement in mine:
        _same(statement, stored[statement["id"]])
        assert statement["actor"]["account"]["name"] == "pia"
    newest = max(mine, key=lambda s: s["timestamp"])
    assert newest["result"]["response"] == "Good question"
    assert next(s for s in mine if s is not newest)["result"].get("response") is None
    ext = f"{settings.public_url}/xapi/extensions/"
    behaviours = newest["result"]["extensions"]
    assert behaviours[ext + "behaviour/asks_need"]["raw"] == 1
    assert behaviours[ext + "behaviour/acknowledges_feeling"]["raw"] == 1
    assert behaviours[ext + "behaviour/checks_back"]["raw"] == 0
    # The note on its own: the observer's words about the participant's turn, in the attempt.
    note = stored[noted[0]["id"]]
    _same(noted[0], note)
    assert note["actor"]["account"]["name"] == "oli"
    assert note["result"]["response"] == "Warm tone"
    assert note["context"]["extensions"][ext + "learner"]["account"]["name"] == "pia"
    assert note["context"]["registration"] == newest["context"]["registration"]
    # The participant's own score: theirs, with nobody as instructor.
    own = [
        s
        for s in exported
        if s.get("result", {}).get("extensions", {}).get(ext + "scorer") == "self"
    ]
    assert len(own) == 1
    assert own[0]["actor"]["account"]["name"] == "pia"
    assert "instructor" not in own[0]["context"]
    assert own[0]["result"]["score"]["raw"] == 1
    # By the participant, the observer's scores and their own are among their records; the
    # observer's note is found by the attempt's registration.
    pia_agent = {"account": {"homePage": settings.public_url, "name": "pia"}}
    by_learner = {s["id"] for s in lrs.statements(agent=json.dumps(pia_agent))}
    assert {s["id"] for s in [*mine, *own]} <= by_learner
    attempt = {s["id"] for s in lrs.statements(registration=note["context"]["registration"])}
    assert {s["id"] for s in exported} <= attempt
