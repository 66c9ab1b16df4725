"""`followthrough fitted`: back-test the simulation fitted to the desk, and try a change on it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from followthrough.errors import InvalidInput

if TYPE_CHECKING:
    from followthrough.practice.fitted.backtest import Backtest

fitted_app = typer.Typer(
    help="A simulation of your own company, fitted from the desk's history.",
    no_args_is_help=True,
)

DATE_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M"]
DatabaseOption = Annotated[
    str | None,
    typer.Option(help="Overrides FOLLOWTHROUGH_DATABASE_URL.", show_default=False),
]


def _fail(message: str) -> typer.Exit:
    Console(stderr=True, soft_wrap=True).print(message, markup=False)
    return typer.Exit(2)


def _database_url(database_url: str | None) -> str:
    from followthrough.config import load_settings

    try:
        return load_settings(database_url=database_url).database_url
    except ValueError as error:
        raise _fail(f"settings: {error}") from None


def _utc(value: datetime | None, fallback: datetime) -> datetime:
    return fallback if value is None else value.replace(tzinfo=UTC)


def _hours(value: float) -> str:
    return f"{value:.1f}"


@fitted_app.command("backtest")
def backtest_command(
    cut_off: Annotated[
        datetime,
        typer.Option(help="Fit on the months before this day (UTC).", formats=DATE_FORMATS),
    ],
    since: Annotated[
        datetime | None,
        typer.Option(
            help="First day of history to fit on (default: 4 months before the cut-off).",
            formats=DATE_FORMATS,
        ),
    ] = None,
    until: Annotated[
        datetime | None,
        typer.Option(help="End of the held-out months (default: now).", formats=DATE_FORMATS),
    ] = None,
    replications: Annotated[
        int | None,
        typer.Option(
            min=2,
            help="Simulated runs of the held-out months (default: 24 on a small history, "
            "fewer on a larger one, as steady).",
        ),
    ] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Fit on the months before the cut-off, simulate the months after it, and show each team's
    mean hours to accept and to resolve beside what happened, with the margin of what happened
    (a mean of few requests, or of a few that waited days, could have come out elsewhere)."""
    from followthrough.db import Database
    from followthrough.practice.fitted.backtest import (
        TOLERANCE,
        Verdict,
        backtest,
        misses_by_chance,
    )
    from followthrough.programmes.effect import teams_joined

    end = _utc(until, datetime.now(UTC))
    cut = _utc(cut_off, end)
    start = _utc(since, cut - timedelta(days=122))
    if not start < cut < end:
        raise _fail("--cut-off: must fall after --since and before --until")
    database = Database(_database_url(database_url))
    try:
        with database.unit_of_work(readonly=True) as session:
            joined = teams_joined(session)
            result = backtest(session, start, cut, end, replications=replications, changes=joined)
    finally:
        database.dispose()
    table = Table(title=f"Held-out months from {cut:%Y-%m-%d}: what happened and the simulation")
    for column in (
        "Team",
        "Resolved",
        "Accept h",
        "Simulated",
        "Error",
        "Resolve h",
        "Simulated",
        "Error",
        f"Within {TOLERANCE:.0%}",
    ):
        table.add_column(
            column,
            justify="left" if column == "Team" else "right",
            no_wrap=column.startswith("Within"),
        )
    for team in result.teams:
        table.add_row(
            team.team,
            str(team.resolved),
            _hours(team.accept_hours),
            _hours(team.simulated_accept_hours),
            f"{team.accept_error:+.0%} {_margin(team.accept_margin)}",
            _hours(team.resolve_hours),
            _hours(team.simulated_resolve_hours),
            f"{team.resolve_error:+.0%} {_margin(team.resolve_margin)}",
            _VERDICTS[team.verdict],
        )
    console = Console()
    console.print(table)
    counts = {v: sum(1 for t in result.teams if t.verdict == v) for v in Verdict}
    console.print(
        f"{counts[Verdict.WITHIN]} of {len(result.teams)} teams within {TOLERANCE:.0%} on both; "
        f"{counts[Verdict.OUTSIDE]} outside it by more than the margin (±, 95%) the months' own "
        f"chance allows; {counts[Verdict.CANNOT_TELL]} outside it by less: the months cannot "
        f"tell {TOLERANCE:.0%}, more months or requests would.",
        markup=False,
    )
    console.print(
        f"Simulated: {result.runs} runs of the held-out months, {result.calibration_runs} of "
        "the fit's months in each calibration round.",
        markup=False,
    )
    console.print(
        f"Were the simulation exactly right, chance alone (the margins) would leave about "
        f"{misses_by_chance(result.teams):.1f} of these {len(result.teams)} teams not within "
        f"{TOLERANCE:.0%}.",
        markup=False,
    )
    for line in _change_lines(result, joined):
        console.print(line, markup=False)


