"""Fitted simulation benchmark: the time to fit the scenario from a desk with 1M requests.

Fitting is two parts, timed apart: reading the history (SQL aggregates per team, pair of teams
and weekday, a few hundred rows, and each team's requests' instants for the shapes of its
times, about 5,000 a team, whatever the size), timed over the whole two years of
the bulk database's 1M requests; and the calibration (simulating the fitted company over the
fitted period a few times), timed on the last FIT_DAYS days, the window the what-if page and the
game fit on. The calibration grows with the requests in the window, not with the rows stored:
the whole two years would simulate about 12 million requests four times over.

The bulk databases are bench/bulk.py's rows with only the events every request needs (opened,
offered, accepted…), in databases of this bench's own, reused when they are there. They are
loaded with the search triggers off (each bulk row would otherwise index itself, one row at a
time: the Insight bench's load ran for hours): the fit reads no search table.
"""

from __future__ import annotations

import sqlite3
import time
from datetime import timedelta

import psycopg
from rich.console import Console
from rich.table import Table

from bench import bulk, insight
from followthrough.db import Database
from followthrough.migrate import upgrade
from followthrough.practice.fitted.fit import fit
from followthrough.practice.fitted.history import read_history

SINCE = bulk.ANCHOR - timedelta(days=bulk.HISTORY_DAYS)
UNTIL = bulk.ANCHOR
FIT_DAYS = 120
# bulk.generate's minimum: the events each request needs, no more.
EVENTS = 0


def _load_without_search(url: str, requests: int, events: int, console: Console) -> None:
    """bulk.load with the triggers on the bulk tables off (SQLite has no switch: they are
    dropped and made again afterwards); the search tables stay empty."""
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        with sqlite3.connect(path) as conn:
            names = ",".join("?" * len(bulk.BULK_TABLES))
            triggers = conn.execute(
                f"SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ({names})",
                bulk.BULK_TABLES,
            ).fetchall()
            for name, _ in triggers:
                conn.execute(f'DROP TRIGGER "{name}"')
        conn.close()
        bulk.load(url, requests, events, console=console)
        with sqlite3.connect(path) as conn:
            for _, sql in triggers:
                conn.execute(sql)
        conn.close()
        return
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        for table in bulk.BULK_TABLES:
            conn.execute(f'ALTER TABLE "{table}" DISABLE TRIGGER USER')
    bulk.load(url, requests, events, console=console)
    with psycopg.connect(dsn, autocommit=True) as conn:
        for table in bulk.BULK_TABLES:
            conn.execute(f'ALTER TABLE "{table}" ENABLE TRIGGER USER')


def database_for(
    backend: str, requests: int, events: int, console: Console
) -> tuple[str, float | None]:
    """This bench's bulk database: reused when it holds `requests` requests, else loaded."""
    if backend == "sqlite":
        insight.OUT.mkdir(exist_ok=True)
        path = insight.OUT / f"fitted-{requests}-{events}.sqlite3"
        url = f"sqlite:///{path}"
        if path.exists() and insight._count(url) == requests:
            return url, None
        path.unlink(missing_ok=True)
    else:
        name = f"ft_bench_fitted_{requests}_{events}"
        url = insight.PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
        with psycopg.connect(insight.PG_ADMIN_URL, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
        if exists and insight._count(url) == requests:
            return url, None
        with psycopg.connect(insight.PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    upgrade(url)
    started = time.perf_counter()
    _load_without_search(url, requests, events, console)
    return url, time.perf_counter() - started


def run_backend(backend: str, requests: int, events: int, console: Console) -> tuple[float, ...]:
    url, loaded = database_for(backend, requests, events, console)
    if loaded is not None:
        console.print(f"{backend}: bulk database loaded in {loaded:.0f} s")
    database = Database(url)
    try:
        started_cpu, started = time.process_time(), time.perf_counter()
        with database.unit_of_work(readonly=True) as session:
            everything = read_history(session, SINCE, UNTIL)
        read_wall, read_cpu = time.perf_counter() - started, time.process_time() - started_cpu
        with database.unit_of_work(readonly=True) as session:
            recent = read_history(session, UNTIL - timedelta(days=FIT_DAYS), UNTIL)
        started_cpu, started = time.process_time(), time.perf_counter()
        fitted = fit(recent)
        fit_wall, fit_cpu = time.perf_counter() - started, time.process_time() - started_cpu
        console.print(
            f"{backend}: {sum(t.received for t in everything.teams):,} requests read; "
            f"{sum(t.received for t in recent.teams):,} in the last {FIT_DAYS} days fitted to "
            f"{len(fitted.scenario.departments)} teams and "
            f"{len(fitted.scenario.journeys)} pairs of teams"
        )
        return read_wall, read_cpu, fit_wall, fit_cpu
    finally:
        database.dispose()


def run(
    console: Console,
    requests: int = 1_000_000,
    events: int = EVENTS,
    backends: tuple[str, ...] = ("sqlite", "postgresql"),
) -> None:
    table = Table(title=f"Fitting the simulation to a desk with {requests:,} requests")
    for column in (
        "Backend",
        "History read (s)",
        "CPU (s)",
        f"Calibration, last {FIT_DAYS} days (s)",
        "CPU (s)",
    ):
        table.add_column(column, justify="right")
    for backend in backends:
        figures = run_backend(backend, requests, events, console)
        table.add_row(backend, *(f"{f:.2f}" for f in figures))
    console.print(table)
