"""Web page benchmark: server-render latency (p50/p95) of the main pages on a bulk-loaded database.

The pages are fetched over real HTTP from the real app (one uvicorn worker, sweeper out of
process) with a signed-in person's session cookie, one at a time, so the figure is the render
time of a page, not queueing. The target is p95 < 100 ms.
"""

from __future__ import annotations

import random
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from bench import bulk
from bench.desk import pct, running_server
from followthrough.auth.service import start_web_session
from followthrough.db import Database
from followthrough.migrate import upgrade
from followthrough.org.models import Person
from followthrough.requests.models import Request

TARGET_MS = 100.0


@dataclass(frozen=True)
class PageTiming:
    page: str
    viewer: str
    samples: list[float]

    @property
    def p50(self) -> float:
        return pct(self.samples, 50)

    @property
    def p95(self) -> float:
        return pct(self.samples, 95)


def _session_cookie(url: str, person_id: int) -> str:
    database = Database(url)
    try:
        with database.unit_of_work() as session:
            person = session.get(Person, person_id)
            assert person is not None
            token, _row = start_web_session(session, person, datetime.now(UTC), 1)
        return token
    finally:
        database.dispose()


def _request_ids(url: str, team_id: int, count: int) -> list[int]:
    database = Database(url)
    try:
        with database.unit_of_work(readonly=True) as session:
            ids = list(
                session.scalars(
                    select(Request.id)
                    .where(Request.team_id == team_id)
                    .order_by(Request.id.desc())
                    .limit(count * 4)
                )
            )
        return random.Random(7).sample(ids, min(count, len(ids)))
    finally:
        database.dispose()


def _time(client: httpx.Client, path: str) -> float:
    started = time.perf_counter()
    response = client.get(path)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"GET {path} answered {response.status_code}")
    return elapsed


def measure(url: str, org: bulk.Org, samples: int) -> list[PageTiming]:
    team = org.team_ids[3]
    member = org.members[team][1]
    lead = org.lead_of[team]
    requests = _request_ids(url, team, samples)
    cookies = {"member": _session_cookie(url, member), "lead": _session_cookie(url, lead)}
    pages = [
        ("home", "member", ["/"]),
        ("team queue", "member", [f"/team?team_id={team}"]),
        ("my requests", "member", ["/requests?show=all"]),
        ("request page", "member", [f"/requests/{rid}" for rid in requests]),
        ("lead board", "lead", [f"/board?team_id={team}"]),
    ]
    timings = []
    with running_server(url, 1) as (base, _pid):
        for name, viewer, paths in pages:
            with httpx.Client(
                base_url=base, cookies={"ft_session": cookies[viewer]}, timeout=30
            ) as client:
                for path in paths[:3]:
                    _time(client, path)  # warm up
                values = [_time(client, paths[i % len(paths)]) for i in range(samples)]
            timings.append(PageTiming(name, viewer, values))
    return timings


def run(
    console: Console, requests: int = 100_000, events: int = 0, samples: int = 60
) -> list[PageTiming]:
    """Bulk-load a SQLite database with `requests` requests, then time the main pages."""
    folder = Path(tempfile.mkdtemp(prefix="ft_bench_web_"))
    url = f"sqlite:///{folder / 'web.sqlite3'}"
    try:
        upgrade(url)
        console.print(f"web pages: loading {requests:,} requests into SQLite")
        org, _report = bulk.load(url, requests, events, console=console)
        timings = measure(url, org, samples)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    table = Table(title=f"Server render of the main pages ({requests:,} requests, SQLite)")
    for column in ("page", "viewer", "p50 ms", "p95 ms", f"p95 < {TARGET_MS:.0f} ms"):
        table.add_column(column, justify="left" if column in ("page", "viewer") else "right")
    for timing in timings:
        ok = timing.p95 < TARGET_MS
        table.add_row(
            timing.page,
            timing.viewer,
            f"{timing.p50:.1f}",
            f"{timing.p95:.1f}",
            "[green]yes" if ok else "[red]no",
        )
    console.print(table)
    return timings


if __name__ == "__main__":
    run(Console())
