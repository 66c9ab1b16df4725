"""`followthrough webhooks`: send the webhook deliveries and chat posts that are due, once; list
the chat channels and switch on one the desk switched off (as an admin, audited)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console

from followthrough.command_line import AdminHandle, DatabaseUrl, change_as_admin, settings_or_exit

webhooks_app = typer.Typer(
    help="Webhooks and chat: send what is due now (the sweeper also does, on every sweep).",
    no_args_is_help=True,
)
console = Console()


@webhooks_app.command("send")
def send(database_url: DatabaseUrl = None) -> None:
    """Send every webhook delivery and chat post due now; a failed one waits for its retry."""
    # Imported when the command runs: `followthrough --help` stays quick.
    from followthrough.chat.delivery import post_due
    from followthrough.db import Database
    from followthrough.webhooks.delivery import deliver_due

    settings = settings_or_exit(database_url=database_url)
    database = Database(settings.database_url)
    try:
        now = datetime.now(UTC)
        sent = deliver_due(database, settings, now)
        posted = post_due(database, settings, now)
    finally:
        database.engine.dispose()
    console.print(f"webhook deliveries tried: {sent}; chat posts tried: {posted}")


@webhooks_app.command("chat-channels")
def chat_channels(by: AdminHandle, database_url: DatabaseUrl = None) -> None:
    """Every chat channel that is on or that the desk switched off, with why and its last
    error (what Admin, Chat channels shows)."""
    from followthrough.chat.service import channel_states

    states = change_as_admin(
        settings_or_exit(database_url=database_url), by, channel_states, field="by"
    )
    for state in states:  # a line each, whole, for people and for scripts alike
        on = "on" if state.enabled else f"off: {state.disabled_reason}"
        last = f"; last error: {state.last_errors[0][1]}" if state.last_errors else ""
        console.print(f"{state.id}\t{state.name}\t{on}{last}", soft_wrap=True, highlight=False)


@webhooks_app.command("chat-on")
def chat_on(
    channel_id: Annotated[int, typer.Argument(help="The channel's number (chat-channels).")],
    by: AdminHandle,
    database_url: DatabaseUrl = None,
) -> None:
    """Switch on a chat channel the desk switched off after its posts kept failing (fix its
    address first); audited as the admin's change, like the admin page's."""
    from followthrough.chat.service import channel_name, switch_on

    name = change_as_admin(
        settings_or_exit(database_url=database_url),
        by,
        lambda session, admin: channel_name(
            session, switch_on(session, admin, channel_id, datetime.now(UTC))
        ),
        field="channel_id",
    )
    console.print(f"{name} is on again: its posts go from the next sweep")
