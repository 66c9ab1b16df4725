"""Mail in from a real IMAP server (Dovecot): mail put in the mailbox by APPEND, polled, taken."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from imap_tools import MailBoxUnencrypted
from pydantic import SecretStr
from sqlalchemy import func, select

from followthrough.attachments.storage import LocalFolderStore
from followthrough.config import Settings
from followthrough.db import Database
from followthrough.mail import imap
from followthrough.mail.inbound_models import InboundMail
from followthrough.mail.receiver import desk_take
from tests.conftest import T0
from tests.factories import World
from tests.mail import corpus
from tests.mail.conftest import updates
from tests.mail.dovecot import ImapServer, running_dovecot
from tests.mail.test_inbound import ASHA, _raise_request


@pytest.fixture(scope="module")
def dovecot() -> Iterator[ImapServer]:
    with running_dovecot() as server:
        yield server


@pytest.fixture
def settings(dovecot: ImapServer, tmp_path: Path) -> Settings:
    folder = f"Test{time.monotonic_ns()}"
    settings = Settings(
        mail_domain=corpus.DOMAIN,
        mail_inbound_address=corpus.INBOUND,
        mail_from=corpus.DESK,
        attachment_folder=tmp_path / "files",
        imap_host=dovecot.host,
        imap_port=dovecot.port,
        imap_security="none",
        imap_username=dovecot.username,
        imap_password=SecretStr(dovecot.password),
        # Each test its own folders, so tests sharing the server do not see each other's mail.
        imap_folder=folder,
        imap_done_folder=f"{folder}Done",
        imap_idle_seconds=1.0,
    )
    with _mailbox(dovecot) as box:
        box.folder.create(folder)
    return settings


def _mailbox(server: ImapServer) -> MailBoxUnencrypted:
    return MailBoxUnencrypted(server.host, server.port).login(server.username, server.password)


def _append(server: ImapServer, folder: str, *messages: bytes) -> None:
    with _mailbox(server) as box:
        for raw in messages:
            box.append(raw, folder)


def _count(server: ImapServer, folder: str) -> int:
    with _mailbox(server) as box:
        box.folder.set(folder)
        return len(box.uids("ALL"))


def test_a_poll_takes_each_mail_once_and_moves_it_so_a_second_poll_does_nothing(
    db: Database, world: World, dovecot: ImapServer, settings: Settings, tmp_path: Path
) -> None:
    request_id = _raise_request(db, world)
    reply = corpus.gmail_reply(ASHA, request_id, "Replied from Gmail.")
    _append(
        dovecot,
        settings.imap_folder,
        reply.message.as_bytes(),
        corpus.outlook_reply(ASHA, request_id, "Replied from Outlook.").message.as_bytes(),
        corpus.auto_replies(request_id)[0].message.as_bytes(),
        # The same reply again (a list copy that kept no list headers, or a re-delivery).
        reply.message.as_bytes(),
    )
    take = desk_take(
        settings, db, LocalFolderStore(tmp_path / "files"), lambda: T0 + timedelta(hours=1)
    )
    with imap.connect(settings) as mailbox:
        first = imap.poll_once(mailbox, settings, take)
        second = imap.poll_once(mailbox, settings, take)
    assert (first.taken, first.left) == (4, 0)
    assert (second.taken, second.left) == (0, 0)
    assert updates(db, request_id) == ["Replied from Gmail.", "Replied from Outlook."]
    assert _count(dovecot, settings.imap_folder) == 0
    assert _count(dovecot, settings.imap_done_folder) == 4
    with db.unit_of_work(readonly=True) as session:
        # Three mails recorded: two replies and the auto-reply; the copy was none of them.
        assert session.scalar(select(func.count()).select_from(InboundMail)) == 3


def test_a_mail_that_cannot_be_taken_stays_for_the_next_poll(
    db: Database, world: World, dovecot: ImapServer, settings: Settings, tmp_path: Path
) -> None:
    request_id = _raise_request(db, world)
    _append(
        dovecot,
        settings.imap_folder,
        corpus.gmail_reply(ASHA, request_id, "Taken on the second try.").message.as_bytes(),
    )
    take = desk_take(settings, db, LocalFolderStore(tmp_path / "files"), lambda: T0)

    def failing(raw: bytes, recipients: tuple[str, ...], came_by: str) -> None:
        raise RuntimeError("the database is down")

    with imap.connect(settings) as mailbox:
        assert imap.poll_once(mailbox, settings, failing) == imap.Polled(0, 1)
        assert imap.poll_once(mailbox, settings, take) == imap.Polled(1, 0)
    assert updates(db, request_id) == ["Taken on the second try."]


def _nested(depth: int) -> bytes:
    """A mail whose multiparts nest `depth` levels deep around one line of text."""
    opening = "".join(
        f'--b{i}\r\nContent-Type: multipart/mixed; boundary="b{i + 1}"\r\n\r\n'
        for i in range(depth)
    )
    closing = "".join(f"--b{i}--\r\n" for i in reversed(range(depth + 1)))
    return (
        "From: Otto Outsider <otto@example.com>\r\nTo: desk@example.com\r\nSubject: Deep\r\n"
        "Message-ID: <deep@mail.example.com>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b0"\r\n\r\n'
        f"{opening}--b{depth}\r\nContent-Type: text/plain\r\n\r\nDeep.\r\n{closing}"
    ).encode()


def test_a_mail_that_cannot_be_read_is_set_aside_with_why_and_the_others_are_taken(
    db: Database, world: World, dovecot: ImapServer, settings: Settings, tmp_path: Path
) -> None:
    request_id = _raise_request(db, world)
    _append(
        dovecot,
        settings.imap_folder,
        corpus.gmail_reply(ASHA, request_id, "Before the deep one.").message.as_bytes(),
        # Nested a thousand levels deep: Python's mail parser gives up (RecursionError), on
        # this try and every later one.
        _nested(1000),
        corpus.outlook_reply(ASHA, request_id, "After the deep one.").message.as_bytes(),
    )
    take = desk_take(settings, db, LocalFolderStore(tmp_path / "files"), lambda: T0)
    with imap.connect(settings) as mailbox:
        assert imap.poll_once(mailbox, settings, take) == imap.Polled(3, 0)
        assert imap.poll_once(mailbox, settings, take) == imap.Polled(0, 0)
    assert updates(db, request_id) == ["Before the deep one.", "After the deep one."]
    assert _count(dovecot, settings.imap_done_folder) == 3
    with db.unit_of_work(readonly=True) as session:
        aside = session.scalars(select(InboundMail).where(InboundMail.outcome == "set_aside")).one()
        assert (aside.message_id, aside.sender, aside.subject, aside.answer_state) == (
            "<deep@mail.example.com>",
            "otto@example.com",
            "Deep",
            None,
        )
        assert aside.reason.startswith("could not be read")


def test_a_mail_larger_than_the_limit_is_set_aside_without_being_read_whole(
    db: Database, world: World, dovecot: ImapServer, settings: Settings, tmp_path: Path
) -> None:
    # The receiver refuses such mail at the door (its SMTP size limit); a mailbox holds
    # whatever its server let in, and the poller read every byte of it into memory.
    request_id = _raise_request(db, world)
    big = corpus.gmail_reply(ASHA, request_id, "The scan of the whole file.")
    big.message.add_attachment(
        b"%PDF-1.4\n" + b"0" * 200_000, maintype="application", subtype="pdf", filename="scan.pdf"
    )
    _append(
        dovecot,
        settings.imap_folder,
        big.message.as_bytes(),
        corpus.outlook_reply(ASHA, request_id, "A small one.").message.as_bytes(),
    )
    limited = settings.model_copy(update={"mail_receiver_max_bytes": 100_000})
    take = desk_take(limited, db, LocalFolderStore(tmp_path / "files"), lambda: T0)
    with imap.connect(limited) as mailbox:
        assert imap.poll_once(mailbox, limited, take) == imap.Polled(2, 0)
    assert updates(db, request_id) == ["A small one."]
    with db.unit_of_work(readonly=True) as session:
        aside = session.scalars(select(InboundMail).where(InboundMail.outcome == "set_aside")).one()
        assert (aside.message_id, aside.sender) == (
            str(big.message["Message-ID"]),
            "asha@example.com",
        )
        assert aside.reason == "larger than the 100000 bytes a mail may be"


def test_the_idle_loop_takes_new_mail_as_it_arrives(
    db: Database, world: World, dovecot: ImapServer, settings: Settings, tmp_path: Path
) -> None:
    request_id = _raise_request(db, world)
    take = desk_take(settings, db, LocalFolderStore(tmp_path / "files"), lambda: T0)
    stop = threading.Event()
    polls: list[imap.Polled] = []
    loop = threading.Thread(
        target=imap.poll_forever,
        args=(settings, take),
        kwargs={"stop": stop.is_set, "on_poll": polls.append},
        daemon=True,
    )
    loop.start()
    try:
        deadline = time.monotonic() + 10
        while not polls and time.monotonic() < deadline:
            time.sleep(0.05)
        assert polls, "the loop never polled"
        with imap.connect(settings) as mailbox:
            assert imap.supports_idle(mailbox)
        _append(
            dovecot,
            settings.imap_folder,
            corpus.apple_mail_reply(
                ASHA, request_id, "Sent while the desk was idling."
            ).message.as_bytes(),
        )
        deadline = time.monotonic() + 10
        while not updates(db, request_id) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert updates(db, request_id) == ["Sent while the desk was idling."]
    finally:
        stop.set()
        loop.join(timeout=10)
    assert not loop.is_alive()


def test_wrong_mailbox_settings_name_the_setting(settings: Settings) -> None:
    with pytest.raises(imap.MailboxSettingsError) as raised:
        imap.connect(settings.model_copy(update={"imap_host": None}))
    assert raised.value.setting == "imap_host"
