"""Mail in from hostile or broken senders, as real mail reaches the desk: the bytes exactly as
sent, on both databases. Whatever a mail holds, it is recorded with what became of it, and the
mail after it is still taken."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession
from sqlalchemy import select

from followthrough.attachments.storage import LocalFolderStore
from followthrough.config import Settings
from followthrough.db import Database
from followthrough.mail import inbound, smtp
from followthrough.mail.inbound_models import BouncingAddress, InboundMail, ServiceMailAddress
from followthrough.mail.inbound_rules import Outcome
from followthrough.requests.models import Request
from tests.conftest import T0
from tests.factories import World
from tests.mail import corpus
from tests.mail.conftest import RecordingHandler, free_port, updates
from tests.mail.test_inbound import _raise_request


def _reply(
    request_id: int,
    body: bytes,
    *,
    headers: bytes = b"From: Asha Assessor <asha@example.com>\r\n",
    subject: bytes = b"Re: Policy HM-1234",
    content_type: bytes = b'text/plain; charset="utf-8"',
    message_id: str = "<reply-1@mail.example.com>",
) -> bytes:
    """A reply to the desk's mail about the request, byte for byte as a client sent it."""
    return (
        headers
        + f"To: desk+r{request_id}@example.com\r\n".encode()
        + b"Subject: "
        + subject
        + b"\r\nDate: Mon, 02 Mar 2026 10:00:00 +0000\r\n"
        + f"Message-ID: {message_id}\r\n".encode()
        + f"In-Reply-To: {corpus.our_message_id(request_id)}\r\n".encode()
        + b"MIME-Version: 1.0\r\nContent-Type: "
        + content_type
        + b"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + body
    )


def _receive(
    db: Database, store: LocalFolderStore, settings: Settings, raw: bytes, minutes: float = 1
) -> inbound.Received:
    with db.unit_of_work() as session:
        return inbound.receive(
            session, store, settings, raw, came_by="imap", now=T0 + timedelta(minutes=minutes)
        )


def test_a_nul_character_in_a_reply_is_dropped_and_the_reply_is_heard(
    db: Database, world: World, store: LocalFolderStore, settings: Settings
) -> None:
    # Broken clients and hostile senders put NUL bytes in a body or a header; PostgreSQL
    # cannot store one in a text column.
    request_id = _raise_request(db, world)
    raw = _reply(
        request_id,
        b"The broker\x00 confirmed the address.\r\n",
        subject=b"Re: Policy\x00 HM-1234",
        message_id="<nul\x00@mail.example.com>",
    )
    received = _receive(db, store, settings, raw)
    assert received.outcome == Outcome.UPDATE
    assert received.mail is not None
    assert received.mail.subject == "Re: Policy HM-1234"
    assert updates(db, request_id) == ["The broker confirmed the address."]


def test_a_mail_without_a_from_header_is_recorded_as_from_nobody_and_not_answered(
    db: Database, world: World, store: LocalFolderStore, settings: Settings
) -> None:
    # Scripts and broken clients send mail with no From at all; one of flufl.bounce's
    # detectors fails on such a plain message instead of finding no bounce in it.
    request_id = _raise_request(db, world)
    received = _receive(db, store, settings, _reply(request_id, b"Done.\r\n", headers=b""))
    assert received.outcome == Outcome.REFUSED_UNKNOWN_SENDER
    assert received.mail is not None
    assert (received.mail.sender, received.mail.answer_state) == ("", None)
    assert updates(db, request_id) == []


def test_a_list_in_a_reply_is_kept_and_the_signature_under_it_is_not(
    db: Database, world: World, store: LocalFolderStore, settings: Settings
) -> None:
    # People answer with lists; a line starting "- " is a list item, not a signature.
    request_id = _raise_request(db, world)
    words = "Two things are missing:\n- the policy number\n- the new address"
    raw = _reply(
        request_id,
        (
            f"{words}\n\n-- \nAsha Assessor\nClaims, Harbour Mutual\n\n"
            f"On Mon, 2 Mar 2026 at 09:00, {corpus.DESK} wrote:\n\n"
            "> We are checking the address with the broker.\n"
        ).encode(),
    )
    assert _receive(db, store, settings, raw).outcome == Outcome.UPDATE
    assert updates(db, request_id) == [words]


