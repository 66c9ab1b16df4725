"""Live role-play fan-out benchmark: how long from a participant's turn until every screen of the
session shows it.

Thirty people in ten trios (participant, character's player, observer) and the facilitator each
hold the session page's event stream open against the real server (uvicorn in a subprocess, over
real HTTP). A participant answers (a choice, then a reply in their own words, scored on the
rubric); each screen, as the page's script does, fetches the board when the stream says
'change'. Measured per screen and turn: from just before the turn's POST to the screen's board
having arrived. SQLite with one worker; PostgreSQL with two workers, which shows the version
polling reaching streams held by the other process. Target: p95 at most 1 s.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
from rich.console import Console
from rich.table import Table

from bench.desk import PG_ADMIN_URL, pct, running_server
from followthrough.auth.service import start_web_session
from followthrough.db import Database
from followthrough.migrate import upgrade
from followthrough.org import service as org
from followthrough.practice.roleplay import live_service
from followthrough.practice.roleplay.scoring import shipped_model

TARGET_MS = 1000.0
GROUPS = 10
PG_DB = "ft_bench_live"
REPLY = "I'm sorry, that sounds stressful. What does Mr Patel need from us today?"


@dataclass(frozen=True)
class Screen:
    cookie: str
    csrf: str
    person_id: int


@dataclass(frozen=True)
class FanOut:
    backend: str
    workers: int
    screens: int
    turns: int
    samples: list[float]  # seconds from a turn's POST to one screen's board arriving
    missed: int

    @property
    def p50(self) -> float:
        return pct(self.samples, 50)

    @property
    def p95(self) -> float:
        return pct(self.samples, 95)


@contextmanager
def _database(backend: str, pg_admin_url: str) -> Iterator[str]:
    if backend == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="ft_bench_live_"))
        url = f"sqlite:///{folder / 'live.sqlite3'}"
        upgrade(url)
        try:
            yield url
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{PG_DB}"')
    url = pg_admin_url.rsplit("/", 1)[0] + f"/{PG_DB}"
    try:
        upgrade(url)
        yield url
    finally:
        with psycopg.connect(pg_admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')


def _set_up(url: str, groups: int) -> tuple[int, Screen, list[list[Screen]]]:
    """A session with `groups` trios, joined through the service; a signed-in screen each."""
    database = Database(url)
    model = shipped_model()
    now = datetime.now(UTC)
    try:
        with database.unit_of_work() as session:

            def screen(handle: str) -> Screen:
                person = org.add_person(session, handle, handle.title(), f"{handle}@example.com")
                token, row = start_web_session(session, person, now, 1)
                return Screen(token, row.csrf_token, person.id)

            facilitator = screen("facilitator")
            live = live_service.open_session(
                session, facilitator.person_id, "missed-call-back", now, random.Random(3)
            )
            trios = []
            for g in range(1, groups + 1):
                trio = []
                for role in ("participant", "character", "observer"):
                    member = screen(f"{role}{g}")
                    live_service.join(
                        session, member.person_id, live.code, str(g), role, model, now
                    )
                    trio.append(member)
                trios.append(trio)
            return live.id, facilitator, trios
    finally:
        database.dispose()


async def _watch(
    base: str, path: str, screen: Screen, arrivals: asyncio.Queue[float], ready: asyncio.Event
) -> None:
    cookies = {"ft_session": screen.cookie}
    async with (
        httpx.AsyncClient(base_url=base, cookies=cookies, timeout=60) as client,
        client.stream("GET", f"{path}/live") as stream,
    ):
        async for line in stream.aiter_lines():
            if line.startswith("event: hello"):
                ready.set()
            elif line.startswith("event: change"):
                board = await client.get(f"{path}/board")
                board.raise_for_status()
                arrivals.put_nowait(time.perf_counter())


async def _fan_out(
    base: str, live_id: int, facilitator: Screen, trios: list[list[Screen]]
) -> tuple[list[float], int, int]:
    path = f"/practice/role-plays/live/{live_id}"
    screens = [facilitator] + [s for trio in trios for s in trio]
    queues: list[asyncio.Queue[float]] = [asyncio.Queue() for _ in screens]
    readies = [asyncio.Event() for _ in screens]
    watchers = [
        asyncio.create_task(_watch(base, path, s, q, r))
        for s, q, r in zip(screens, queues, readies, strict=True)
    ]
    samples: list[float] = []
    missed = turns = 0
    try:
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 60)
        # Streams opened without a version announce the current one first: let that pass.
        await asyncio.sleep(1.0)
        for queue in queues:
            while not queue.empty():
                queue.get_nowait()
        for step in range(2):
            for trio in trios:
                participant = trio[0]
                form = {"choice": "0", "turn": "0"} if step == 0 else {"text": REPLY, "turn": "1"}
                async with httpx.AsyncClient(
                    base_url=base, cookies={"ft_session": participant.cookie}, timeout=60
                ) as client:
                    started = time.perf_counter()
                    answer = await client.post(
                        f"{path}/turns", data={**form, "csrf_token": participant.csrf}
                    )
                if answer.status_code != 303:
                    raise RuntimeError(f"the turn answered {answer.status_code}")
                turns += 1
                for queue in queues:
                    try:
                        arrived = await asyncio.wait_for(queue.get(), 10)
                    except TimeoutError:
                        missed += 1
                        continue
                    samples.append(arrived - started)
                await asyncio.sleep(0.3)
                for queue in queues:  # a second change for the same turn is not a new update
                    while not queue.empty():
                        queue.get_nowait()
    finally:
        for task in watchers:
            task.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)
    return samples, missed, turns


def measure(backend: str, groups: int = GROUPS, pg_admin_url: str = PG_ADMIN_URL) -> FanOut:
    workers = 1 if backend == "sqlite" else 2
    with _database(backend, pg_admin_url) as url:
        live_id, facilitator, trios = _set_up(url, groups)
        # Enough threads for every open stream's poll and the boards they fetch.
        with running_server(url, workers, threads=8) as (base, _pid):
            samples, missed, turns = asyncio.run(_fan_out(base, live_id, facilitator, trios))
    return FanOut(backend, workers, 1 + 3 * groups, turns, samples, missed)


def run(
    console: Console,
    groups: int = GROUPS,
    backends: tuple[str, ...] = ("sqlite", "postgresql"),
    pg_admin_url: str = PG_ADMIN_URL,
) -> list[FanOut]:
    results = [measure(backend, groups, pg_admin_url) for backend in backends]
    table = Table(
        title=f"Live role play: a turn reaching every screen (target p95 ≤ {TARGET_MS:.0f} ms)"
    )
    for name in (
        "database",
        "server workers",
        "screens",
        "turns",
        "updates",
        "missed",
        "p50 ms",
        "p95 ms",
        "max ms",
    ):
        table.add_column(name)
    for r in results:
        table.add_row(
            r.backend,
            str(r.workers),
            str(r.screens),
            str(r.turns),
            str(len(r.samples)),
            str(r.missed),
            f"{r.p50:.0f}",
            f"{r.p95:.0f}",
            f"{max(r.samples) * 1000:.0f}",
        )
    console.print(table)
    return results
