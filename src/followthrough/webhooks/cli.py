"""`followthrough webhooks`: send the webhook deliveries and chat posts that are due, once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console

from followthrough.config import load_settings

webhooks_app = typer.Typer(
    help="Webhooks and chat: send what is due now (the sweeper also does, on every sweep).",
    no_args_is_help=True,
)
console = Console()
err = Console(stderr=True, soft_wrap=True)

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url", help="Overrides FOLLOWTHROUGH_DATABASE_URL.", show_default=False
    ),
]


@webhooks_app.command("send")
def send(database_url: DatabaseUrl = None) -> None:
    """Send every webhook delivery and chat post due now; a failed one waits for its retry."""
    # Imported when the command runs: `followthrough --help` stays quick.
    from followthrough.chat.delivery import post_due
    from followthrough.db import Database
    from followthrough.webhooks.delivery import deliver_due

    try:
        settings = load_settings(database_url=database_url)
    except ValueError as exc:
        err.print(f"[red]error:[/red] {exc}", markup=True, highlight=False)
        raise typer.Exit(code=2) from None
    database = Database(settings.database_url)
    try:
        now = datetime.now(UTC)
        sent = deliver_due(database, settings, now)
        posted = post_due(database, settings, now)
    finally:
        database.engine.dispose()
    console.print(f"webhook deliveries tried: {sent}; chat posts tried: {posted}")
