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
from sqlalchemy import select
from sqlalchemy.orm import Session

from followthrough.attachments.storage import store_from_settings
from followthrough.config import Settings, load_settings
from followthrough.db import Database, utcnow
from followthrough.errors import DomainError
from followthrough.mail import admin as audited
from followthrough.mail import imap, inbound, smtp
from followthrough.mail.compose import envelope_sender
from followthrough.mail.receiver import desk_take, desk_takes, start_receiver
from followthrough.mail.threading import service_address
from followthrough.org.actors import Actor
from followthrough.org.models import Person
from followthrough.org.service import actor_for

log = logging.getLogger(__name__)
console = Console()
err = Console(stderr=True, soft_wrap=True)

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url", help="Overrides FOLLOWTHROUGH_DATABASE_URL.", show_default=False
    ),
]


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", markup=True, highlight=False)
    return typer.Exit(code=2)


def _settings(**overrides: object) -> Settings:
    try:
        return load_settings(**overrides)
    except ValueError as exc:
        raise _fail(f"settings: {exc}") from None


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
        settings = _settings(
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
            raise _fail(
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
        settings = _settings(database_url=database_url)
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
            raise _fail(
                f"{exc.setting} (FOLLOWTHROUGH_{exc.setting.upper()}): {exc.detail}"
            ) from None
        except MailboxLoginError:
            raise _fail(
                "imap_username, imap_password (FOLLOWTHROUGH_IMAP_USERNAME, "
                "FOLLOWTHROUGH_IMAP_PASSWORD): the mailbox refused them"
            ) from None
        except OSError as exc:
            raise _fail(
                f"imap_host (FOLLOWTHROUGH_IMAP_HOST): cannot reach "
                f"{settings.imap_host}:{settings.imap_port} ({exc})"
            ) from None
        finally:
            database.dispose()

    @mail_app.command("service-address")
    def service_address_command(
        service_id: Annotated[int, typer.Argument(help="The service's number.")],
        slug: Annotated[str, typer.Option("--slug", help="Its tag: desk+s-{slug}@…")],
        by: Annotated[str, typer.Option("--by", help="Your handle (an admin).")],
        address: Annotated[
            str | None, typer.Option("--address", help="A whole address of its own, if any.")
        ] = None,
        database_url: DatabaseUrl = None,
    ) -> None:
        """Set how mail reaches a service (a new mail there opens a request for it); audited
        as the admin's change, like the admin page's."""
        settings = _settings(database_url=database_url)
        database = Database(settings.database_url)
        try:
            with database.unit_of_work() as session:
                admin = _admin(session, by)
                audited.set_service_address(session, admin, service_id, slug, address, utcnow())
        except DomainError as exc:
            raise _fail(f"{exc.field or 'service'}: {exc}") from None
        finally:
            database.dispose()
        tagged = service_address(settings.mail_inbound_address, slug.lower())
        console.print(f"service {service_id}: {tagged}" + (f" and {address}" if address else ""))

    @mail_app.command("address-fixed")
    def address_fixed_command(
        address: Annotated[str, typer.Argument(help="The address that works again.")],
        by: Annotated[str, typer.Option("--by", help="Your handle (an admin).")],
        database_url: DatabaseUrl = None,
    ) -> None:
        """Mail to an address that bounced may go again (it was corrected, or is back); audited
        as the admin's change, like the admin page's."""
        settings = _settings(database_url=database_url)
        database = Database(settings.database_url)
        try:
            with database.unit_of_work() as session:
                audited.mark_address_fixed(session, _admin(session, by), address, utcnow())
        except DomainError:
            raise _fail(f"address: {address!r} is not marked as bouncing") from None
        finally:
            database.dispose()
        console.print(f"mail to {address} goes again")


def _admin(session: Session, handle: str) -> Actor:
    """The admin a command acts as (its changes are audited in their name); exit 2 otherwise."""
    person = session.scalar(select(Person).where(Person.handle == handle))
    if person is None or not person.is_admin:
        raise _fail(f"--by: {handle!r} is not an admin's handle")
    return actor_for(session, person)
