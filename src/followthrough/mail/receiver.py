"""The built-in mail receiver: an SMTP (or LMTP) server the organisation's mail server forwards
the desk's mail to.

A mail is answered "250" only after its transaction has committed, so a mail the desk could not
take (the database busy or down) is answered "451" and the forwarding server tries again later:
nothing is lost, and a second delivery of a mail already taken changes nothing (it is recorded
once). The work runs in a worker thread, never on the server's event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import func, select

from followthrough.attachments.storage import AttachmentStore
from followthrough.config import Settings
from followthrough.db import Database, utcnow
from followthrough.mail import inbound
from followthrough.mail.inbound_models import ServiceMailAddress
from followthrough.mail.safety import normalised_address

log = logging.getLogger(__name__)

# Takes one mail: (its bytes, the envelope's recipients, how it came). Raises if not taken.
Take = Callable[[bytes, tuple[str, ...], str], None]
# Whether the desk takes mail for a recipient address.
Accepts = Callable[[str], bool]


@dataclass
class InboundHandler:
    """aiosmtpd's handler: recipients checked, each mail taken in a worker thread."""

    take: Take
    accepts: Accepts
    came_by: str = "smtp"

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        loop = asyncio.get_running_loop()
        try:
            ours = await loop.run_in_executor(None, self.accepts, address)
        except Exception:
            log.exception("checking recipient %s failed", address)
            return "451 4.3.0 Cannot check that address now; try again later"
        if not ours:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        recipients = tuple(str(r) for r in envelope.rcpt_tos)
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(None, self.take, bytes(raw), recipients, self.came_by)
        except Exception:
            log.exception("a received mail could not be taken; the sender will retry")
            status = "451 4.3.0 Not taken now; try again later"
        else:
            status = "250 2.0.0 Taken"
        # LMTP answers once per recipient; SMTP once.
        return "\r\n".join([status] * len(recipients)) if self.came_by == "lmtp" else status


class _LmtpController(Controller):
    def factory(self) -> SMTP:
        return LMTP(self.handler, **self.SMTP_kwargs)


def desk_takes(settings: Settings, database: Database) -> Accepts:
    """Mail for the inbound address (any +tag) and for any service's own address."""
    local, _, domain = settings.mail_inbound_address.lower().rpartition("@")

    def accepts(address: str) -> bool:
        bare = normalised_address(address)
        their_local, _, their_domain = bare.rpartition("@")
        if their_domain == domain and their_local.split("+", 1)[0] == local:
            return True
        with database.unit_of_work(readonly=True) as session:
            found = session.scalar(
                select(ServiceMailAddress.service_id).where(
                    func.lower(ServiceMailAddress.address) == bare
                )
            )
            return found is not None

    return accepts


def desk_take(
    settings: Settings,
    database: Database,
    store: AttachmentStore,
    now: Callable[[], Any] = utcnow,
) -> Take:
    """Take one mail in its own transaction (committed before the receiver answers)."""

    def take(raw: bytes, recipients: tuple[str, ...], came_by: str) -> None:
        with database.unit_of_work() as session:
            inbound.receive(
                session,
                store,
                settings,
                raw,
                came_by=came_by,
                now=now(),
                envelope_recipients=recipients,
            )

    return take


def start_receiver(
    settings: Settings, take: Take, accepts: Accepts, *, host: str, port: int, lmtp: bool
) -> Controller:
    """Start the receiver on its own thread; call `.stop()` on the result to stop it."""
    handler = InboundHandler(take, accepts, came_by="lmtp" if lmtp else "smtp")
    kind = _LmtpController if lmtp else Controller
    controller = kind(
        handler,
        hostname=host,
        port=port,
        data_size_limit=settings.mail_receiver_max_bytes,
        # The bytes as they came: the reply parser and the content hash read them.
        decode_data=False,
        ready_timeout=10.0,
    )
    controller.start()
    return controller
