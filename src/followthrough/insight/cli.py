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

from followthrough.db import Database, utcnow

insight_app = typer.Typer(
    help="Insight: scorecards, the ripple to customers, the silo map, relationship health.",
    no_args_is_help=True,
)
console = Console()
err = Console(stderr=True)

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url", help="Overrides FOLLOWTHROUGH_DATABASE_URL.", show_default=False
    ),
]


@insight_app.command("eta-fit")
def eta_fit(database_url: DatabaseUrl = None) -> None:
    """Fit the calibrated timescale model on the history now (the sweeper does this daily)."""
    from followthrough.cli import _settings
    from followthrough.insight.eta_service import MIN_CALIBRATED_HISTORY, refresh_eta_model

    database = Database(_settings(database_url).database_url)
    try:
        if refresh_eta_model(database, utcnow(), force=True):
            console.print("[green]calibrated timescale model fitted and stored[/green]")
        else:
            console.print(
                f"fewer than {MIN_CALIBRATED_HISTORY} resolved requests in the last year: "
                "timescales stay with the history curves"
            )
    finally:
        database.dispose()


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
    """Time-ordered evaluation of the 8-in-10 bound: coverage and width per team."""
    from followthrough.insight.eta import history_baseline, walk_forward
    from followthrough.insight.eta_service import history_cases

    with (
        _history_source(database_url, log) as database,
        database.unit_of_work(readonly=True) as session,
    ):
        loaded = history_cases(session)
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
        raise _fail(str(exc)) from None
    baseline = history_baseline(cases, end, train_share=train_share)
    table = Table(
        "team",
        "evaluated",
        "coverage",
        "mean width (h)",
        "median width (h)",
        "not yet known",
        title=f"8-in-10 bound: trained on {result.train_count} requests opened before "
        f"{result.trained_until:%Y-%m-%d}, walked forward to {end:%Y-%m-%d}",
    )
    for row in (*result.teams, result.overall, baseline):
        table.add_row(
            row.team,
            str(row.evaluated),
            f"{row.coverage:.1%}",
            f"{row.mean_width:.1f}",
            f"{row.median_width:.1f}",
            str(row.not_yet_known) if row is not baseline else "",
            end_section=row is result.teams[-1] if result.teams else False,
        )
    console.print(table)


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(code=2)


@contextmanager
def _history_source(database_url: str | None, log: Path | None) -> Iterator[Database]:
    """The configured database, or a temporary one holding the imported log."""
    from followthrough.cli import _settings

    if log is None:
        database = Database(_settings(database_url).database_url)
        try:
            yield database
        finally:
            database.dispose()
        return
    from followthrough.history.importer import import_history
    from followthrough.migrate import upgrade
    from followthrough.org.importer import ImportRejected

    with tempfile.TemporaryDirectory(prefix="followthrough-eval-") as folder:
        url = f"sqlite:///{Path(folder) / 'log.sqlite3'}"
        upgrade(url)
        database = Database(url)
        try:
            with database.unit_of_work() as session:
                import_history(session, log, utcnow())
            yield database
        except ImportRejected as exc:
            for problem in exc.problems[:10]:
                err.print(f"error: {problem}")
            raise typer.Exit(code=2) from None
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
    """Top-1 and top-3 accuracy of routing suggestions on a time-ordered held-out split."""
    from followthrough.insight.routing_service import routing_accuracy

    with (
        _history_source(database_url, log) as database,
        database.unit_of_work(readonly=True) as session,
    ):
        results = routing_accuracy(session, test_share)
    table = Table("method", "held out", "top-1", "top-3", title="Routing suggestions")
    for result in results:
        table.add_row(
            result.method, str(result.evaluated), f"{result.top1:.1%}", f"{result.top3:.1%}"
        )
    console.print(table)
