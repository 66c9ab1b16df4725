"""`followthrough mail serve` and `followthrough mail poll`: the two ways mail comes in.

Both take each mail in its own transaction and then send any polite refusal it owes (through
the outgoing mail server, when one is set), with no transaction open while talking to a server.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from email.message import EmailMessage
from types import FrameType
from typing import Annotated

import typer
from imap_tools.errors import MailboxLoginError
from rich.console import Console

from followthrough.attachments.storage import store_from_settings
from followthrough.command_line import (
    AdminHandle,
    DatabaseUrl,
    change_as_admin,
    fail,
    settings_or_exit,
)
from followthrough.config import Settings
from followthrough.db import Database, utcnow
from followthrough.mail import admin as audited
from followthrough.mail import imap, inbound, smtp
from followthrough.mail.compose import envelope_sender
from followthrough.mail.receiver import desk_take, desk_takes, start_receiver
from followthrough.mail.threading import service_address

log = logging.getLogger(__name__)
console = Console()


def _answer_sender(settings: Settings, database: Database) -> Callable[[], None]:
    """Sends the pending refusals when an outgoing mail server is set; else leaves them queued."""

    def answer() -> None:
        if not settings.smtp_host:
            return
        try:
            client = smtp.connect(settings)
        except smtp.MailServerSettingsError:
            log.exception("refusals not sent: the outgoing mail server settings are wrong")
            return
        try:

            def deliver(message: EmailMessage) -> None:
                smtp.send(client, message.as_bytes(), envelope_sender(settings), str(message["To"]))

            inbound.send_answers(database, settings, deliver, utcnow)
        except Exception:
            log.exception("refusals not sent now; they stay queued")
        finally:
            smtp.close(client)

    return answer


def _take_and_answer(settings: Settings, database: Database) -> imap.Take:
    take = desk_take(settings, database, store_from_settings(settings))
    answer = _answer_sender(settings, database)

    def take_then_answer(raw: bytes, recipients: tuple[str, ...], came_by: str) -> None:
        take(raw, recipients, came_by)
        answer()

    return take_then_answer


def _until_signalled() -> threading.Event:
    stopped = threading.Event()

    def stop(_signal: int, _frame: FrameType | None) -> None:
        stopped.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    return stopped


def register(mail_app: typer.Typer) -> None:
    """Add mail in's commands to `followthrough mail`."""

    @mail_app.command("serve")
    def serve_command(
        database_url: DatabaseUrl = None,
        host: Annotated[str | None, typer.Option("--host", help="Listen here.")] = None,
        port: Annotated[int | None, typer.Option("--port", help="Listen on this port.")] = None,
        lmtp: Annotated[
            bool | None, typer.Option("--lmtp/--smtp", help="Speak LMTP instead of SMTP.")
        ] = None,
    ) -> None:
        """Receive mail forwarded by the organisation's mail server until stopped."""
        settings = settings_or_exit(
            database_url=database_url,
            mail_receiver_host=host,
            mail_receiver_port=port,
            mail_receiver_lmtp=lmtp,
        )
        database = Database(settings.database_url)
        stopped = _until_signalled()
        try:
            controller = start_receiver(
                settings,
                _take_and_answer(settings, database),
                desk_takes(settings, database),
                host=settings.mail_receiver_host,
                port=settings.mail_receiver_port,
                lmtp=settings.mail_receiver_lmtp,
            )
        except OSError as exc:
            database.dispose()
            raise fail(
                f"mail_receiver_port (FOLLOWTHROUGH_MAIL_RECEIVER_PORT): cannot listen on "
                f"{settings.mail_receiver_host}:{settings.mail_receiver_port} ({exc})"
            ) from None
        kind = "LMTP" if settings.mail_receiver_lmtp else "SMTP"
        console.print(
            f"receiving mail ({kind}) on {settings.mail_receiver_host}:"
            f"{settings.mail_receiver_port} for {settings.mail_inbound_address}"
        )
        try:
            stopped.wait()
        finally:
            controller.stop()
            database.dispose()

    @mail_app.command("poll")
    def poll_command(
        database_url: DatabaseUrl = None,
        loop: Annotated[
            bool, typer.Option("--loop", help="Keep polling, waiting with IDLE between polls.")
        ] = False,
    ) -> None:
        """Take the mail in the mailbox (IMAP) once, or keep doing so with --loop."""
        settings = settings_or_exit(database_url=database_url)
        database = Database(settings.database_url)
        take = _take_and_answer(settings, database)

        def report(polled: imap.Polled) -> None:
            if polled.taken:
                console.print(f"took {polled.taken} mail(s)")

        try:
            if loop:
                stopped = _until_signalled()
                imap.poll_forever(settings, take, stop=stopped.is_set, on_poll=report)
                return
            with imap.connect(settings) as mailbox:
                polled = imap.poll_once(mailbox, settings, take)
            console.print(f"took {polled.taken} mail(s); {polled.left} left for the next poll")
        except imap.MailboxSettingsError as exc:
            raise fail(
                f"{exc.setting} (FOLLOWTHROUGH_{exc.setting.upper()}): {exc.detail}"
            ) from None
        except MailboxLoginError:
            raise fail(
                "imap_username, imap_password (FOLLOWTHROUGH_IMAP_USERNAME, "
                "FOLLOWTHROUGH_IMAP_PASSWORD): the mailbox refused them"
            ) from None
        except OSError as exc:
            raise fail(
                f"imap_host (FOLLOWTHROUGH_IMAP_HOST): cannot reach "
                f"{settings.imap_host}:{settings.imap_port} ({exc})"
            ) from None
        finally:
            database.dispose()

    @mail_app.command("service-address")
    def service_address_command(
        service_id: Annotated[int, typer.Argument(help="The service's number.")],
        slug: Annotated[str, typer.Option("--slug", help="Its tag: desk+s-{slug}@…")],
        by: AdminHandle,
        address: Annotated[
            str | None, typer.Option("--address", help="A whole address of its own, if any.")
        ] = None,
        database_url: DatabaseUrl = None,
    ) -> None:
        """Set how mail reaches a service (a new mail there opens a request for it); audited
        as the admin's change, like the admin page's."""
        settings = settings_or_exit(database_url=database_url)
        change_as_admin(
            settings,
            by,
            lambda session, admin: audited.set_service_address(
                session, admin, service_id, slug, address, utcnow()
            ),
            field="service",
        )
        tagged = service_address(settings.mail_inbound_address, slug.lower())
        console.print(f"service {service_id}: {tagged}" + (f" and {address}" if address else ""))

    @mail_app.command("address-fixed")
    def address_fixed_command(
        address: Annotated[str, typer.Argument(help="The address that works again.")],
        by: AdminHandle,
        database_url: DatabaseUrl = None,
    ) -> None:
        """Mail to an address that bounced may go again (it was corrected, or is back); audited
        as the admin's change, like the admin page's."""
        change_as_admin(
            settings_or_exit(database_url=database_url),
            by,
            lambda session, admin: audited.mark_address_fixed(session, admin, address, utcnow()),
            field="address",
        )
        console.print(f"mail to {address} goes again")
