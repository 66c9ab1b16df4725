"""Insight benchmark: the time of each report on the bulk history (1M requests, 10M events by
default), on SQLite and PostgreSQL, against a straightforward pandas computation of the same
figures in the same run (read the period's events into a DataFrame, then group).

The bulk databases are kept under bench/out (SQLite) and as ft_bench_insight_<n> (PostgreSQL)
and reused by later runs. Sizes: INSIGHT_BENCH_REQUESTS, INSIGHT_BENCH_EVENTS (environment).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg
from rich.console import Console
from rich.table import Table
from sqlalchemy import select, text

from bench import bulk
from followthrough.db import Database
from followthrough.insight import health, recognition, scorecard, silo
from followthrough.migrate import upgrade
from followthrough.org.models import Person, Team
from followthrough.org.service import actor_for

PG_ADMIN_URL = os.environ.get(
    "INSIGHT_BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
OUT = Path(__file__).parent / "out"
TARGET_SECONDS = 2.0
NOW = bulk.ANCHOR
PERIOD = timedelta(days=30)


@dataclass
class Timing:
    report: str
    seconds: float
    pandas_seconds: float | None = None
    agrees: bool | None = None


@dataclass
class BackendRun:
    backend: str
    load_seconds: float | None
    requests: int
    events: int
    timings: list[Timing] = field(default_factory=list)


def _sizes() -> tuple[int, int]:
    return (
        int(os.environ.get("INSIGHT_BENCH_REQUESTS", "1000000")),
        int(os.environ.get("INSIGHT_BENCH_EVENTS", "10000000")),
    )


def database_for(
    backend: str, requests: int, events: int, console: Console
) -> tuple[str, float | None]:
    """The bulk database for these sizes: reused when it is there, else created and loaded."""
    if backend == "sqlite":
        OUT.mkdir(exist_ok=True)
        path = OUT / f"insight-{requests}-{events}.sqlite3"
        url = f"sqlite:///{path}"
        if path.exists() and _count(url) == requests:
            return url, None
        path.unlink(missing_ok=True)
        upgrade(url)
    else:
        name = f"ft_bench_insight_{requests}_{events}"
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
        if exists and _count(url) == requests:
            return url, None
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        upgrade(url)
    started = time.perf_counter()
    bulk.load(url, requests, events, console=console)
    if backend == "postgresql":
        with Database(url).engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    return url, time.perf_counter() - started


def _count(url: str) -> int:
    database = Database(url)
    try:
        with database.engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM request")).scalar_one())
    except Exception:
        return -1
    finally:
        database.dispose()


def _timed(call: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = call()
    return time.perf_counter() - started, value


# ---- the pandas baseline -----------------------------------------------------------------------


def _events(
    database: Database, kinds: tuple[str, ...], start: datetime, end: datetime
) -> pd.DataFrame:
    """The period's events of some kinds, payload parsed, as a DataFrame."""
    marks = ", ".join(f"'{k}'" for k in kinds)  # fixed names from this module
    query = (
        "SELECT id, kind, at, request_id, actor_id, team_id, other_team_id, person_id, payload "
        f"FROM event WHERE kind IN ({marks}) AND at >= :start AND at < :end"
    )
    with database.engine.connect() as conn:
        # SQLite stores naive UTC text; compare as text in the same format.
        start_value: Any = start if not database.is_sqlite else bulk.sqlite_time(start)
        end_value: Any = end if not database.is_sqlite else bulk.sqlite_time(end)
        frame = pd.read_sql(text(query), conn, params={"start": start_value, "end": end_value})
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    frame["payload"] = [
        p if isinstance(p, dict) else json.loads(p or "{}") for p in frame["payload"]
    ]
    return frame


def pandas_team_scorecards(database: Database, start: datetime, end: datetime) -> dict[int, int]:
    """Requests handled, accept time, promises, reminders and resolve time per team."""
    frame = _events(
        database,
        (
            "resolved",
            "accepted",
            "declined",
            "promise_kept",
            "promise_broken",
            "update_reminded",
            "opened",
        ),
        start - timedelta(days=365),
        end,
    )
    in_period = frame[frame["at"] >= start]
    handled = in_period[in_period["kind"] == "resolved"].groupby("team_id").size()
    accepted = in_period[in_period["kind"] == "accepted"].copy()
    accepted["waited"] = [p.get("waited_seconds", 0.0) for p in accepted["payload"]]
    accepted.groupby("team_id")["waited"].mean()
    in_period[in_period["kind"].isin(["promise_kept", "promise_broken"])].groupby(
        ["team_id", "kind"]
    ).size()
    opened = frame[frame["kind"] == "opened"][["request_id", "at"]].rename(
        columns={"at": "opened_at"}
    )
    resolved = in_period[in_period["kind"] == "resolved"].merge(opened, on="request_id")
    (resolved["at"] - resolved["opened_at"]).dt.total_seconds().groupby(resolved["team_id"]).mean()
    return {int(k): int(v) for k, v in handled.items()}