QUOTE = (
    "> Dan Duty posted an update on Policy HM-1234 has the wrong address:\n"
    "> We are checking the address with the broker.\n"
)


@pytest.mark.parametrize(
    "body",
    [
        # Thunderbird and many mobile clients, set to answer below the quote.
        f"On 02/03/2026 09:00, {corpus.DESK} wrote:\n{QUOTE}\nThe broker has the form now.\n",
        # A client that quotes without an attribution line.
        f"{QUOTE}\nThe broker has the form now.\n\n-- \nAsha\n",
    ],
    ids=["attribution", "bare quote"],
)
def test_a_reply_written_below_the_quote_keeps_only_the_new_words(
    db: Database, world: World, store: LocalFolderStore, settings: Settings, body: str
) -> None:
    request_id = _raise_request(db, world)
    assert _receive(db, store, settings, _reply(request_id, body.encode())).outcome == (
        Outcome.UPDATE
    )
    assert updates(db, request_id) == ["The broker has the form now."]


@pytest.mark.parametrize(
    ("words", "attribution"),
    [
        ("Hecho, gracias.", "El lun, 2 mar 2026 a las 9:00, {desk} escribió:"),
        ("Gedaan.", "Op ma 2 mrt 2026 om 09:00 schreef {desk}:"),
        ("Feito.", "Em seg., 2 de mar. de 2026 às 09:00, {desk} escreveu:"),
        ("Gotowe.", "pon., 2 mar 2026 o 09:00 {desk} napisał(a):"),
    ],
    ids=["gmail es", "gmail nl", "gmail pt", "gmail pl"],
)
def test_the_line_introducing_the_quote_is_not_kept_in_any_language(
    db: Database,
    world: World,
    store: LocalFolderStore,
    settings: Settings,
    words: str,
    attribution: str,
) -> None:
    # Gmail writes "On <date>, <name> <address> wrote:" in the reader's language; the reply
    # parser knows the English, German and French forms, not these.
    request_id = _raise_request(db, world)
    body = f"{words}\n\n{attribution.format(desk=corpus.DESK)}\n\n{QUOTE}"
    assert _receive(db, store, settings, _reply(request_id, body.encode())).outcome == (
        Outcome.UPDATE
    )
    assert updates(db, request_id) == [words]


@pytest.mark.parametrize(
    "signature",
    [
        "Von meinem iPhone gesendet",
        "Envoyé de mon iPhone",
        "Enviado desde mi iPhone",
        "Verstuurd vanaf mijn iPhone",
        "Sent from Outlook for Android",
        "Sent from Mail for Windows",
    ],
)
def test_a_phones_sent_from_line_is_not_kept_in_any_language(
    db: Database, world: World, store: LocalFolderStore, settings: Settings, signature: str
) -> None:
    request_id = _raise_request(db, world)
    body = f"Erledigt.\n\n{signature}\n\nAm 02.03.2026 um 09:00 schrieb {corpus.DESK}:\n{QUOTE}"
    assert _receive(db, store, settings, _reply(request_id, body.encode())).outcome == (
        Outcome.UPDATE
    )
    assert updates(db, request_id) == ["Erledigt."]


