"""`followthrough insight`: the Insight reports on the command line.

`insight_app` is the one Typer app for every Insight command; other Insight modules (the
calibrated timescales, routing suggestions) add their own commands to it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from followthrough.config import load_settings
from followthrough.db import Database, normalise_url, utcnow
from followthrough.errors import DomainError
from followthrough.org.importer import ImportRejected

insight_app = typer.Typer(
    help="Insight: scorecards, the ripple to customers, the silo map, relationship health.",
    no_args_is_help=True,
)
console = Console()
# Messages and errors are never broken at the terminal's width: one problem per line, whole,
# for whoever greps or parses them (a pipe or CI has no width and would get 80 columns).
err = Console(stderr=True, soft_wrap=True)

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url", help="Overrides FOLLOWTHROUGH_DATABASE_URL.", show_default=False
    ),
]


def _database(database_url: str | None) -> Database:
    """The configured database; a bad setting or URL is a plain error (exit 2), not a traceback."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        url = load_settings(database_url=database_url).database_url
        make_url(normalise_url(url)).get_dialect()
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise _fail(f"settings: {exc}") from None
    return Database(url)


# The commands below import the timescale's model when they run, not when `followthrough`
# starts: scikit-learn takes a second to load, and every other command would pay for it.


@insight_app.command("eta-fit")
def eta_fit(database_url: DatabaseUrl = None) -> None:
    """Fit the calibrated timescale model on the history now (the sweeper does this daily).

    The history's year is counted back from its own last event, so an imported history counts
    in full; when it is too short to learn from, this says so and why.
    """
    from followthrough.timescale.calibrated import refresh_eta_model

    database = _database(database_url)
    try:
        result = refresh_eta_model(database, utcnow(), force=True)
    finally:
        database.dispose()
    if result.model is not None:
        console.print(f"[green]calibrated timescale model stored:[/green] {result.message}")
    else:
        err.print(f"warning: no calibrated model: {result.message}", markup=False)


@insight_app.command("eta-eval")
def eta_eval(
    database_url: DatabaseUrl = None,
    log: Annotated[
        Path | None,
        typer.Option("--log", help="Evaluate on this XES or CSV event log instead.", exists=True),
    ] = None,
    train_share: Annotated[
        float, typer.Option(min=0.1, max=0.9, help="Share of requests (oldest) to train on.")
    ] = 0.5,
    gamma: Annotated[float, typer.Option(min=0.0, help="ACI step size.")] = 0.005,
    refit_days: Annotated[
        float, typer.Option(min=0.0, help="Refit every N days while walking forward (0: never).")
    ] = 0.0,
) -> None:
    """Time-ordered evaluation of the 8-in-10 bound: coverage and width per team, beside the
    history curves' bound on the same requests, and the rule by which requests were counted."""
    from followthrough.insight.eta import BASELINE, MODEL, walk_forward
    from followthrough.timescale.calibrated import history_cases

    with (
        _history_source(database_url, log) as database,
        database.unit_of_work(readonly=True) as session,
    ):
        loaded = history_cases(session, utcnow())
    if loaded is None:
        raise _fail("the history is empty")
    end, cases = loaded
    try:
        result = walk_forward(
            cases,
            end,
            train_share=train_share,
            gamma=gamma,
            refit_every=timedelta(days=refit_days) if refit_days else None,
        )
    except ValueError as exc:
        raise _fail(f"too little history to evaluate: {exc}") from None
    title = (
        f"8-in-10 bound: trained on {result.train_count} requests opened before "
        f"{result.trained_until:%Y-%m-%d}, walked forward to {end:%Y-%m-%d}"
    )
    for method, teams, overall in (
        (MODEL, result.teams, result.overall),
        (BASELINE, result.baseline_teams, result.baseline_overall),
    ):
        table = Table(
            "team",
            "counted",
            "coverage",
            "mean width (h)",
            "median width (h)",
            "open within bound",
            "no bound",
            title=f"{title} — {method}",
        )
        for row in (*teams, overall):
            table.add_row(
                row.team,
                str(row.counted),
                f"{row.coverage:.1%}" if row.counted else "—",
                f"{row.mean_width:.1f}" if row.counted else "—",
                f"{row.median_width:.1f}" if row.counted else "—",
                str(row.still_open),
                str(row.no_bound),
                end_section=row is teams[-1] if teams else False,
            )
        console.print(table)
    console.print(result.rule(), markup=False, highlight=False)


def _fail(message: str) -> typer.Exit:
    err.print(f"error: {message}", markup=False, highlight=False)
    return typer.Exit(code=2)


@contextmanager
def _history_source(database_url: str | None, log: Path | None) -> Iterator[Database]:
    """The configured database, or a temporary one holding the imported log.

    A log that cannot be imported is an error naming the file (and the line or case where the
    importer knows it), exit 2; nothing is evaluated.
    """
    if log is None:
        database = _database(database_url)
        try:
            yield database
        finally:
            database.dispose()
        return
    from followthrough.history.importer import import_history
    from followthrough.migrate import upgrade

    with tempfile.TemporaryDirectory(prefix="followthrough-eval-") as folder:
        url = f"sqlite:///{Path(folder) / 'log.sqlite3'}"
        upgrade(url)
        database = Database(url)
        try:
            try:
                with database.unit_of_work() as session:
                    import_history(session, log, utcnow())
            except ImportRejected as exc:
                for problem in exc.problems[:10]:
                    err.print(f"error: {problem}", markup=False, highlight=False)
                more = len(exc.problems) - 10
                if more > 0:
                    err.print(f"error: … and {more} more problems in {log}", markup=False)
                raise typer.Exit(code=2) from None
            except (DomainError, ValueError, OSError) as exc:
                # The importer names the line or case in its message where it knows it.
                raise _fail(f"{log}: {exc}") from None
            yield database
        finally:
            database.dispose()


@insight_app.command("routing-eval")
def routing_eval(
    database_url: DatabaseUrl = None,
    log: Annotated[
        Path | None,
        typer.Option("--log", help="Evaluate on this XES or CSV event log instead.", exists=True),
    ] = None,
    test_share: Annotated[
        float, typer.Option(min=0.05, max=0.9, help="Share of resolved requests (newest) held out.")
    ] = 0.2,
) -> None:
    """Top-1 and top-3 accuracy of routing suggestions on a time-ordered held-out split, beside
    always choosing the busiest team; and whether suggestions are on."""
    from followthrough.insight.routing_service import routing_accuracy

    with (
        _history_source(database_url, log) as database,
        database.unit_of_work(readonly=True) as session,
    ):
        evaluation = routing_accuracy(session, test_share)
    table = Table(
        "method",
        "held out",
        "top-1",
        "top-3",
        title=f"Routing suggestions (learnt from the oldest {evaluation.learnt_from})",
    )
    for result in evaluation.results:
        table.add_row(
            result.method, str(result.evaluated), f"{result.top1:.1%}", f"{result.top3:.1%}"
        )
    console.print(table)
    console.print(evaluation.reason)