def pandas_silo_edges(
    database: Database, start: datetime, end: datetime
) -> dict[tuple[int, int], int]:
    frame = _events(database, ("opened", "offered"), start, end)
    with database.engine.connect() as conn:
        home = pd.read_sql(
            text("SELECT person_id, min(team_id) AS home FROM membership GROUP BY person_id"), conn
        )
    opened = frame[frame["kind"] == "opened"].merge(home, left_on="actor_id", right_on="person_id")
    requests = opened.groupby(["home", "team_id"]).size()
    offered = frame[(frame["kind"] == "offered") & frame["other_team_id"].notna()]
    handoffs = offered.groupby(["team_id", "other_team_id"]).size()
    edges: dict[tuple[int, int], int] = {}
    for (a, b), n in list(requests.items()) + list(handoffs.items()):
        edges[(int(a), int(b))] = edges.get((int(a), int(b)), 0) + int(n)
    return edges


def pandas_health(database: Database, start: datetime, end: datetime) -> int:
    frame = _events(
        database, ("accepted", "declined", "promise_kept", "promise_broken", "rated"), start, end
    )
    frame["day"] = pd.to_datetime(frame["at"]).dt.date
    frame["positive"] = frame["kind"].isin(["promise_kept"]) | (
        (frame["kind"] == "accepted")
        & pd.Series(
            [p.get("waited_seconds", 1e9) <= 4 * 3600 for p in frame["payload"]], index=frame.index
        )
    )
    return int(frame.groupby(["team_id", "day", "positive"]).size().shape[0])


# ---- the run -----------------------------------------------------------------------------------


def run_backend(backend: str, console: Console) -> BackendRun:
    requests, events = _sizes()
    console.rule(f"[bold]Insight benchmark: {backend}, {requests:,} requests / {events:,} events")
    url, load_seconds = database_for(backend, requests, events, console)
    database = Database(url)
    result = BackendRun(backend, load_seconds, requests, events)
    start, end = NOW - PERIOD, NOW
    try:
        with database.unit_of_work(readonly=True) as session:
            admin = session.query(Person).order_by(Person.id).first()
            assert admin is not None
            lead_id = session.scalar(
                select(Team.lead_id).where(Team.lead_id.is_not(None)).order_by(Team.id).limit(1)
            )
            lead = session.get(Person, lead_id) if lead_id else admin
            assert lead is not None
            viewer = actor_for(session, lead)
            team_id = min(viewer.lead_of) if viewer.lead_of else 1

            seconds, cards = _timed(
                lambda: scorecard.scorecards(session, viewer, "team", start, end)
            )
            p_seconds, handled = _timed(lambda: pandas_team_scorecards(database, start, end))
            ours = {
                c.subject_id: c.figures.requests_handled for c in cards if c.figures is not None
            }
            result.timings.append(
                Timing(
                    "scorecards, every team, 30 days (+ previous period)",
                    seconds,
                    p_seconds,
                    all(handled.get(k, 0) == v for k, v in ours.items()),
                )
            )
            seconds, _ = _timed(
                lambda: scorecard.scorecard(
                    session, viewer, "team", team_id, NOW - timedelta(days=90), end, unit="week"
                )
            )
            result.timings.append(Timing("one team's scorecard, 90 days, weekly trend", seconds))
            seconds, edges = _timed(lambda: silo.team_edges(session, start, end))
            p_seconds, p_edges = _timed(lambda: pandas_silo_edges(database, start, end))
            result.timings.append(
                Timing(
                    "silo map edges, 30 days",
                    seconds,
                    p_seconds,
                    {(e.source, e.target): e.weight for e in edges} == p_edges,
                )
            )
            seconds, _ = _timed(lambda: silo.silo_map(session, start, end))
            result.timings.append(Timing("silo map, all figures, 30 days", seconds))
            seconds, _ = _timed(lambda: health.relationship_health(session, NOW))
            lookback = (
                NOW
                - health.TREND_STEP * health.TREND_POINTS
                - health.HALF_LIFE * health.LOOKBACK_HALF_LIVES
            )
            p_seconds, _ = _timed(lambda: pandas_health(database, lookback, NOW))
            result.timings.append(
                Timing(
                    "relationship health, 8-week trend (8 months of evidence)", seconds, p_seconds
                )
            )
            # A lead sees suggestions for the people they lead; timed here for everyone at once.
            everyone = set(session.scalars(select(Person.id)))
            seconds, _ = _timed(lambda: recognition.person_records(session, start, end, everyone))
            result.timings.append(Timing("recognition suggestions, 30 days, everyone", seconds))
            seconds, _ = _timed(
                lambda: recognition.digest(session, recognition.week_of(NOW - timedelta(days=7)))
            )
            result.timings.append(Timing("weekly digest", seconds))
    finally:
        database.dispose()
    table = Table("report", "seconds", f"< {TARGET_SECONDS:g} s", "pandas seconds", "same figures")
    for t in result.timings:
        table.add_row(
            t.report,
            f"{t.seconds:.2f}",
            "yes" if t.seconds < TARGET_SECONDS else "[red]no[/red]",
            "" if t.pandas_seconds is None else f"{t.pandas_seconds:.2f}",
            "" if t.agrees is None else ("yes" if t.agrees else "[red]no[/red]"),
        )
    console.print(table)
    if load_seconds is not None:
        console.print(f"loaded in {load_seconds:.0f} s")
    return result


def run(console: Console) -> list[BackendRun]:
    """Time each Insight report on SQLite and PostgreSQL (PostgreSQL skipped if unreachable)."""
    runs = [run_backend("sqlite", console)]
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            pass
    except psycopg.Error:
        console.print(f"[yellow]PostgreSQL is not reachable at {PG_ADMIN_URL}; skipped")
        return runs
    runs.append(run_backend("postgresql", console))
    return runs


if __name__ == "__main__":
    run(Console())
