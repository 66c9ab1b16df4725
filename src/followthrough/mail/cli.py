"""`followthrough mail`: send the outbox, test the mail server settings (and mail-in's commands)."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, make_msgid
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from followthrough.command_line import DatabaseUrl, fail, settings_or_exit
from followthrough.config import Settings
from followthrough.mail import inbound_cli, smtp

# Each command imports the modules it runs (the database, the sender) when it runs, so that
# `followthrough --help` and every other command start faster; nothing hides a cycle.
mail_app = typer.Typer(
    help="Mail: send the outbox, test the mail server settings, receive mail.",
    no_args_is_help=True,
)
console = Console()


def _variable(setting: str) -> str:
    return f"FOLLOWTHROUGH_{setting.upper()}"


def _server_error(exc: smtp.MailServerSettingsError) -> typer.Exit:
    return fail(f"{exc.setting} ({_variable(exc.setting)}): {exc.detail}")


def _needs_a_server(settings: Settings) -> None:
    from followthrough.mail.compose import envelope_sender

    if not settings.smtp_host:
        raise fail(f"smtp_host ({_variable('smtp_host')}): no mail server is set")
    try:
        envelope_sender(settings)
    except ValueError as exc:
        raise fail(f"mail_from ({_variable('mail_from')}): {exc}") from None


@mail_app.command("send")
def send_command(
    database_url: DatabaseUrl = None,
    at: Annotated[
        str | None, typer.Option("--now", help="Send as if it were this time (ISO 8601).")
    ] = None,
) -> None:
    """Send the outbox once: every message whose time has come, then stop."""
    from followthrough.db import Database
    from followthrough.mail.compose import MissingSecret
    from followthrough.mail.outbound import outbox_counts, send_outbox

    settings = settings_or_exit(database_url=database_url)
    _needs_a_server(settings)
    if settings.secret_key is None:
        raise fail(f"secret_key ({_variable('secret_key')}): {MissingSecret()}")
    now = datetime.now(UTC)
    if at is not None:
        try:
            now = datetime.fromisoformat(at)
        except ValueError:
            raise fail(f"--now: {at!r} is not an ISO 8601 time") from None
        if now.tzinfo is None:
            raise fail(f"--now: {at!r} needs a UTC offset, e.g. {at}+00:00")
    database = Database(settings.database_url)
    try:
        report = send_outbox(database, settings, now)
        with database.unit_of_work(readonly=True) as session:
            left = outbox_counts(session)
    finally:
        database.dispose()
    table = Table("mail", "messages")
    for name, count in sorted(report.counts.items()):
        table.add_row(name, str(count))
    for state, count in sorted(left.items()):
        table.add_row(f"outbox now {state}", str(count))
    console.print(table)
    if report.server_error is not None:
        raise _server_error(report.server_error)


@mail_app.command("send-failed-again")
def send_failed_again_command(database_url: DatabaseUrl = None) -> None:
    """Put every message that failed back to be sent (after fixing the cause); audited."""
    from followthrough.db import Database
    from followthrough.mail.admin import send_failed_again

    settings = settings_or_exit(database_url=database_url)
    database = Database(settings.database_url)
    try:
        with database.unit_of_work() as session:
            count = send_failed_again(session, None, datetime.now(UTC))
    finally:
        database.dispose()
    console.print(f"{count} failed message{'s' if count != 1 else ''} put back to be sent")


@mail_app.command("test")
def check_command(
    to: Annotated[str, typer.Option("--to", help="Send the test message to this address.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Check the mail settings by sending one message; exit 2 naming the setting if it fails."""
    from followthrough.mail.compose import envelope_sender

    settings = settings_or_exit(database_url=database_url)
    _needs_a_server(settings)
    if "@" not in to:
        raise fail(f"--to: {to!r} is not a mail address")
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = "Followthrough: mail settings work"
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid("test", domain=settings.mail_domain)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(
        "This message was sent by 'followthrough mail test' to check the mail server settings.\n"
        f"Server: {settings.smtp_host}:{settings.smtp_port} ({settings.smtp_security}).\n"
    )
    try:
        client = smtp.connect(settings)
    except smtp.MailServerSettingsError as exc:
        raise _server_error(exc) from None
    try:
        smtp.send(client, message.as_bytes(policy=SMTP_POLICY), envelope_sender(settings), to)
    except smtp.SendFailure as exc:
        raise fail(
            f"the server took the connection but refused the message ({exc}); "
            f"check mail_from ({_variable('mail_from')}) and --to"
        ) from None
    finally:
        smtp.close(client)
    console.print(f"[green]sent[/green] a test message to {to} through {settings.smtp_host}")


# Mail in: `serve` (the receiver) and `poll` (the mailbox).
inbound_cli.register(mail_app)
