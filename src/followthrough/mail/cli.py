"""`followthrough mail`: send the outbox, check the mail settings (and mail-in's commands)."""

from __future__ import annotations

import typer

mail_app = typer.Typer(
    help="Mail: send the outbox, test the mail server settings, receive mail.",
    no_args_is_help=True,
)