def _change_lines(result: Backtest, joined: dict[int, datetime]) -> list[str]:
    """What the back-test knew of the buddy programme, a line per day teams joined: a team
    that joined in the fit's months has its acceptance fitted from then; one that joined too
    close to the cut-off, or after it, is fitted as it was before."""
    from followthrough.practice.fitted.history import AFTER_CHANGE

    days: dict[tuple[datetime, str], list[str]] = {}
    for team in result.fit.history.teams:
        at = joined.get(team.team_id)
        if at is None or not result.since < at < result.until:
            continue
        if team.accept_since is not None:
            known = "their acceptance is fitted from then on"
        elif at <= result.cut_off - AFTER_CHANGE:
            known = "nothing accepted since: fitted as they were"
        elif at < result.cut_off:
            known = (
                f"less than {AFTER_CHANGE.days} days before the cut-off, too few to fit on: "
                "they are fitted as they were before, which the held-out months need not resemble"
            )
        else:
            known = "in the held-out months, which the fit could not know"
        days.setdefault((at, known), []).append(team.name)
    return [
        f"Joined the buddy programme on {at:%d %b %Y} ({known}): {', '.join(names)}."
        for (at, known), names in sorted(days.items())
    ]


_VERDICTS = {"within": "yes", "cannot tell": "cannot tell", "outside": "no"}


def _margin(share: float) -> str:
    return "" if share == float("inf") else f"±{share:.0%}"


@fitted_app.command("what-if")
def what_if_command(
    team: Annotated[str | None, typer.Option(help="The team the change is for, by name.")] = None,
    extra_people: Annotated[
        int, typer.Option(help="People added to the team (negative: fewer).")
    ] = 0,
    accept_within: Annotated[
        float | None,
        typer.Option(help="The team's acceptance target: mean working hours to accept."),
    ] = None,
    bounces_kept: Annotated[
        float, typer.Option(help="Share of today's bounces left, for every team (0.5 halves them).")
    ] = 1.0,
    days: Annotated[int, typer.Option(min=7, help="Days of history to fit on, up to now.")] = 120,
    replications: Annotated[int, typer.Option(min=2, help="Simulated runs of each side.")] = 10,
    dask: Annotated[
        str | None, typer.Option(help="Run the replications on this Dask scheduler (address).")
    ] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Try a change on the fitted company: each team's hours now and with the change, with 95%
    confidence intervals."""
    from followthrough.db import Database
    from followthrough.practice.fitted.fit import fit
    from followthrough.practice.fitted.history import read_history
    from followthrough.practice.fitted.whatif import Change, what_if
    from followthrough.practice.sim.replications import dask_executor
    from followthrough.programmes.effect import teams_joined

    if (extra_people or accept_within is not None) and team is None:
        raise _fail("--team: name the team the change is for")
    end = datetime.now(UTC)
    database = Database(_database_url(database_url))
    try:
        with database.unit_of_work(readonly=True) as session:
            history = read_history(session, end - timedelta(days=days), end, teams_joined(session))
    finally:
        database.dispose()
    chosen = None
    if team is not None:
        chosen = next((t.team_id for t in history.teams if t.name.lower() == team.lower()), None)
        if chosen is None:
            raise _fail(f"--team: no team is called {team!r}")
    change = Change(
        extra_people={chosen: extra_people} if chosen is not None and extra_people else {},
        accept_within_hours={chosen: accept_within}
        if chosen is not None and accept_within is not None
        else {},
        bounces_kept=bounces_kept,
    )
    try:
        fitted = fit(history)
        executor = dask_executor(dask) if dask else None
        result = what_if(fitted, change, replications=replications, executor=executor)
    except InvalidInput as error:
        raise _fail(f"--{str(error).split(':')[0].replace('_', '-')}: {error}") from None
    table = Table(title=f"What if — {replications} runs each, 95% intervals")
    for column in ("Team", "Accept h now", "With the change", "Resolve h now", "With the change"):
        table.add_column(column, justify="right" if column != "Team" else "left")
    for outcome in result.teams:
        table.add_row(
            outcome.team,
            _range(outcome.accept_now.mean, outcome.accept_now.half_width),
            _range(outcome.accept_changed.mean, outcome.accept_changed.half_width),
            _range(outcome.resolve_now.mean, outcome.resolve_now.half_width),
            _range(outcome.resolve_changed.mean, outcome.resolve_changed.half_width),
        )
    Console().print(table)


def _range(mean: float, half_width: float) -> str:
    return f"{mean:.1f} ± {half_width:.1f}"


@fitted_app.command("scenario")
def scenario_command(
    days: Annotated[int, typer.Option(min=7, help="Days of history to fit on, up to now.")] = 120,
    database_url: DatabaseOption = None,
) -> None:
    """Write the fitted company as a scenario file (TOML) on standard output, to read, change
    and run like the shipped ones: followthrough sim run mine.toml."""
    import sys

    from followthrough.db import Database
    from followthrough.practice.fitted.fit import fit
    from followthrough.practice.fitted.history import read_history
    from followthrough.practice.fitted.toml_file import scenario_toml
    from followthrough.programmes.effect import teams_joined

    end = datetime.now(UTC)
    database = Database(_database_url(database_url))
    try:
        with database.unit_of_work(readonly=True) as session:
            history = read_history(session, end - timedelta(days=days), end, teams_joined(session))
    finally:
        database.dispose()
    if not history.teams or not any(t.resolved for t in history.teams):
        raise _fail(f"--days: no team has resolved requests in the last {days} days")
    sys.stdout.write(scenario_toml(fit(history).scenario))