@dataclass
class RefusingOneRecipient(RecordingHandler):
    """A real mail server that says "no such mailbox" to one address and takes the rest."""

    refused: str = ""

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self,
        server: SMTP,
        session: SmtpSession,
        envelope: Envelope,
        address: str,
        options: list[str],
    ) -> str:
        if address == self.refused:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_a_refusal_the_mail_server_will_never_take_does_not_hold_up_the_others(
    db: Database, world: World, store: LocalFolderStore, settings: Settings
) -> None:
    request_id = _raise_request(db, world)
    for minute, stranger in enumerate(
        ["gone@elsewhere.example", "sam@elsewhere.example", "kim@elsewhere.example"], start=1
    ):
        reply = corpus.gmail_reply(stranger, request_id, "Hello?").message.as_bytes()
        _receive(db, store, settings, reply, minutes=minute)
    handler = RefusingOneRecipient(refused="gone@elsewhere.example")
    server = Controller(handler, hostname="127.0.0.1", port=free_port(), decode_data=False)
    server.start()
    try:
        outgoing = settings.model_copy(
            update={"smtp_host": "127.0.0.1", "smtp_port": server.port, "smtp_security": "none"}
        )
        client = smtp.connect(outgoing)

        def deliver(message: EmailMessage) -> None:
            smtp.send(client, message.as_bytes(), "desk@example.com", str(message["To"]))

        try:
            inbound.send_answers(db, outgoing, deliver, lambda: T0)
            inbound.send_answers(db, outgoing, deliver, lambda: T0)
        finally:
            smtp.close(client)
    finally:
        server.stop()
    assert sorted(r.recipients for r in handler.received) == [
        ("kim@elsewhere.example",),
        ("sam@elsewhere.example",),
    ]
    with db.unit_of_work(readonly=True) as session:
        rows = session.execute(select(InboundMail.answer_to, InboundMail.answer_state)).all()
        states = dict(rows)
    assert states == {
        "gone@elsewhere.example": "refused",
        "sam@elsewhere.example": "sent",
        "kim@elsewhere.example": "sent",
    }


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        # 8-bit text that names no charset at all: UTF-8 from a script or a phone...
        (b"text/plain", "Grüße, die Adresse ist geändert.".encode()),
        # ...or Windows-1252 from an old client,
        (b"text/plain", "Grüße \u2013 it\u2019s changed.".encode("cp1252")),
        # one that says ASCII and sends UTF-8,
        (b'text/plain; charset="us-ascii"', "Grüße, die Adresse ist geändert.".encode()),
        # and a label no one knows.
        (
            b'text/plain; charset="x-user-defined-42"',
            "Grüße \u2013 it\u2019s changed.".encode("cp1252"),
        ),
    ],
    ids=["utf-8 unnamed", "windows-1252 unnamed", "utf-8 named ascii", "unknown label"],
)
def test_eight_bit_text_in_no_or_a_wrong_charset_is_read_as_written(
    db: Database,
    world: World,
    store: LocalFolderStore,
    settings: Settings,
    content_type: bytes,
    body: bytes,
) -> None:
    request_id = _raise_request(db, world)
    raw = _reply(request_id, body + b"\r\n", content_type=content_type)
    assert _receive(db, store, settings, raw).outcome == Outcome.UPDATE
    [words] = updates(db, request_id)
    assert words in ("Grüße, die Adresse ist geändert.", "Grüße \u2013 it\u2019s changed.")


def test_a_message_id_of_a_thousand_wide_characters_is_still_recorded(
    db: Database, world: World, store: LocalFolderStore, settings: Settings
) -> None:
    # 990 CJK characters are three bytes each in UTF-8: more than PostgreSQL's index on
    # (Message-ID, content) can hold in one entry.
    request_id = _raise_request(db, world)
    wide = "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(990))
    raw = _reply(request_id, b"Done.\r\n", message_id=f"<{wide}@mail.example.com>")
    assert _receive(db, store, settings, raw).outcome == Outcome.UPDATE
    # The same mail again is still known as the same.
    assert _receive(db, store, settings, raw, minutes=2).mail is None
    assert updates(db, request_id) == ["Done."]


@pytest.mark.parametrize(
    ("from_header", "sender"),
    [
        # Longer than any address mail can go to (254 characters).
        (f"From: {'a' * 300}@example.com\r\n", f"{'a' * 300}@example.com"[:254]),
        # A name with a comma and no quotes: read as two addresses, the first without a domain.
        ("From: Assessor, Asha <asha@example.com>\r\n", "assessor"),
    ],
    ids=["too long", "no domain"],
)
def test_a_sender_address_no_mail_can_go_to_is_refused_without_an_answer(
    db: Database,
    world: World,
    store: LocalFolderStore,
    settings: Settings,
    from_header: str,
    sender: str,
) -> None:
    request_id = _raise_request(db, world)
    raw = _reply(request_id, b"Done.\r\n", headers=from_header.encode())
    received = _receive(db, store, settings, raw)
    assert received.outcome == Outcome.REFUSED_UNKNOWN_SENDER
    assert received.mail is not None
    assert (received.mail.sender, received.mail.answer_state) == (sender, None)


