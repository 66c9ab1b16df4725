"""Mail in through the built-in receiver: a real SMTP/LMTP conversation over a socket."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from pathlib import Path

import pytest

from followthrough.attachments.storage import LocalFolderStore
from followthrough.config import Settings
from followthrough.db import Database
from followthrough.mail import receiver
from tests.conftest import T0
from tests.factories import World
from tests.mail import corpus
from tests.mail.conftest import free_port, updates
from tests.mail.test_inbound import ASHA, _raise_request


def _start(
    settings: Settings, take: receiver.Take, db: Database, *, lmtp: bool
) -> receiver.Controller:
    return receiver.start_receiver(
        settings,
        take,
        receiver.desk_takes(settings, db),
        host="127.0.0.1",
        port=free_port(),
        lmtp=lmtp,
    )


@pytest.fixture
def desk_receiver(
    db: Database, settings: Settings, tmp_path: Path
) -> Iterator[receiver.Controller]:
    take = receiver.desk_take(settings, db, LocalFolderStore(tmp_path / "files"), lambda: T0)
    controller = _start(settings, take, db, lmtp=False)
    yield controller
    controller.stop()


def test_a_forwarded_reply_is_an_update_before_the_receiver_says_250(
    db: Database, world: World, desk_receiver: receiver.Controller
) -> None:
    request_id = _raise_request(db, world)
    sample = corpus.outlook_reply(ASHA, request_id, "Forwarded by our mail server.")
    with smtplib.SMTP(desk_receiver.hostname, desk_receiver.port, timeout=10) as client:
        refused = client.sendmail(
            "asha@example.com", [corpus.reply_to_address(request_id)], corpus.wire(sample.message)
        )
        assert refused == {}
        # Answered 250 only after the commit: the update is there now.
        assert updates(db, request_id) == ["Forwarded by our mail server."]
        # The same mail forwarded again changes nothing.
        client.sendmail(
            "asha@example.com", [corpus.reply_to_address(request_id)], corpus.wire(sample.message)
        )
    assert updates(db, request_id) == ["Forwarded by our mail server."]


def test_mail_for_someone_else_is_refused_at_the_recipient(
    db: Database, desk_receiver: receiver.Controller
) -> None:
    with smtplib.SMTP(desk_receiver.hostname, desk_receiver.port, timeout=10) as client:
        client.ehlo()
        client.mail("someone@example.com")
        code, _ = client.rcpt("payroll@example.com")
        assert code == 550
        code, _ = client.rcpt("DESK+r5@Example.com")
        assert code == 250


def test_a_mail_not_taken_is_answered_451_so_the_sender_tries_again(
    db: Database, world: World, settings: Settings
) -> None:
    def failing(raw: bytes, recipients: tuple[str, ...], came_by: str) -> None:
        raise RuntimeError("the database is down")

    controller = _start(settings, failing, db, lmtp=False)
    try:
        with smtplib.SMTP(controller.hostname, controller.port, timeout=10) as client:
            with pytest.raises(smtplib.SMTPDataError) as raised:
                client.sendmail(
                    "asha@example.com", [corpus.INBOUND], b"Subject: hi\r\n\r\nhello\r\n"
                )
            assert raised.value.smtp_code == 451
    finally:
        controller.stop()


def test_the_receiver_speaks_lmtp_with_one_answer_per_recipient(
    db: Database, world: World, settings: Settings, tmp_path: Path
) -> None:
    request_id = _raise_request(db, world)
    take = receiver.desk_take(settings, db, LocalFolderStore(tmp_path / "files"), lambda: T0)
    controller = _start(settings, take, db, lmtp=True)
    try:
        sample = corpus.gmail_reply(ASHA, request_id, "Delivered over LMTP.")
        with smtplib.LMTP(controller.hostname, controller.port, timeout=10) as client:
            refused = client.sendmail(
                "asha@example.com",
                [corpus.reply_to_address(request_id), corpus.INBOUND],
                corpus.wire(sample.message),
            )
            # smtplib reads the first recipient's answer only; LMTP sends one per recipient.
            assert client.getreply() == (250, b"2.0.0 Taken")
        assert refused == {}
    finally:
        controller.stop()
    assert updates(db, request_id) == ["Delivered over LMTP."]
