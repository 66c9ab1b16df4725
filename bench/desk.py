"""Desk benchmark: the mixed workload over real HTTP against plain SQL, and list/detail latency.

For each database: migrate an empty database, bulk-load N requests and M events, start the real
app under uvicorn in a subprocess on 127.0.0.1, then
  1. run K concurrent clients doing open → offer → accept → update → promise → resolve through
     /api/v1, timing every call;
  2. do the same transactions (the same rows: request, offer, path step, participants, update,
     promise, events, notifications and outbox) as plain parameterised SQL over a DB-API
     connection with the same concurrency — the baseline;
  3. time the request list (several filters and sorts, as a team member and as an admin) and the
     request detail, one call at a time, and EXPLAIN the slowest statement of any that misses
     the target.
Every loop is bounded in count and in time; nothing leaves the loopback interface.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psycopg
from fastapi import FastAPI
from rich.console import Console
from rich.table import Table
from sqlalchemy import event

from bench import bulk
from followthrough.config import Settings
from followthrough.db import Database
from followthrough.migrate import upgrade

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_BENCH_DB = "ft_bench"
OPS = ("open", "offer", "accept", "update", "promise", "resolve")
TARGET_OPS = 500.0
TARGET_MS = 100.0


@dataclass(frozen=True)
class Options:
    requests: int = 1_000_000
    events: int = 10_000_000
    clients: int = 8
    seconds: float = 30.0
    samples: int = 100
    backends: tuple[str, ...] = ("sqlite", "postgresql")
    pg_admin_url: str = PG_ADMIN_URL
    # One worker process per core, each working on three requests at once: the most
    # CPU-efficient setting measured on the 2-core machine (see docs/benchmarks.md).
    pg_workers: int = 2
    threads: int = 3
    keep: bool = False
    markdown: Path | None = None

    @classmethod
    def quick(cls, **overrides: Any) -> Options:
        values: dict[str, Any] = {
            "requests": 2_000,
            "events": 20_000,
            "clients": 4,
            "seconds": 3.0,
            "samples": 10,
        }
        values.update(overrides)
        return cls(**values)


@dataclass
class Workload:
    """Latencies in seconds per operation, and the wall time the clients ran."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: {op: [] for op in OPS})
    errors: list[str] = field(default_factory=list)
    wall: float = 0.0
    # CPU seconds spent during the timed window: the bench process (clients, and SQLite when
    # the baseline runs it in process), the app server's processes, the database backends.
    cpu: dict[str, float] = field(default_factory=dict)

    def cpu_ms_per_op(self, part: str) -> float:
        return self.cpu.get(part, 0.0) / self.ops * 1000 if self.ops else float("nan")

    @property
    def ops(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    @property
    def rate(self) -> float:
        return self.ops / self.wall if self.wall else 0.0

    def all(self) -> list[float]:
        return [x for v in self.latencies.values() for x in v]


@dataclass
class Latency:
    name: str
    viewer: str
    samples: list[float]
    rows: int = 0
    plan: str = ""


@dataclass
class BackendResult:
    backend: str
    load: bulk.LoadReport
    http: Workload
    plain: Workload
    reads: list[Latency]
    workers: int
    threads: int


def pct(values: list[float], q: float) -> float:
    """The q-th percentile in milliseconds (NaN when there are no values)."""
    return float(np.percentile(values, q)) * 1000 if values else float("nan")


# --- the server -----------------------------------------------------------------------------


def server_app() -> FastAPI:
    """The uvicorn factory the benchmark runs: the real app, sweeper out of process."""
    url = os.environ["FOLLOWTHROUGH_DATABASE_URL"]
    return create_app_for(url)


def create_app_for(url: str) -> FastAPI:
    from followthrough.web.app import create_app

    return create_app(Settings(database_url=url, sweeper_in_process=False))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_server(url: str, workers: int, threads: int = 3) -> Iterator[tuple[str, int]]:
    """uvicorn in a subprocess on a free loopback port; yields the base URL and its pid."""
    port = _free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("FOLLOWTHROUGH_")}
    env["FOLLOWTHROUGH_DATABASE_URL"] = url
    env["FOLLOWTHROUGH_WORKER_THREADS"] = str(threads)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.desk:server_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        with httpx.Client(timeout=2) as client:
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"the server exited with {process.returncode}")
                with suppress(httpx.HTTPError):
                    if client.get(base + "/api/v1/health").status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError("the server did not start within 60 s")
                time.sleep(0.2)
            # With several workers, make sure every worker has started and answered once.
            for _ in range(workers * 4):
                client.get(base + "/api/v1/health")
        yield base, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


# --- the cast: who does what in the mixed workload -----------------------------------------


@dataclass(frozen=True)
class Cast:
    """One client's people: a requester elsewhere, the receiving team's lead and a member."""

    service_id: int
    team_id: int
    requester: int
    lead: int
    member: int


