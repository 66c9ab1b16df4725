"""A real SMTP server (aiosmtpd) for the mail tests, started in this process on a free port.

It records every message it accepts, raw bytes and all, in the order it accepted them. Any test
of mail out or mail in (and of links in mail) can ask for `smtp_server`.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import select

from followthrough.attachments.storage import LocalFolderStore
from followthrough.config import Settings
from followthrough.db import Database
from followthrough.requests.models import RequestUpdate
from tests.mail import corpus


@dataclass(frozen=True)
class Received:
    """One message the server accepted: the envelope and the bytes exactly as sent."""

    mail_from: str
    recipients: tuple[str, ...]
    raw: bytes

    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    @property
    def message_id(self) -> str:
        return str(self.message()["Message-ID"])


@dataclass
class RecordingHandler:
    """Accepts every message and keeps it; `refuse_with` makes it answer DATA with an error;
    `delay` seconds pass between keeping a message and answering (a slow server, to stop a
    sender mid-batch; like Postfix, which writes the message to its queue before it answers, it
    keeps a message whose sender goes away before the answer); `on_received` is called with the
    count after each message is kept, before it is answered."""

    received: list[Received] = field(default_factory=list)
    refuse_with: str | None = None
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    on_received: Callable[[int], None] | None = None

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        if self.refuse_with is not None:
            return self.refuse_with
        raw = envelope.original_content or b""
        if isinstance(envelope.content, bytes) and not raw:
            raw = envelope.content
        with self.lock:
            self.received.append(
                Received(
                    mail_from=str(envelope.mail_from),
                    recipients=tuple(str(r) for r in envelope.rcpt_tos),
                    raw=bytes(raw),
                )
            )
            count = len(self.received)
        if self.on_received is not None:
            self.on_received(count)
        if self.delay:
            await asyncio.sleep(self.delay)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class SmtpServer:
    """The running test server: where it listens and what it received."""

    host: str
    port: int
    handler: RecordingHandler
    controller: Any

    @property
    def received(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.received)

    def message_ids(self) -> list[str]:
        return [received.message_id for received in self.received]

    def settings(self) -> dict[str, object]:
        """Settings overrides that point the desk at this server."""
        return {"smtp_host": self.host, "smtp_port": self.port, "smtp_security": "none"}


def start_smtp_server(**smtp_options: Any) -> SmtpServer:
    handler = RecordingHandler()
    port = free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        # The raw bytes as sent (original_content) are kept, not only the decoded text.
        decode_data=False,
        **smtp_options,
    )
    controller.start()
    return SmtpServer("127.0.0.1", port, handler, controller)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = start_smtp_server()
    try:
        yield server
    finally:
        server.controller.stop()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The desk's mail settings for taking mail in (a module with a mail server of its own,
    such as the mailbox poller's, has its own)."""
    return Settings(
        mail_domain=corpus.DOMAIN,
        mail_inbound_address=corpus.INBOUND,
        mail_from=corpus.DESK,
        attachment_folder=tmp_path / "files",
    )


@pytest.fixture
def store(tmp_path: Path) -> LocalFolderStore:
    return LocalFolderStore(tmp_path / "files")


def updates(db: Database, request_id: int) -> list[str]:
    """The request's updates, oldest first: what the mail taken in added."""
    with db.unit_of_work(readonly=True) as session:
        return list(
            session.scalars(
                select(RequestUpdate.body)
                .where(RequestUpdate.request_id == request_id)
                .order_by(RequestUpdate.id)
            )
        )
