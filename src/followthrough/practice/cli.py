"""`followthrough sim`: run a scenario's replications, or check a scenario file."""

from __future__ import annotations

import math
from contextlib import ExitStack
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from followthrough.errors import InvalidInput
from followthrough.practice.sim.replications import (
    Summary,
    dask_executor,
    process_executor,
    run_replications,
)
from followthrough.practice.sim.scenario import InvalidScenario, Scenario, load_scenario
from followthrough.practice.sim.stats import Estimate

sim_app = typer.Typer(
    help="The business simulation: run scenarios and check scenario files.",
    no_args_is_help=True,
)

ScenarioArgument = Annotated[
    str,
    typer.Argument(help="A scenario file, or a shipped scenario: insurance, professional_services"),
]

# Figures shown in the summary, in the order a reader follows the ripple: inside, outside,
# people, money.
HEADLINES = (
    ("Internal service", "mean_accept_hours", "Hours to accept a handoff", 1),
    ("Internal service", "bounce_rate", "Handoffs bounced", "%"),
    ("Internal service", "ola_attainment", "Requests within target (OLA)", "%"),
    ("Internal service", "reworks", "Rework requests", 0),
    ("Promises", "updates_kept", "Updates given on time", "%"),
    ("Customers", "mean_case_days", "Days to close a case", 2),
    ("Customers", "promises_kept", "Cases closed by the promised date", "%"),
    ("Customers", "mean_satisfaction", "Satisfaction (0-1)", 3),
    ("Customers", "complaints", "Complaints", 0),
    ("Customers", "errors_reaching_customers", "Errors reaching customers", 0),
    ("Customers", "churn_rate", "Customers lost", "%"),
    ("People", "leavers", "Leavers", 1),
    ("People", "turnover_rate", "Turnover per year", "%"),
    ("Money", "revenue", "Revenue", 0),
    ("Money", "cost", "Cost", 0),
    ("Money", "profit", "Profit", 0),
)

DEPARTMENT_COLUMNS = (
    ("utilisation", "Utilisation", "%"),
    ("mean_queue_hours", "Queue hours", 1),
    ("errors_made", "Errors", 0),
    ("missed_updates", "Missed updates", 0),
    ("complaints", "Complaints", 0),
    ("leavers", "Leavers", 1),
)


def _scenario_or_exit(name: str, console: Console) -> Scenario:
    try:
        return load_scenario(name)
    except InvalidScenario as error:
        for line in str(error).splitlines():
            console.print(line, markup=False, highlight=False)
        raise typer.Exit(2) from error
    except InvalidInput as error:
        console.print(error.detail, markup=False)
        raise typer.Exit(2) from error


@sim_app.command()
def validate(scenario: ScenarioArgument) -> None:
    """Check a scenario file; print OK or every problem with its line and field."""
    console = Console()
    loaded = _scenario_or_exit(scenario, console)
    console.print(
        f"OK: {loaded.name} ({len(loaded.departments)} departments, "
        f"{len(loaded.services)} services, {len(loaded.journeys)} journeys)",
        markup=False,
    )


@sim_app.command()
def run(
    scenario: ScenarioArgument,
    replications: Annotated[int, typer.Option(min=1, help="Independent replications.")] = 20,
    seed: Annotated[int, typer.Option(help="Seed; the same seed gives the same results.")] = 0,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    days: Annotated[
        float | None, typer.Option(min=1, help="Simulated days (default: the scenario's).")
    ] = None,
    dask: Annotated[
        str | None,
        typer.Option(help="Run on a Dask cluster at this address ('local' starts one)."),
    ] = None,
) -> None:
    """Run replications and print each figure's mean with its 95% confidence interval."""
    console = Console()
    loaded = _scenario_or_exit(scenario, console)
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
    with ExitStack() as stack:
        executor = None
        if dask is not None:
            executor = dask_executor(None if dask == "local" else dask)
            stack.callback(executor.shutdown)
        elif workers > 1:
            executor = stack.enter_context(process_executor(workers))
        stack.enter_context(progress)
        task = progress.add_task(f"Simulating {loaded.name}", total=replications)
        summary = run_replications(
            loaded,
            replications,
            seed,
            days=days,
            executor=executor,
            on_done=lambda count: progress.update(task, completed=count),
        )
    console.print(summary_table(summary, loaded))
    console.print(department_table(summary, loaded))


def _shown(value: float, unit: str | int) -> str:
    if unit == "%":
        return f"{100 * value:.1f}%"
    return f"{value:,.{unit}f}"


# One replication gives no spread to build an interval from (its half-width is infinite).
NO_INTERVAL = "needs 2 or more replications"


def _interval(figure: Estimate, unit: str | int) -> str:
    if not math.isfinite(figure.half_width):
        return NO_INTERVAL
    return f"{_shown(figure.low, unit)} to {_shown(figure.high, unit)}"


def _mean_and_spread(figure: Estimate, unit: str | int) -> str:
    if not math.isfinite(figure.half_width):
        return _shown(figure.mean, unit)
    return f"{_shown(figure.mean, unit)} ± {_shown(figure.half_width, unit)}"


def summary_table(summary: Summary, scenario: Scenario) -> Table:
    """The headline figures with means and confidence intervals."""
    runs, days = len(summary.runs), summary.runs[0].days
    table = Table(
        title=f"{scenario.name}: {runs} replications of {days:g} days, seed {summary.seed}"
    )
    for column in ("Area", "Figure", "Mean", "95% interval"):
        table.add_column(column, justify="right" if column in ("Mean", "95% interval") else "left")
    for area, key, label, unit in HEADLINES:
        figure = summary.estimates[key]
        money = f" ({scenario.currency})" if area == "Money" else ""
        table.add_row(area, label + money, _shown(figure.mean, unit), _interval(figure, unit))
    return table


def department_table(summary: Summary, scenario: Scenario) -> Table:
    """Per-department means (the interval half-width after ±)."""
    spread = " ± 95% half-width" if len(summary.runs) > 1 else ""
    table = Table(title=f"Departments (mean{spread})")
    table.add_column("Department")
    for _, label, _unit in DEPARTMENT_COLUMNS:
        table.add_column(label, justify="right")
    for department in scenario.departments:
        cells = []
        for key, _label, unit in DEPARTMENT_COLUMNS:
            figure = summary.estimates[f"departments.{department.id}.{key}"]
            cells.append(_mean_and_spread(figure, unit))
        table.add_row(department.name, *cells)
    return table
