"""Fitted simulation benchmark: the time to fit the scenario from a desk with 1M requests.

Fitting is two parts, timed apart: reading the history (SQL aggregates per team, pair of teams
and weekday: a few hundred rows come back whatever the size), timed over the whole two years of
the bulk database's 1M requests; and the calibration (simulating the fitted company over the
fitted period a few times), timed on the last FIT_DAYS days, the window the what-if page and the
game fit on. The calibration grows with the requests in the window, not with the rows stored:
the whole two years would simulate about 12 million requests four times over.

The bulk databases are the Insight bench's (bench/bulk.py) with only the events every request
needs (opened, offered, accepted…), reused when they are there; loading 10M events as the
Insight bench does took longer than a session.
"""

from __future__ import annotations

import time
from datetime import timedelta

from rich.console import Console
from rich.table import Table

from bench import bulk, insight
from followthrough.db import Database
from followthrough.practice.fitted.fit import fit
from followthrough.practice.fitted.history import read_history

SINCE = bulk.ANCHOR - timedelta(days=bulk.HISTORY_DAYS)
UNTIL = bulk.ANCHOR
FIT_DAYS = 120
# bulk.generate's minimum: the events each request needs, no more.
EVENTS = 0


def run_backend(backend: str, requests: int, events: int, console: Console) -> tuple[float, ...]:
    url, loaded = insight.database_for(backend, requests, events, console)
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
