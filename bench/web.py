"""Web page benchmark: server-render latency (p50/p95) of the main pages at a million requests,
on SQLite and PostgreSQL.

The database is the search benchmark's (bench/search_bench.py: the bench organisation, N
requests with participants, offers, updates and customer cases, and their search documents);
with `--keep` both benchmarks use the same kept databases, so the second one does not load
again. The pages (Home, the team queue, my requests, a request, the lead board and search
results) are fetched over real HTTP from the real app (one uvicorn worker, sweeper out of
process) with a signed-in person's session cookie, one at a time, so the figure is the render
time of a page, not queueing. The target is p95 < 100 ms.
"""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from bench import bulk, search_bench
from bench.desk import PG_ADMIN_URL, pct, running_server
from followthrough.auth.service import start_web_session
from followthrough.db import Database
from followthrough.org.models import Person
from followthrough.requests.models import Request

TARGET_MS = 100.0


@dataclass(frozen=True)
class PageTiming:
    backend: str
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


def search_paths(corpus: search_bench.Corpus, team: int, count: int) -> list[str]:
    """The results page for the search bench's mix of queries, as typed in the header's box."""
    rng = random.Random(5)
    corpus.team = team
    kinds = [k for k, w in search_bench.MIX for _ in range(w)]
    return [
        "/search?" + urlencode({"q": corpus.sample(kinds[rng.randrange(len(kinds))], rng)})
        for _ in range(count)
    ]


def measure(
    url: str, backend: str, org: bulk.Org, corpus: search_bench.Corpus, samples: int
) -> list[PageTiming]:
    team = org.team_ids[3]
    member = org.members[team][1]
    lead = org.lead_of[team]
    requests = _request_ids(url, team, samples)
    cookies = {"member": _session_cookie(url, member), "lead": _session_cookie(url, lead)}
    pages = [
        ("home", "member", ["/"]),
        ("home", "lead", ["/"]),
        ("team queue", "member", [f"/team?team_id={team}"]),
        ("my requests", "member", ["/requests?show=all"]),
        ("request page", "member", [f"/requests/{rid}" for rid in requests]),
        ("lead board", "lead", [f"/board?team_id={team}"]),
        ("search results", "member", search_paths(corpus, team, samples)),
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
            timings.append(PageTiming(backend, name, viewer, values))
    return timings


def run(
    console: Console,
    requests: int = 1_000_000,
    samples: int = 60,
    backends: tuple[str, ...] = ("sqlite", "postgresql"),
    pg_admin_url: str = PG_ADMIN_URL,
    keep: bool = False,
) -> list[PageTiming]:
    """Load (or, with `keep`, reuse) the search bench's database of `requests` requests on each
    backend, then time the main pages."""
    timings: list[PageTiming] = []
    for backend in backends:
        with search_bench.bench_database(backend, pg_admin_url, keep, requests) as (url, kept):
            org = bulk.build_org()[0]
            if kept is not None:
                corpus, _seconds = kept
                console.print(f"web pages: {backend} database kept at {url}")
            else:
                console.print(f"web pages: loading {requests:,} requests into {backend}")
                if backend == "sqlite":
                    org, corpus, seconds = search_bench.load_sqlite(
                        url.removeprefix("sqlite:///"), requests, console
                    )
                else:
                    org, corpus, seconds = search_bench.load_postgres(url, requests, console)
                if keep:
                    search_bench.save_corpus(backend, requests, seconds, corpus)
            measured = measure(url, backend, org, corpus, samples)
            console.print(pages_table(measured, requests))
            timings += measured
    if len(backends) > 1:
        console.print(pages_table(timings, requests))
    return timings


def pages_table(timings: list[PageTiming], requests: int) -> Table:
    load = os.getloadavg()
    table = Table(
        title=f"Server render of the main pages ({requests:,} requests;"
        f" load average {load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f})"
    )
    for column in ("database", "page", "viewer", "p50 ms", "p95 ms", f"p95 < {TARGET_MS:.0f} ms"):
        table.add_column(
            column, justify="left" if column in ("database", "page", "viewer") else "right"
        )
    for timing in timings:
        ok = timing.p95 < TARGET_MS
        table.add_row(
            timing.backend,
            timing.page,
            timing.viewer,
            f"{timing.p50:.1f}",
            f"{timing.p95:.1f}",
            "[green]yes" if ok else "[red]no",
        )
    return table


if __name__ == "__main__":
    run(Console())
