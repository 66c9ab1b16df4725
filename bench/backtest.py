"""Back-test benchmark: the simulation fitted to the demo company, on a history large enough for
its held-out months to tell 10%.

On the default demo (20,000 requests) a team's mean hours to accept over two held-out months
could come out 10-40% elsewhere by chance alone, so for most teams the months "cannot tell" 10%
(docs/fitted-simulation.md). This builds the same company with `REQUESTS` requests over the
same six months (the buddy programme and its effect included, as `make demo` has them), fits
it on the months before `CUT_OFF` (two weeks after the programme's last wave, so every team
that joined is fitted as it accepts since) and compares each team with the held-out months:
error, 95% margin and verdict, with the seconds to build and to back-test. A million requests
take about half an hour to build and two minutes to back-test; `--keep` keeps the build.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table

from followthrough.db import Database
from followthrough.demo.generator import build_demo
from followthrough.demo.history import END
from followthrough.practice.fitted.backtest import (
    TOLERANCE,
    Backtest,
    Verdict,
    backtest,
    misses_by_chance,
)
from followthrough.programmes.effect import teams_joined

OUT = Path(__file__).parent / "out"
REQUESTS = 1_000_000
SINCE = datetime(2026, 6, 1, tzinfo=UTC)
CUT_OFF = datetime(2026, 10, 1, tzinfo=UTC)
UNTIL = END + timedelta(hours=1)
SEED = 2026


def measure(url: str, requests: int, *, build: bool = True) -> tuple[Backtest, float, float]:
    """Build the demo at `url` (unless `build` is false: it is there) and back-test it: the
    result, seconds to build (0 when not built), to back-test."""
    started = time.perf_counter()
    if build:
        build_demo(url, requests=requests, seed=SEED, console=Console(quiet=True))
    built = time.perf_counter() - started
    database = Database(url)
    try:
        with database.unit_of_work(readonly=True) as session:
            started = time.perf_counter()
            result = backtest(session, SINCE, CUT_OFF, UNTIL, changes=teams_joined(session))
            tested = time.perf_counter() - started
    finally:
        database.dispose()
    return result, built, tested


def run(
    console: Console, requests: int = REQUESTS, folder: Path = OUT, *, keep: bool = False
) -> Backtest:
    """`keep`: keep the demo built and back-test the one kept before, if its build finished
    (a million requests take about an hour to build)."""
    folder.mkdir(exist_ok=True)
    path = folder / f"backtest-{requests}.sqlite3"
    finished = path.with_suffix(".built")
    reuse = keep and path.exists() and finished.exists()
    if not reuse:
        finished.unlink(missing_ok=True)
        path.unlink(missing_ok=True)
    console.print(f"[bold]Back-test of the fitted demo company, {requests:,} requests")
    result, built, tested = measure(f"sqlite:///{path}", requests, build=not reuse)
    how_built = "built before" if reuse else f"built in {built:,.0f} s"
    table = Table(
        title=f"Fit {SINCE:%d %b}-{CUT_OFF:%d %b}, held out to {END:%d %b %Y} "
        f"({how_built}, back-tested in {tested:,.0f} s: {result.runs} runs held "
        f"out, {result.calibration_runs} per calibration round)"
    )
    for column in ("Team", "Accept error", "Resolve error", f"Within {TOLERANCE:.0%}"):
        table.add_column(column, justify="left" if column == "Team" else "right")
    for team in result.teams:
        table.add_row(
            team.team,
            f"{team.accept_error:+.1%} ±{team.accept_margin:.1%}",
            f"{team.resolve_error:+.1%} ±{team.resolve_margin:.1%}",
            team.verdict.value,
        )
    console.print(table)
    counts = {v: sum(1 for t in result.teams if t.verdict == v) for v in Verdict}
    console.print(
        f"{counts[Verdict.WITHIN]} of {len(result.teams)} teams within {TOLERANCE:.0%} on both; "
        f"{counts[Verdict.CANNOT_TELL]} the months cannot tell; "
        f"{counts[Verdict.OUTSIDE]} outside by more than their margins; an exactly right fit "
        f"would leave about {misses_by_chance(result.teams):.1f} not within by chance."
    )
    if keep:
        finished.touch()
    else:
        path.unlink(missing_ok=True)
    return result