def test_a_mail_to_seventy_thousand_of_the_desks_addresses_is_still_taken(
    db: Database, world: World, store: LocalFolderStore, settings: Settings
) -> None:
    # The receiver takes any +tag of the desk's address, so one SMTP envelope may name more of
    # them than PostgreSQL takes parameters in one query (65,535).
    request_id = _raise_request(db, world)
    envelope = tuple(f"desk+x{i}@example.com" for i in range(70_000))
    with db.unit_of_work() as session:
        received = inbound.receive(
            session,
            store,
            settings,
            _reply(request_id, b"Done.\r\n"),
            came_by="smtp",
            now=T0,
            envelope_recipients=envelope,
        )
    assert received.outcome == Outcome.UPDATE
    assert updates(db, request_id) == ["Done."]


def test_the_same_words_without_a_message_id_to_two_requests_are_both_heard(
    db: Database, world: World, store: LocalFolderStore, settings: Settings
) -> None:
    # A script or a small client may send no Message-ID; the mail is then known by what it
    # says, and "Done." answers many requests.
    first, second = _raise_request(db, world), _raise_request(db, world)
    for minute, request_id in enumerate((first, second), start=1):
        raw = _reply(request_id, b"Done.\r\n").replace(
            b"Message-ID: <reply-1@mail.example.com>\r\n", b""
        )
        assert b"Message-ID" not in raw
        assert _receive(db, store, settings, raw, minutes=minute).outcome == Outcome.UPDATE
    assert (updates(db, first), updates(db, second)) == (["Done."], ["Done."])


def test_the_desks_signed_links_carried_in_a_reply_are_not_kept_in_the_update(
    db: Database, world: World, store: LocalFolderStore, settings: Settings
) -> None:
    # A client that pastes the mail it answers without marking it as a quote (no ">", no
    # rule, no "wrote:") leaves the offer's one-click link in the reply; everyone who reads
    # the update could then act with it as the person it was made for.
    request_id = _raise_request(db, world)
    act = f"{settings.public_url}/act/eyJwIjozfQ.c2lnbmF0dXJlLWhlcmU"
    stop = f"{settings.public_url}/mail/unsubscribe/3.offer.c2lnbmF0dXJl"
    html = (
        "<div>I'll take it this afternoon.</div><div><br></div>"
        f"<div>Accept or decline the request: <a href='{act}'>{act}</a></div>"
        f"<div>Stop mail about offers: {stop}</div>"
    )
    raw = _reply(request_id, html.encode(), content_type=b'text/html; charset="utf-8"')
    assert _receive(db, store, settings, raw).outcome == Outcome.UPDATE
    [words] = updates(db, request_id)
    assert words.startswith("I'll take it this afternoon.")
    assert "/act/" not in words
    assert "/mail/unsubscribe/" not in words


def test_a_read_receipt_is_machine_mail_not_a_comment(
    db: Database, world: World, store: LocalFolderStore, settings: Settings
) -> None:
    # A read receipt (RFC 8098, multipart/report of a disposition notification) is written
    # by the reader's mail program, often with no header saying so.
    request_id = _raise_request(db, world)
    report = (
        b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        b"Your message\r\n\r\n  To: Asha Assessor\r\n  Subject: Policy HM-1234\r\n\r\n"
        b"was read on Monday, March 2, 2026 10:00:00 AM.\r\n"
        b"--b\r\nContent-Type: message/disposition-notification\r\n\r\n"
        b"Reporting-UA: mail.example.com; Microsoft Outlook 16.0\r\n"
        b"Final-Recipient: rfc822;asha@example.com\r\n"
        + f"Original-Message-ID: {corpus.our_message_id(request_id)}\r\n".encode()
        + b"Disposition: manual-action/MDN-sent-automatically; displayed\r\n\r\n--b--\r\n"
    )
    raw = _reply(
        request_id,
        report,
        subject=b"Read: Policy HM-1234",
        content_type=b'multipart/report; report-type=disposition-notification; boundary="b"',
    )
    received = _receive(db, store, settings, raw)
    assert received.outcome == Outcome.AUTO_REPLY_IGNORED
    assert received.mail is not None
    assert received.mail.answer_state is None
    assert updates(db, request_id) == []


