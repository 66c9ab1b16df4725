"""History import benchmark: events per second importing a help-desk log on SQLite and PostgreSQL.

The log is generated here, written as a CSV in the style of a large IT department's incident log
(status in `lifecycle:transition`: "Accepted/In Progress", "Queued/Awaiting Assignment", waits,
"Completed/Resolved" then "Completed/Closed"), with 300 groups in 10 departments, 2,000 people,
one row in twenty without a real resource, and the rows of about 2,000 open cases interleaved,
so the file is not grouped by case. Each database is created empty and migrated; the figure is
log rows read per second of the whole import (reading, checking, organisation, replay, writing,
commit). `python -m bench --only import [--events N] [--backend sqlite|postgresql|all]`.
"""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from rich.console import Console
from rich.table import Table

from followthrough.db import Database
from followthrough.history.importer import import_history_file
from followthrough.history.log_mapping import load_mapping
from followthrough.migrate import upgrade

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_IMPORT_DB = "ft_bench_import"
TARGET_EVENTS_PER_SECOND = 20_000
HEADER = "case_id,activity,lifecycle:transition,timestamp,resource,group,impact\n"


@dataclass(frozen=True)
class Result:
    backend: str
    events: int
    requests: int
    written: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.events / self.seconds


def _case_rows(
    rng: random.Random, case: str, start: datetime, groups: list[str], people: list[str]
) -> Iterator[str]:
    """One incident's rows, in time order."""
    at = start
    group = rng.choice(groups)
    impact = rng.choice(("Low", "Medium", "High"))

    def row(activity: str, status: str, who: str) -> str:
        return f"{case},{activity},{status},{at.isoformat()},{who},{group},{impact}\n"

    def someone() -> str:
        return rng.choice(people) if rng.random() > 0.05 else "-"

    visited = [group]
    for hop in range(rng.choice((1, 1, 1, 2, 2, 3, 4))):
        if hop:
            previous = group
            group = visited[-2] if len(visited) > 1 and rng.random() < 0.3 else rng.choice(groups)
            if group == previous:
                group = groups[(groups.index(group) + 1) % len(groups)]
            visited.append(group)
        yield row("Queued", "Awaiting Assignment", someone())
        at += timedelta(minutes=rng.randrange(1, 900))
        worker = someone()
        yield row("Accepted", "In Progress", worker)
        for _ in range(rng.choice((0, 0, 1, 2))):
            at += timedelta(minutes=rng.randrange(1, 300))
            yield row("Accepted", rng.choice(("Wait - User", "Wait - Vendor", "Wait")), worker)
            at += timedelta(minutes=rng.randrange(1, 2000))
            yield row("Accepted", "In Progress", worker)
        at += timedelta(minutes=rng.randrange(1, 600))
    yield row("Completed", "Resolved", worker)
    at += timedelta(hours=rng.randrange(1, 120))
    yield row("Completed", "Closed", someone())


def write_log(path: Path, events: int, seed: int = 2013) -> int:
    """Write a log of about `events` rows (whole cases); returns the number of rows."""
    rng = random.Random(seed)
    groups = [f"D{g % 10} Group {g:03d}" for g in range(300)]
    people = [f"Person {p:04d}" for p in range(2000)]
    start = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
    active: list[Iterator[str]] = []
    written = cases = 0
    with path.open("w", encoding="utf-8") as out:
        out.write(HEADER)
        while written < events or active:
            while written < events and len(active) < 2000:
                cases += 1
                start += timedelta(minutes=rng.randrange(0, 20))
                active.append(_case_rows(rng, f"IM{cases:07d}", start, groups, people))
            index = rng.randrange(len(active))
            line = next(active[index], None)
            if line is None:
                active[index] = active[-1]
                active.pop()
                continue
            out.write(line)
            written += 1
    return written


def _pg_url(admin_url: str) -> str:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{PG_IMPORT_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{PG_IMPORT_DB}"')
    return (
        "postgresql+psycopg://"
        + admin_url.split("://", 1)[1].rsplit("/", 1)[0]
        + (f"/{PG_IMPORT_DB}")
    )


def _drop_pg(admin_url: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{PG_IMPORT_DB}" WITH (FORCE)')


def import_once(url: str, log: Path, backend: str, events: int) -> Result:
    upgrade(url)
    database = Database(url)
    mapping = load_mapping(None, department_pattern=r"^(D\d+)")
    try:
        started = time.perf_counter()
        summary = import_history_file(database, log, datetime.now(UTC), mapping=mapping)
        seconds = time.perf_counter() - started
    finally:
        database.dispose()
    return Result(backend, events, summary.requests, summary.events, seconds)


def run(
    console: Console,
    *,
    events: int = 1_000_000,
    backends: tuple[str, ...] = ("sqlite", "postgresql"),
    pg_admin_url: str = PG_ADMIN_URL,
) -> list[Result]:
    results = []
    with tempfile.TemporaryDirectory(prefix="ft-import-bench-") as folder:
        log = Path(folder) / "incidents.csv"
        started = time.perf_counter()
        rows = write_log(log, events)
        console.print(
            f"[dim]import: generated {rows:,} rows ({log.stat().st_size / 1e6:.0f} MB) "
            f"in {time.perf_counter() - started:.1f} s"
        )
        for backend in backends:
            if backend == "sqlite":
                url = f"sqlite:///{Path(folder) / 'import.sqlite3'}"
                results.append(import_once(url, log, backend, rows))
            else:
                try:
                    results.append(import_once(_pg_url(pg_admin_url), log, backend, rows))
                finally:
                    _drop_pg(pg_admin_url)
    table = Table(
        "database",
        "log rows",
        "requests",
        "events written",
        "seconds",
        "rows/s",
        title=f"History import (target ≥ {TARGET_EVENTS_PER_SECOND:,} rows/s)",
    )
    for r in results:
        table.add_row(
            r.backend,
            f"{r.events:,}",
            f"{r.requests:,}",
            f"{r.written:,}",
            f"{r.seconds:.1f}",
            f"{r.per_second:,.0f}",
        )
    console.print(table)
    return results


if __name__ == "__main__":
    import sys

    run(Console(), events=int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
