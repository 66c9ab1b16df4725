"""`followthrough insight`: the Insight reports on the command line.

`insight_app` is the one Typer app for every Insight command; other Insight modules (the
calibrated timescales, routing suggestions) add their own commands to it.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

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
