"""Fitted simulation benchmark: the time to fit the scenario from a desk with 1M requests.

Fitting is two parts, timed apart: reading the history (SQL aggregates over the whole period,
per team, pair of teams and weekday: a few hundred rows come back whatever the size) and the
calibration (simulating the fitted company over the same period a few times; it grows with the
arrival rate, not with the rows stored). The bulk databases are the Insight bench's (bench/bulk.py),
reused when they are there.
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

SINCE = bulk.ANCHOR - timedelta(days=3650)
UNTIL = bulk.ANCHOR + timedelta(days=1)


def run_backend(backend: str, requests: int, events: int, console: Console) -> tuple[float, ...]:
    url, _ = insight.database_for(backend, requests, events, console)
    database = Database(url)
    try:
        started_cpu, started = time.process_time(), time.perf_counter()
        with database.unit_of_work(readonly=True) as session:
            history = read_history(session, SINCE, UNTIL)
        read_wall, read_cpu = time.perf_counter() - started, time.process_time() - started_cpu
        started_cpu, started = time.process_time(), time.perf_counter()
        fitted = fit(history)
        fit_wall, fit_cpu = time.perf_counter() - started, time.process_time() - started_cpu
        counted = sum(t.received for t in history.teams)
        console.print(
            f"{backend}: {counted:,} requests read; {len(fitted.scenario.departments)} teams, "
            f"{len(fitted.scenario.journeys)} pairs of teams fitted"
        )
        return read_wall, read_cpu, fit_wall, fit_cpu
    finally:
        database.dispose()


def run(
    console: Console,
    requests: int = 1_000_000,
    events: int = 10_000_000,
    backends: tuple[str, ...] = ("sqlite", "postgresql"),
) -> None:
    table = Table(title=f"Fitting the simulation to a desk with {requests:,} requests")
    for column in ("Backend", "History read (s)", "CPU (s)", "Calibration (s)", "CPU (s)"):
        table.add_column(column, justify="right")
    for backend in backends:
        figures = run_backend(backend, requests, events, console)
        table.add_row(backend, *(f"{f:.2f}" for f in figures))
    console.print(table)