@pytest.mark.parametrize(
    "subject",
    ["Out of office cover for the claims team", "Autoreply not working on my mailbox"],
)
def test_a_new_request_about_out_of_office_is_not_taken_for_an_auto_reply(
    db: Database, world: World, store: LocalFolderStore, settings: Settings, subject: str
) -> None:
    # An auto-reply's subject is its marker and a colon before the answered subject
    # ("Out of Office: ...", "Automatic reply: ..."); a person may write the same words as
    # the subject of a request of their own.
    with db.unit_of_work() as session:
        session.add(ServiceMailAddress(service_id=world.services["correct_policy"], slug="fix"))
    sample = corpus.new_request_mail(
        "Asha Assessor <asha@example.com>", "desk+s-fix@example.com", subject, "Please set it up."
    )
    received = _receive(db, store, settings, sample.message.as_bytes())
    assert received.outcome == Outcome.OPEN_REQUEST


def test_a_bounce_naming_an_address_with_a_nul_marks_nothing_and_is_recorded(
    db: Database, world: World, store: LocalFolderStore, settings: Settings
) -> None:
    request_id = _raise_request(db, world)
    report = (
        b"--B\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n"
        b"--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mx.example.com\r\n\r\n"
        b"Final-Recipient: rfc822; go\x00ne@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
        b"--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        + f"Message-ID: {corpus.our_message_id(request_id)}\r\n\r\n--B--\r\n".encode()
    )
    raw = _reply(
        request_id,
        report,
        headers=b"From: MAILER-DAEMON@mx.example.com\r\n",
        subject=b"Undelivered Mail Returned to Sender",
        content_type=b'multipart/report; report-type=delivery-status; boundary="B"',
    )
    received = _receive(db, store, settings, raw)
    assert received.outcome == Outcome.BOUNCE_DELAYED
    with db.unit_of_work(readonly=True) as session:
        assert session.scalars(select(BouncingAddress.address)).all() == []


FORWARDED = (
    "---------- Forwarded message ---------\n"
    "From: Mrs Jones <jones@customer.example>\n"
    "Date: Mon, 2 Mar 2026 at 08:12\n"
    "Subject: My policy HM-1234\n"
    "To: Asha Assessor <asha@example.com>\n\n"
    "Dear Sir, my address on policy HM-1234 is wrong: it should be 12 High Street.\n"
)


SIGNATURE = "-- \nAsha Assessor\nClaims, Harbour Mutual\n"


@pytest.mark.parametrize(
    "own",
    ["Can you fix this for the customer?\n\n", ""],
    ids=["with a note", "forward alone"],
)
def test_a_customers_mail_forwarded_to_a_service_is_the_new_requests_need(
    db: Database, world: World, store: LocalFolderStore, settings: Settings, own: str
) -> None:
    # Forwarding the customer's mail to the service's address is how the front line raises a
    # request about it: what the customer wrote is the need, not a quote to cut. The
    # forwarder's signature sits above the forwarded mail, as Gmail and Outlook put it.
    with db.unit_of_work() as session:
        session.add(ServiceMailAddress(service_id=world.services["correct_policy"], slug="fix"))
    raw = (
        b"From: Asha Assessor <asha@example.com>\r\nTo: desk+s-fix@example.com\r\n"
        b"Subject: Fwd: My policy HM-1234\r\nMessage-ID: <fwd-1@mail.example.com>\r\n"
        b'MIME-Version: 1.0\r\nContent-Type: text/plain; charset="utf-8"\r\n\r\n'
        + f"{own}{SIGNATURE}\n{FORWARDED}".replace("\n", "\r\n").encode()
    )
    assert _receive(db, store, settings, raw).outcome == Outcome.OPEN_REQUEST
    with db.unit_of_work(readonly=True) as session:
        need = session.scalars(select(Request.need)).one()
    assert "Dear Sir, my address on policy HM-1234 is wrong" in need
    assert "From: Mrs Jones <jones@customer.example>" in need
    assert ("Can you fix this" in need) == bool(own)
    assert "Harbour Mutual" not in need