def casts(org: bulk.Org, clients: int) -> list[Cast]:
    result = []
    teams = org.team_ids
    for c in range(clients):
        team = teams[c % len(teams)]
        other = teams[(c + len(teams) // 2) % len(teams)]
        service = next(s for s in org.services if s.team_id == team and not s.confidential)
        result.append(
            Cast(
                service_id=service.id,
                team_id=team,
                requester=org.members[other][2 + c // len(teams)],
                lead=org.lead_of[team],
                member=org.members[team][1 + c // len(teams)],
            )
        )
    return result


def issue_tokens(url: str, person_ids: set[int]) -> dict[int, str]:
    """A personal API token for each person, made by the product's own service."""
    from followthrough.auth.service import create_api_token
    from followthrough.org.models import Person

    db = Database(url)
    tokens = {}
    try:
        with db.unit_of_work() as session:
            for person_id in sorted(person_ids):
                person = session.get(Person, person_id)
                assert person is not None
                tokens[person_id], _ = create_api_token(session, person, "bench", datetime.now(UTC))
    finally:
        db.dispose()
    return tokens


# --- the mixed workload over HTTP ----------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status_code: int
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


class LeanClient:
    """One keep-alive HTTP/1.1 connection over the standard library.

    The load generator shares the two cores with the server and the database, so it must be
    cheap: httpx costs about 0.8 ms of CPU per call here, this about 0.1 ms. It speaks plain
    HTTP to the same uvicorn as any other client would.
    """

    def __init__(self, base: str, prefix: str = "/api/v1", timeout: float = 30) -> None:
        host, port = base.removeprefix("http://").split(":")
        self.connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
        self.prefix = prefix

    def request(
        self, method: str, path: str, json_body: Any = None, headers: dict[str, str] | None = None
    ) -> Answer:
        body = None if json_body is None else json.dumps(json_body)
        sent = dict(headers or {})
        if body is not None:
            sent["Content-Type"] = "application/json"
        self.connection.request(method, self.prefix + path, body=body, headers=sent)
        response = self.connection.getresponse()
        return Answer(response.status, response.read().decode())

    def post(self, path: str, json: Any = None, headers: dict[str, str] | None = None) -> Answer:
        return self.request("POST", path, json, headers)

    def close(self) -> None:
        self.connection.close()


def _timed(result: Workload, op: str, call: Callable[[], Answer | httpx.Response], ok: int) -> Any:
    started = time.perf_counter()
    response = call()
    elapsed = time.perf_counter() - started
    if response.status_code != ok:
        raise RuntimeError(f"{op}: {response.status_code} {response.text[:200]}")
    result.latencies[op].append(elapsed)
    return response.json()


def http_sequence(
    client: LeanClient | httpx.Client, cast: Cast, tokens: dict[int, str], result: Workload, n: int
) -> None:
    """open → offer → accept → update → promise → resolve, as the people who would do each."""

    def auth(person: int) -> dict[str, str]:
        # A client acting in a loop asks for the short answer (RFC 7240), as an integration would.
        return {"Authorization": f"Bearer {tokens[person]}", "Prefer": "return=minimal"}

    opened = _timed(
        result,
        "open",
        lambda: client.post(
            "/requests",
            json={
                "title": f"Bench request {n}",
                "need": "The policy schedule shows the wrong address.",
                "service_id": cast.service_id,
            },
            headers=auth(cast.requester),
        ),
        201,
    )
    rid = opened["id"]
    offered = _timed(
        result,
        "offer",
        lambda: client.post(
            f"/requests/{rid}/offers",
            json={"to_team_id": cast.team_id, "to_person_id": cast.member, "note": "Yours"},
            headers=auth(cast.lead),
        ),
        201,
    )
    offer_id = offered["offer_id"]
    _timed(
        result,
        "accept",
        lambda: client.post(f"/requests/{rid}/offers/{offer_id}/accept", headers=auth(cast.member)),
        200,
    )
    _timed(
        result,
        "update",
        lambda: client.post(
            f"/requests/{rid}/updates",
            json={"body": "Looked at it; the fix is in progress."},
            headers=auth(cast.member),
        ),
        201,
    )
    due = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    _timed(
        result,
        "promise",
        lambda: client.post(
            f"/requests/{rid}/promises",
            json={"what": "Call you back with the corrected document", "due_at": due},
            headers=auth(cast.member),
        ),
        201,
    )
    _timed(
        result,
        "resolve",
        lambda: client.post(
            f"/requests/{rid}/resolve",
            json={"resolution": "Corrected and reissued."},
            headers=auth(cast.member),
        ),
        200,
    )


def _cpu_of(pid: int) -> float:
    """User plus system CPU seconds of one process (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tree(pid: int) -> list[int]:
    pids = [pid]
    with suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                pids.extend(_tree(int(child)))
    return pids


class CpuMeter:
    """CPU used by the bench itself, the app server's process tree and the database backends."""

    def __init__(self, server_pid: int | None = None, pg_dsn: str | None = None) -> None:
        self.server_pid = server_pid
        self.pg_dsn = pg_dsn
        self.before: dict[str, dict[int, float]] = {}

    def _backends(self) -> list[int]:
        if self.pg_dsn is None:
            return []
        with psycopg.connect(self.pg_dsn, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid != pg_backend_pid()"
            ).fetchall()
        return [int(r[0]) for r in rows]

    def _snapshot(self) -> dict[str, dict[int, float]]:
        times = os.times()
        snap = {"bench": {0: times.user + times.system}}
        if self.server_pid is not None:
            snap["app server"] = {p: _cpu_of(p) for p in _tree(self.server_pid)}
        snap["database"] = {p: _cpu_of(p) for p in self._backends()}
        return snap

    def start(self) -> None:
        self.before = self._snapshot()

    def stop(self) -> dict[str, float]:
        after = self._snapshot()
        return {
            part: sum(t - self.before.get(part, {}).get(p, 0.0) for p, t in pids.items())
            for part, pids in after.items()
        }


def run_clients(
    workers: list[Callable[[Workload, int], None]],
    seconds: float,
    max_sequences: int,
    warmup: int = 2,
    meter: CpuMeter | None = None,
) -> Workload:
    """Run each worker's sequence in its own thread until the time or the count runs out."""
    result = Workload()
    warm = Workload()
    lock = threading.Lock()
    start_gate = threading.Barrier(len(workers) + 1)
    deadline = [0.0]

    def loop(work: Callable[[Workload, int], None]) -> None:
        try:
            for n in range(warmup):
                work(warm, -n - 1)
        except Exception as exc:  # reported, not swallowed: the run counts it as an error
            with lock:
                result.errors.append(f"warm-up: {exc}")
        start_gate.wait()
        mine = Workload()
        n = 0
        while n < max_sequences and time.monotonic() < deadline[0]:
            try:
                work(mine, n)
            except Exception as exc:
                mine.errors.append(str(exc))
                if len(mine.errors) > 20:
                    break
            n += 1
        with lock:
            for op, values in mine.latencies.items():
                result.latencies[op].extend(values)
            result.errors.extend(mine.errors)

    threads = [threading.Thread(target=loop, args=(w,), daemon=True) for w in workers]
    for thread in threads:
        thread.start()
    deadline[0] = time.monotonic() + seconds + 3600  # replaced once every client is warm
    if meter is not None:
        meter.start()
    start_gate.wait()
    started = time.perf_counter()
    deadline[0] = time.monotonic() + seconds
    for thread in threads:
        thread.join(timeout=seconds + 120)
    result.wall = time.perf_counter() - started
    if meter is not None:
        result.cpu = meter.stop()
    return result


def http_workload(
    base: str, cast_list: list[Cast], tokens: dict[int, str], opts: Options, meter: CpuMeter
) -> Workload:
    clients = [LeanClient(base) for _ in cast_list]
    try:
        workers = [
            (lambda r, n, c=client, k=cast: http_sequence(c, k, tokens, r, n))
            for client, cast in zip(clients, cast_list, strict=True)
        ]
        return run_clients(workers, opts.seconds, max_sequences=100_000, meter=meter)
    finally:
        for client in clients:
            client.close()


# --- the same transactions in plain SQL ----------------------------------------------------


class PlainDesk:
    """The mixed workload's transactions as hand-written SQL: same rows, no ORM, no HTTP."""

    def __init__(self, url: str) -> None:
        self.sqlite = url.startswith("sqlite")
        if self.sqlite:
            conn = sqlite3.connect(
                url.removeprefix("sqlite:///"),
                isolation_level=None,
                check_same_thread=False,
                timeout=30,
            )
            for pragma in ("foreign_keys=ON", "synchronous=NORMAL", "busy_timeout=30000"):
                conn.execute(f"PRAGMA {pragma}")
            self.conn: Any = conn
        else:
            self.conn = psycopg.connect(bulk._pg_dsn(url))
        self.lock = "" if self.sqlite else " FOR UPDATE"

    def close(self) -> None:
        self.conn.close()

    def t(self, value: datetime) -> Any:
        return bulk.sqlite_time(value) if self.sqlite else value

    def q(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        if not self.sqlite:
            sql = sql.replace("?", "%s")
        cursor = self.conn.execute(sql, params)
        return [] if cursor.description is None else list(cursor.fetchall())

    def one(self, sql: str, *params: Any) -> tuple[Any, ...]:
        rows = self.q(sql, *params)
        if len(rows) != 1:
            raise RuntimeError(f"expected one row from {sql[:60]}")
        return rows[0]

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self.sqlite:
            self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if self.sqlite:
                self.conn.execute("ROLLBACK")
            else:
                self.conn.rollback()
            raise
        if self.sqlite:
            self.conn.execute("COMMIT")
        else:
            self.conn.commit()

    def event(
        self, kind: str, now: datetime, rid: int, actor: int | None, team: int, **payload: Any
    ) -> None:
        self.q(
            "INSERT INTO event (kind, at, request_id, actor_id, team_id, person_id, payload)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            kind,
            self.t(now),
            rid,
            actor,
            team,
            payload.pop("person", None),
            json.dumps(payload),
        )

    def notify(self, person: int, kind: str, message: str, now: datetime, rid: int) -> None:
        (nid,) = self.one(
            "INSERT INTO notification (person_id, kind, message, request_id, created_at)"
            " VALUES (?, ?, ?, ?, ?) RETURNING id",
            person,
            kind,
            message,
            rid,
            self.t(now),
        )
        self.q(
            "INSERT INTO outbox_message (notification_id, channel, state, attempts, created_at)"
            " VALUES (?, 'email', 'pending', 0, ?)",
            nid,
            self.t(now),
        )

    def participate(self, rid: int, person: int) -> None:
        self.q(
            "INSERT INTO request_participant (request_id, person_id) VALUES (?, ?)"
            " ON CONFLICT DO NOTHING",
            rid,
            person,
        )

    def load(self, rid: int) -> tuple[Any, ...]:
        return self.one(
            f"SELECT state, owner_id, team_id, requester_id, version, service_id FROM request"
            f" WHERE id = ?{self.lock}",
            rid,
        )

    def open(self, cast: Cast, now: datetime) -> int:
        team, accept, every, resolve, confidential = self.one(
            "SELECT team_id, accept_target_hours, update_every_hours, resolve_target_hours,"
            " confidential FROM service WHERE id = ?",
            cast.service_id,
        )
        (owner,) = self.one("SELECT coalesce(duty_owner_id, lead_id) FROM team WHERE id = ?", team)
        t = self.t
        (rid,) = self.one(
            "INSERT INTO request (title, need, context, impact_customers, priority,"
            " requester_id, service_id, team_id, owner_id, state, confidential, opened_at,"
            " updated_at, next_update_due_at, update_escalate_at, resolve_due_at,"
            " paused_business_seconds, bounce_count, version)"
            " VALUES (?, ?, '', 0, 'normal', ?, ?, ?, ?, 'new', ?, ?, ?, ?, ?, ?, 0, 0, 1)"
            " RETURNING id",
            "Bench request",
            "The policy schedule shows the wrong address.",
            cast.requester,
            cast.service_id,
            team,
            owner,
            confidential,
            t(now),
            t(now),
            t(now + timedelta(hours=every)),
            t(now + timedelta(hours=2 * every)),
            t(now + timedelta(hours=resolve)),
        )
        self.q(
            "INSERT INTO path_step (request_id, team_id, entered_at, is_bounce)"
            " VALUES (?, ?, ?, ?)",
            rid,
            team,
            t(now),
            False,
        )
        self.participate(rid, cast.requester)
        self.participate(rid, owner)
        (offer_id,) = self.one(
            "INSERT INTO offer (request_id, kind, from_person_id, to_team_id, note, state,"
            " offered_at, due_at) VALUES (?, 'intake', ?, ?, '', 'open', ?, ?) RETURNING id",
            rid,
            cast.requester,
            team,
            t(now),
            t(now + timedelta(hours=accept)),
        )
        self.event(
            "opened", now, rid, cast.requester, team, person=owner, service_id=cast.service_id
        )
        self.event("offered", now, rid, cast.requester, team, offer_id=offer_id, intake=True)
        self.notify(owner, "offer", "New request: Bench request", now, rid)
        return int(rid)

    def offer(self, cast: Cast, rid: int, now: datetime) -> int:
        state, _owner, team, _requester, version, _ = self.load(rid)
        if state not in ("new", "in_progress"):
            raise RuntimeError(f"cannot offer a {state} request")
        for (previous,) in self.q(
            "SELECT id FROM offer WHERE request_id = ? AND state = 'open'", rid
        ):
            self.q(
                "UPDATE offer SET state = 'withdrawn', answered_at = ?, answered_by_id = ?"
                " WHERE id = ?",
                self.t(now),
                cast.lead,
                previous,
            )
            self.event("withdrawn", now, rid, cast.lead, team, offer_id=previous, superseded=True)
        (offer_id,) = self.one(
            "INSERT INTO offer (request_id, kind, from_person_id, from_team_id, to_team_id,"
            " to_person_id, note, state, offered_at, due_at)"
            " VALUES (?, 'handoff', ?, ?, ?, ?, 'Yours', 'open', ?, ?) RETURNING id",
            rid,
            cast.lead,
            team,
            cast.team_id,
            cast.member,
            self.t(now),
            self.t(now + timedelta(hours=2)),
        )
        self._bump(rid, version, "updated_at = ?", self.t(now))
        self.event("offered", now, rid, cast.lead, team, person=cast.member, offer_id=offer_id)
        self.participate(rid, cast.member)
        self.notify(cast.member, "offer", "Offered to you: Bench request", now, rid)
        return int(offer_id)

    @staticmethod
    def _require_open(state: str) -> None:
        if state not in ("new", "in_progress", "needs_clarification", "waiting"):
            raise RuntimeError(f"the request is {state}")

    def _bump(self, rid: int, version: int, assignments: str, *params: Any) -> None:
        updated = self.q(
            f"UPDATE request SET {assignments}, version = version + 1"
            " WHERE id = ? AND version = ? RETURNING id",
            *params,
            rid,
            version,
        )
        if not updated:
            raise RuntimeError(f"request {rid} moved on")

    def accept(self, cast: Cast, rid: int, offer_id: int, now: datetime) -> None:
        state, owner, team, _requester, version, _ = self.load(rid)
        (offer_state,) = self.one(
            "SELECT state FROM offer WHERE id = ? AND request_id = ?", offer_id, rid
        )
        if offer_state != "open" or state not in ("new", "in_progress"):
            raise RuntimeError("offer is not open")
        self.q(
            "UPDATE offer SET state = 'accepted', answered_at = ?, answered_by_id = ? WHERE id = ?",
            self.t(now),
            cast.member,
            offer_id,
        )
        t = self.t
        self._bump(
            rid,
            version,
            "owner_id = ?, state = 'in_progress', accepted_at = coalesce(accepted_at, ?),"
            " next_update_due_at = ?, update_escalate_at = ?, update_reminded_at = NULL,"
            " updated_at = ?",
            cast.member,
            t(now),
            t(now + timedelta(hours=4)),
            t(now + timedelta(hours=8)),
            t(now),
        )
        self.participate(rid, cast.member)
        self.event(
            "accepted",
            now,
            rid,
            cast.member,
            team,
            person=cast.member,
            offer_id=offer_id,
            previous_owner_id=owner,
        )
        self.notify(owner, "offer_accepted", "Accepted: Bench request", now, rid)

    def update(self, cast: Cast, rid: int, now: datetime) -> None:
        state, _owner, team, requester, version, _ = self.load(rid)
        self._require_open(state)
        (update_id,) = self.one(
            "INSERT INTO request_update (request_id, author_id, body, posted_at)"
            " VALUES (?, ?, ?, ?) RETURNING id",
            rid,
            cast.member,
            "Looked at it; the fix is in progress.",
            self.t(now),
        )
        t = self.t
        self._bump(
            rid,
            version,
            "next_update_due_at = ?, update_escalate_at = ?, update_reminded_at = NULL,"
            " updated_at = ?",
            t(now + timedelta(hours=4)),
            t(now + timedelta(hours=8)),
            t(now),
        )
        self.participate(rid, cast.member)
        self.event("update_posted", now, rid, cast.member, team, update_id=update_id)
        self.notify(requester, "update_posted", "Update on Bench request", now, rid)

    def promise(self, cast: Cast, rid: int, now: datetime) -> None:
        state, _owner, team, requester, version, _ = self.load(rid)
        self._require_open(state)
        (promise_id,) = self.one(
            "INSERT INTO promise (request_id, made_by_id, made_to_id, what, due_at, made_at,"
            " state) VALUES (?, ?, ?, ?, ?, ?, 'open') RETURNING id",
            rid,
            cast.member,
            requester,
            "Call you back with the corrected document",
            self.t(now + timedelta(hours=2)),
            self.t(now),
        )
        self._bump(rid, version, "updated_at = ?", self.t(now))
        self.participate(rid, cast.member)
        self.event(
            "promise_made", now, rid, cast.member, team, person=cast.member, promise_id=promise_id
        )
        self.notify(requester, "promise_due", "Promised on Bench request", now, rid)

    def resolve(self, cast: Cast, rid: int, now: datetime) -> None:
        state, owner, team, requester, version, _ = self.load(rid)
        if state not in ("new", "in_progress"):
            raise RuntimeError(f"cannot resolve a {state} request")
        for (open_offer,) in self.q(
            "SELECT id FROM offer WHERE request_id = ? AND state = 'open'", rid
        ):
            self.q("UPDATE offer SET state = 'withdrawn' WHERE id = ?", open_offer)
        t = self.t
        self._bump(
            rid,
            version,
            "state = 'resolved', resolution = ?, resolved_at = ?,"
            " accepted_at = coalesce(accepted_at, ?), next_update_due_at = NULL,"
            " update_escalate_at = NULL, update_reminded_at = NULL, auto_close_at = ?,"
            " eta_median_at = NULL, eta_likely_at = NULL, updated_at = ?",
            "Corrected and reissued.",
            t(now),
            t(now),
            t(now + timedelta(days=3)),
            t(now),
        )
        self.event("resolved", now, rid, cast.member, team, person=owner, within_target=True)
        self.notify(requester, "resolved", "Resolved: Bench request", now, rid)


def plain_sequence(desk: PlainDesk, cast: Cast, result: Workload, n: int) -> None:
    def step(op: str, action: Callable[[datetime], Any]) -> Any:
        started = time.perf_counter()
        with desk.transaction():
            value = action(datetime.now(UTC))
        result.latencies[op].append(time.perf_counter() - started)
        return value

    rid = step("open", lambda now: desk.open(cast, now))
    offer_id = step("offer", lambda now: desk.offer(cast, rid, now))
    step("accept", lambda now: desk.accept(cast, rid, offer_id, now))
    step("update", lambda now: desk.update(cast, rid, now))
    step("promise", lambda now: desk.promise(cast, rid, now))
    step("resolve", lambda now: desk.resolve(cast, rid, now))


def plain_workload(url: str, cast_list: list[Cast], opts: Options, meter: CpuMeter) -> Workload:
    desks = [PlainDesk(url) for _ in cast_list]
    try:
        workers = [
            (lambda r, n, d=desk, k=cast: plain_sequence(d, k, r, n))
            for desk, cast in zip(desks, cast_list, strict=True)
        ]
        return run_clients(workers, opts.seconds, max_sequences=100_000, meter=meter)
    finally:
        for desk in desks:
            desk.close()


# --- list and detail latency ---------------------------------------------------------------


@dataclass(frozen=True)
class ReadCase:
    name: str
    viewer: str  # "member" or "admin"
    params: dict[str, Any]
    detail: bool = False


def read_cases(team_id: int, owner_id: int) -> list[ReadCase]:
    return [
        ReadCase("list team, in progress", "member", {"team_id": team_id, "state": "in_progress"}),
        ReadCase("list team, closed", "member", {"team_id": team_id, "state": "closed"}),
        ReadCase(
            "list team, open by update due",
            "member",
            {"team_id": team_id, "state": ["new", "in_progress"], "sort": "next_update_due_at"},
        ),
        ReadCase("list team, overdue", "member", {"team_id": team_id, "overdue": "true"}),
        ReadCase("list everything visible", "member", {}),
        ReadCase("list mine (owner)", "member", {"owner_id": owner_id}),
        ReadCase("list all, in progress", "admin", {"state": "in_progress"}),
        ReadCase("list team, by -updated_at", "admin", {"team_id": team_id, "sort": "-updated_at"}),
        ReadCase("list all, page 10", "admin", {"offset": 450}),
        ReadCase("detail", "member", {}, detail=True),
        ReadCase("detail", "admin", {}, detail=True),
    ]


def _filter_of(params: dict[str, Any]) -> Any:
    from followthrough.requests.queries import RequestFilter

    states = params.get("state", ())
    return RequestFilter(
        states=(states,) if isinstance(states, str) else tuple(states),
        team_id=params.get("team_id"),
        owner_id=params.get("owner_id"),
        overdue=None if "overdue" not in params else params["overdue"] == "true",
        sort=params.get("sort", "-opened_at"),
        offset=params.get("offset", 0),
    )


def sample_request_ids(url: str, team_id: int, count: int, seed: int = 7) -> list[int]:
    """Request ids of one team spread over its whole history (old and new alike)."""
    db = Database(url)
    try:
        with db.engine.connect() as conn:
            ids = [
                row[0]
                for row in conn.exec_driver_sql(
                    f"SELECT id FROM request WHERE team_id = {int(team_id)} ORDER BY id"
                )
            ]
    finally:
        db.dispose()
    rng = np.random.default_rng(seed)
    return [int(x) for x in rng.choice(ids, size=min(count, len(ids)), replace=False)]


def read_latencies(
    base: str,
    url: str,
    tokens: dict[str, str],
    viewers: dict[str, int],
    team_id: int,
    detail_ids: list[int],
    opts: Options,
) -> list[Latency]:
    results = []
    time_cap = max(5.0, opts.seconds)
    with httpx.Client(base_url=base + "/api/v1", timeout=60) as client:
        for case in read_cases(team_id, viewers["member"]):
            headers = {"Authorization": f"Bearer {tokens[case.viewer]}"}
            latency = Latency(case.name, case.viewer, [])
            deadline = time.monotonic() + time_cap
            for n in range(opts.samples + 3):
                if time.monotonic() > deadline:
                    break
                if case.detail:
                    path = f"/requests/{detail_ids[n % len(detail_ids)]}"
                    params: dict[str, Any] = {}
                else:
                    path, params = "/requests", case.params
                started = time.perf_counter()
                response = client.get(path, params=params, headers=headers)
                elapsed = time.perf_counter() - started
                if response.status_code != 200:
                    raise RuntimeError(f"{case.name}: {response.status_code} {response.text[:300]}")
                if n >= 3:  # the first calls warm the worker and its caches
                    latency.samples.append(elapsed)
                if not case.detail:
                    latency.rows = len(response.json()["items"])
            # Explain anything over, or within 20 % of, the target: that is where to look next.
            if pct(latency.samples, 95) > 0.8 * TARGET_MS:
                latency.plan = explain_slowest(url, case, viewers, detail_ids)
            results.append(latency)
    return results


def explain_slowest(
    url: str, case: ReadCase, viewers: dict[str, int], detail_ids: list[int]
) -> str:
    """Run the same read in process, find its slowest SQL statement and EXPLAIN it."""
    from followthrough.org.models import Person
    from followthrough.org.service import actor_for
    from followthrough.requests import queries

    db = Database(url)
    timings: list[tuple[float, str, Any]] = []

    def before(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        conn.info["started"] = time.perf_counter()

    def after(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        timings.append((time.perf_counter() - conn.info["started"], statement, parameters))

    event.listen(db.engine, "before_cursor_execute", before)
    event.listen(db.engine, "after_cursor_execute", after)
    try:
        with db.unit_of_work(readonly=True) as session:
            person = session.get(Person, viewers[case.viewer])
            assert person is not None
            actor = actor_for(session, person)
            timings.clear()
            if case.detail:
                queries.request_detail(session, actor, detail_ids[0])
            else:
                queries.list_requests(session, actor, _filter_of(case.params), datetime.now(UTC))
            seconds, statement, parameters = max(timings, key=lambda t: t[0])
            conn = session.connection()
            prefix = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN (ANALYZE, BUFFERS) "
            plan_rows = conn.exec_driver_sql(prefix + statement, parameters).all()
            plan = "\n".join(
                " | ".join(str(v) for v in row[-1:]) if db.is_sqlite else str(row[0])
                for row in plan_rows
            )
    finally:
        db.dispose()
    return (
        f"-- slowest statement ({seconds * 1000:.1f} ms in process)\n{statement}\n-- plan\n{plan}"
    )


# --- one backend, end to end ---------------------------------------------------------------


@contextmanager
def bench_database(backend: str, opts: Options) -> Iterator[str]:
    """A fresh, migrated database for the run, removed afterwards unless --keep."""
    if backend == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="ft_bench_"))
        url = f"sqlite:///{folder / 'bench.sqlite3'}"
        upgrade(url)
        try:
            yield url
        finally:
            if not opts.keep:
                shutil.rmtree(folder, ignore_errors=True)
        return
    with psycopg.connect(opts.pg_admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{PG_BENCH_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{PG_BENCH_DB}"')
    url = opts.pg_admin_url.rsplit("/", 1)[0] + f"/{PG_BENCH_DB}"
    try:
        upgrade(url)
        yield url
    finally:
        if not opts.keep:
            with psycopg.connect(opts.pg_admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{PG_BENCH_DB}" WITH (FORCE)')


def run_backend(backend: str, opts: Options, console: Console) -> BackendResult:
    console.rule(f"[bold]Desk benchmark: {backend}")
    workers = 1 if backend == "sqlite" else opts.pg_workers
    with bench_database(backend, opts) as url:
        org, report = bulk.load(url, opts.requests, opts.events, console=console)
        console.print(load_table(report))
        cast_list = casts(org, opts.clients)
        reader_team = org.team_ids[3]
        viewers = {"member": org.members[reader_team][1], "admin": org.admin_id}
        people = {p for c in cast_list for p in (c.requester, c.lead, c.member)}
        tokens = issue_tokens(url, people | set(viewers.values()))
        detail_ids = sample_request_ids(url, reader_team, max(opts.samples, 10))
        dsn = None if backend == "sqlite" else bulk._pg_dsn(url)
        with running_server(url, workers, opts.threads) as (base, pid):
            console.print(f"mixed workload over HTTP: {opts.clients} clients, {opts.seconds:.0f} s")
            http = http_workload(base, cast_list, tokens, opts, CpuMeter(pid, dsn))
            console.print("the same transactions in plain SQL")
            plain = plain_workload(url, cast_list, opts, CpuMeter(None, dsn))
            console.print("list and detail latency")
            reads = read_latencies(
                base,
                url,
                {name: tokens[pid] for name, pid in viewers.items()},
                viewers,
                reader_team,
                detail_ids,
                opts,
            )
    result = BackendResult(backend, report, http, plain, reads, workers, opts.threads)
    console.print(workload_table(result))
    console.print(read_table(result))
    for name, workload in (("HTTP", http), ("plain SQL", plain)):
        for error in workload.errors[:3]:
            console.print(f"[red]{backend} {name} error:[/red] {error}", markup=True)
    for latency in reads:
        if latency.plan:
            console.print(
                f"[yellow]{backend}: {latency.name} ({latency.viewer}): p95 at or near the target"
            )
            console.print(latency.plan, markup=False, highlight=False)
    return result


# --- tables ----------------------------------------------------------------------------------


def load_table(report: bulk.LoadReport) -> Table:
    table = Table(title=f"Bulk load, {report.backend}")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, count in report.rows.items():
        table.add_row(name, f"{count:,}")
    rows = report.seconds.get("rows", 0.0)
    total_rows = sum(report.rows.values())
    table.add_section()
    for phase, seconds in report.seconds.items():
        table.add_row(f"{phase} (s)", f"{seconds:.1f}")
    table.add_row("total (s)", f"{report.total_seconds:.1f}")
    table.add_row("rows/s while streaming", f"{total_rows / rows:,.0f}" if rows else "-")
    return table


def _mark(ok: bool) -> str:
    return "[green]yes[/green]" if ok else "[red]no[/red]"


def workload_table(result: BackendResult) -> Table:
    http, plain = result.http, result.plain
    table = Table(
        title=f"Mixed workload, {result.backend} ({len(http.latencies['open']) and 'HTTP'}"
        f" with {result.workers} worker(s) x {result.threads} threads)"
    )
    for column in ("operation", "HTTP p50 ms", "HTTP p99 ms", "SQL p50 ms", "SQL p99 ms"):
        table.add_column(column, justify="right" if column != "operation" else "left")
    for op in OPS:
        table.add_row(
            op,
            f"{pct(http.latencies[op], 50):.1f}",
            f"{pct(http.latencies[op], 99):.1f}",
            f"{pct(plain.latencies[op], 50):.1f}",
            f"{pct(plain.latencies[op], 99):.1f}",
        )
    table.add_section()
    table.add_row(
        "all",
        f"{pct(http.all(), 50):.1f}",
        f"{pct(http.all(), 99):.1f}",
        f"{pct(plain.all(), 50):.1f}",
        f"{pct(plain.all(), 99):.1f}",
    )
    table.add_row("ops", f"{http.ops:,}", "", f"{plain.ops:,}", "")
    table.add_row("ops/s", f"{http.rate:,.0f}", "", f"{plain.rate:,.0f}", "")
    ratio = http.rate / plain.rate if plain.rate else float("nan")
    table.add_row("HTTP / plain SQL", f"{ratio:.2f}", "", "", "")
    table.add_row("errors", str(len(http.errors)), "", str(len(plain.errors)), "")
    for part in ("app server", "database", "bench"):
        table.add_row(
            f"CPU ms/op: {part}",
            f"{http.cpu_ms_per_op(part):.2f}",
            "",
            f"{plain.cpu_ms_per_op(part):.2f}" if part != "app server" else "-",
            "",
        )
    if result.backend == "postgresql":
        table.add_row(
            f"target ≥ {TARGET_OPS:.0f} ops/s, p99 < {TARGET_MS:.0f} ms",
            _mark(http.rate >= TARGET_OPS and pct(http.all(), 99) < TARGET_MS),
            "",
            "",
            "",
        )
    return table


def read_table(result: BackendResult) -> Table:
    table = Table(
        title=f"List and detail over HTTP, {result.backend},"
        f" {result.load.rows.get('request', 0):,} requests /"
        f" {result.load.rows.get('event', 0):,} events"
    )
    for column in ("read", "as", "rows", "n", "p50 ms", "p95 ms", f"p95 < {TARGET_MS:.0f} ms"):
        table.add_column(column, justify="left" if column in ("read", "as") else "right")
    for r in result.reads:
        p95 = pct(r.samples, 95)
        table.add_row(
            r.name,
            r.viewer,
            "-" if r.name == "detail" else str(r.rows),
            str(len(r.samples)),
            f"{pct(r.samples, 50):.1f}",
            f"{p95:.1f}",
            _mark(p95 < TARGET_MS),
        )
    return table


def summary_table(results: list[BackendResult]) -> Table:
    table = Table(title="Desk benchmark summary")
    for column in (
        "db",
        "HTTP ops/s",
        "p50 ms",
        "p99 ms",
        "SQL ops/s",
        "ratio",
        "list p95",
        "detail p95",
        "load s",
    ):
        table.add_column(column, justify="left" if column == "db" else "right")
    for r in results:
        lists = [pct(x.samples, 95) for x in r.reads if x.name != "detail"]
        details = [pct(x.samples, 95) for x in r.reads if x.name == "detail"]
        table.add_row(
            r.backend,
            f"{r.http.rate:,.0f}",
            f"{pct(r.http.all(), 50):.1f}",
            f"{pct(r.http.all(), 99):.1f}",
            f"{r.plain.rate:,.0f}",
            f"{r.http.rate / r.plain.rate:.2f}" if r.plain.rate else "-",
            f"{max(lists):.1f}" if lists else "-",
            f"{max(details):.1f}" if details else "-",
            f"{r.load.total_seconds:.0f}",
        )
    return table


def markdown(results: list[BackendResult], opts: Options) -> str:
    """The figures as Markdown tables, for docs/benchmarks.md."""
    lines = [
        f"Run at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {opts.requests:,} requests,"
        f" {opts.events:,} events, {opts.clients} clients, {opts.seconds:.0f} s per workload.",
        "",
    ]
    for r in results:
        http, plain = r.http, r.plain
        lines += [
            f"### {r.backend}",
            "",
            "| load phase | seconds |",
            "|---|---:|",
            *(f"| {k} | {v:.1f} |" for k, v in r.load.seconds.items()),
            f"| total | {r.load.total_seconds:.1f} |",
            "",
            f"Mixed workload ({r.workers} worker(s) x {r.threads} threads each):",
            "",
            "| operation | HTTP p50 ms | HTTP p99 ms | plain SQL p50 ms | plain SQL p99 ms |",
            "|---|---:|---:|---:|---:|",
        ]
        for op in OPS:
            lines.append(
                f"| {op} | {pct(http.latencies[op], 50):.1f} | {pct(http.latencies[op], 99):.1f}"
                f" | {pct(plain.latencies[op], 50):.1f} | {pct(plain.latencies[op], 99):.1f} |"
            )
        ratio = http.rate / plain.rate if plain.rate else float("nan")
        lines += [
            f"| **all** | {pct(http.all(), 50):.1f} | {pct(http.all(), 99):.1f}"
            f" | {pct(plain.all(), 50):.1f} | {pct(plain.all(), 99):.1f} |",
            "",
            f"HTTP {http.rate:,.0f} ops/s ({http.ops:,} ops, {len(http.errors)} errors);"
            f" plain SQL {plain.rate:,.0f} ops/s; HTTP/plain = {ratio:.2f}.",
            "",
            "| CPU ms per op | HTTP | plain SQL |",
            "|---|---:|---:|",
            *(
                f"| {part} | {http.cpu_ms_per_op(part):.2f} | {plain.cpu_ms_per_op(part):.2f} |"
                for part in ("app server", "database", "bench")
            ),
            "",
            "| read | as | p50 ms | p95 ms |",
            "|---|---|---:|---:|",
            *(
                f"| {x.name} | {x.viewer} | {pct(x.samples, 50):.1f} | {pct(x.samples, 95):.1f} |"
                for x in r.reads
            ),
            "",
        ]
    return "\n".join(lines)


def run(console: Console, opts: Options) -> list[BackendResult]:
    results = [run_backend(backend, opts, console) for backend in opts.backends]
    console.print(summary_table(results))
    if opts.markdown is not None:
        opts.markdown.write_text(markdown(results, opts))
        console.print(f"figures written to {opts.markdown}")
    return results
