"""Real-looking mail, built here: what the desk's mailbox receives from people and machines.

Each sample is a whole message as a mail client or a mail server writes it (headers, MIME
parts, the quoting style of Gmail, Outlook and Apple Mail, signatures, auto-replies, delivery
reports), with what a person would say it is: the words its sender wrote, and whether it is
a person's mail, an automatic reply or a bounce. The expectations are written by hand from
the message, never computed by the code under test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from enum import StrEnum

from tests.conftest import T0

DOMAIN = "followthrough.localhost"
INBOUND = "desk@example.com"
DESK = f"Followthrough <{INBOUND}>"
DATE = format_datetime(T0)


class Expected(StrEnum):
    """What a person reading the message would call it."""

    PERSON = "person"
    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"


@dataclass(frozen=True)
class Sample:
    """One message and what it is. `words` is what its sender wrote (a reply's new text,
    without quotes or signature); `not_words` are pieces that must not reach the request
    (quoted text, signatures)."""

    name: str
    message: EmailMessage
    expected: Expected
    words: str = ""
    not_words: tuple[str, ...] = ()
    failed_address: str = ""
    attachments: tuple[str, ...] = field(default=())


# What the desk sent: the quoted part of every reply.
QUOTED = (
    "Dan Duty posted an update on #{request_id} Policy HM-1234 has the wrong address:\n"
    "We are checking the address with the broker and will update you by Wednesday."
)
QUOTED_WORDS = "checking the address with the broker"


def wire(message: EmailMessage) -> bytes:
    """The message as it travels between mail servers: CRLF line ends."""
    return message.as_bytes(policy=policy.SMTP)


def our_message_id(request_id: int, outbox_id: int = 7) -> str:
    """A Message-ID the desk gave a notification about the request (mail/threading.py's form)."""
    return f"<n{outbox_id}.r{request_id}@{DOMAIN}>"


def thread_root(request_id: int) -> str:
    return f"<request-{request_id}@{DOMAIN}>"


def reply_to_address(request_id: int) -> str:
    local, _, domain = INBOUND.partition("@")
    return f"{local}+r{request_id}@{domain}"


def _reply_headers(
    message: EmailMessage,
    *,
    sender: str,
    request_id: int,
    subject: str = "",
    to: str | None = None,
    message_id: str | None = None,
) -> EmailMessage:
    message["From"] = sender
    message["To"] = to or reply_to_address(request_id)
    message["Subject"] = subject or f"Re: [#{request_id}] Policy HM-1234 has the wrong address"
    message["Date"] = DATE
    message["Message-ID"] = message_id or make_msgid(domain="mail.example.com")
    message["In-Reply-To"] = our_message_id(request_id)
    message["References"] = f"{thread_root(request_id)} {our_message_id(request_id)}"
    return message


def _quoted(request_id: int, prefix: str = "> ") -> str:
    return "\n".join(prefix + line for line in QUOTED.format(request_id=request_id).splitlines())


# -- replies from people --------------------------------------------------------------------------


def gmail_reply(sender: str, request_id: int, words: str) -> Sample:
    """Gmail: plain and HTML alternatives, "On ... wrote:" and '>' quoting, a '-- ' signature."""
    message = _reply_headers(EmailMessage(), sender=sender, request_id=request_id)
    plain = (
        f"{words}\n\n-- \nAsha Assessor\nClaims, Harbour Mutual\n\n"
        f"On Mon, 2 Mar 2026 at 09:00, {DESK} wrote:\n\n{_quoted(request_id)}\n"
    )
    html = (
        f'<div dir="ltr">{words}<br><br>-- <br>Asha Assessor<br>Claims, Harbour Mutual</div>'
        f'<br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">On Mon, 2 Mar 2026 at '
        f"09:00, Followthrough &lt;{INBOUND}&gt; wrote:<br></div>"
        f'<blockquote class="gmail_quote">{QUOTED.format(request_id=request_id)}</blockquote></div>'
    )
    message.set_content(plain)
    message.add_alternative(html, subtype="html", cte="quoted-printable")
    return Sample(
        "gmail reply",
        message,
        Expected.PERSON,
        words,
        (QUOTED_WORDS, "Harbour Mutual", "wrote:"),
    )


def outlook_reply(sender: str, request_id: int, words: str) -> Sample:
    """Outlook desktop: a "From: ... Sent: ..." block under an underscore rule, top-posted."""
    message = _reply_headers(
        EmailMessage(), sender=sender, request_id=request_id, subject="RE: Policy HM-1234"
    )
    message["Thread-Index"] = "AdsK3n5Yb2h8mZq1TnKx0w=="
    quoted = QUOTED.format(request_id=request_id)
    message.set_content(
        f"{words}\n\n"
        "________________________________\n"
        f"From: {DESK}\n"
        "Sent: Monday, March 2, 2026 9:00 AM\n"
        "To: Asha Assessor <asha@example.com>\n"
        f"Subject: [#{request_id}] Policy HM-1234 has the wrong address\n\n"
        f"{quoted}\n"
    )
    return Sample("outlook reply", message, Expected.PERSON, words, (QUOTED_WORDS, "Sent:"))


def outlook_original_message_reply(sender: str, request_id: int, words: str) -> Sample:
    """Older Outlook: "-----Original Message-----" and a mobile signature."""
    message = _reply_headers(
        EmailMessage(), sender=sender, request_id=request_id, subject="RE: Policy HM-1234"
    )
    quoted = QUOTED.format(request_id=request_id)
    message.set_content(
        f"{words}\n\nSent from my Windows Phone\n\n"
        "-----Original Message-----\n"
        f"From: {DESK}\n"
        "Sent: 02 March 2026 09:00\n"
        "To: Asha Assessor\n"
        f"Subject: [#{request_id}] Policy HM-1234 has the wrong address\n\n"
        f"{quoted}\n"
    )
    return Sample(
        "outlook original message reply",
        message,
        Expected.PERSON,
        words,
        (QUOTED_WORDS, "Original Message", "Windows Phone"),
    )


def apple_mail_reply(sender: str, request_id: int, words: str) -> Sample:
    """Apple Mail on an iPhone: "Sent from my iPhone", then "On ..., at ..., X wrote:"."""
    message = _reply_headers(EmailMessage(), sender=sender, request_id=request_id)
    message["X-Mailer"] = "iPhone Mail (21D61)"
    message.set_content(
        f"{words}\n\nSent from my iPhone\n\n"
        f"> On 2 Mar 2026, at 09:00, {DESK} wrote:\n>\n{_quoted(request_id)}\n"
    )
    return Sample(
        "apple mail reply",
        message,
        Expected.PERSON,
        words,
        (QUOTED_WORDS, "Sent from my iPhone", "wrote:"),
    )


def html_only_reply(sender: str, request_id: int, words: str) -> Sample:
    """Outlook on the web sending HTML only: the quote under a divRplyFwdMsg block."""
    message = _reply_headers(
        EmailMessage(), sender=sender, request_id=request_id, subject="RE: Policy HM-1234"
    )
    quoted = QUOTED.format(request_id=request_id)
    message.set_content(
        "<html><head><style>p{margin:0}</style></head><body>"
        f'<div style="font-family:Calibri"><p>{words}</p></div>'
        '<hr style="display:inline-block;width:98%" tabindex="-1">'
        '<div id="divRplyFwdMsg" dir="ltr"><font face="Calibri"><b>From:</b> '
        f"Followthrough &lt;{INBOUND}&gt;<br><b>Sent:</b> Monday, March 2, 2026 9:00 AM<br>"
        "<b>To:</b> Asha Assessor &lt;asha@example.com&gt;<br>"
        f"<b>Subject:</b> [#{request_id}] Policy HM-1234</font><div>&nbsp;</div></div>"
        f"<div>{quoted}</div><script>alert(1)</script></body></html>",
        subtype="html",
        cte="quoted-printable",
    )
    return Sample("html-only reply", message, Expected.PERSON, words, (QUOTED_WORDS, "alert"))


def reply_with_attachment(sender: str, request_id: int, words: str, pdf: bytes) -> Sample:
    """A reply carrying a PDF and a program renamed to look harmless (refused by the store)."""
    message = _reply_headers(EmailMessage(), sender=sender, request_id=request_id)
    message.set_content(
        f"{words}\n\nOn Mon, 2 Mar 2026 at 09:00, {DESK} wrote:\n{_quoted(request_id)}\n"
    )
    message.add_attachment(
        pdf, maintype="application", subtype="pdf", filename="Corrected schedule.pdf"
    )
    message.add_attachment(
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 64,
        maintype="application",
        subtype="octet-stream",
        filename="invoice.pdf.exe",
    )
    return Sample(
        "reply with attachments",
        message,
        Expected.PERSON,
        words,
        (QUOTED_WORDS,),
        attachments=("Corrected schedule.pdf",),
    )


def new_request_mail(sender: str, to: str, subject: str, words: str) -> Sample:
    """A fresh mail (no thread headers) to a service's address."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = DATE
    message["Message-ID"] = make_msgid(domain="mail.example.com")
    message.set_content(f"{words}\n\n-- \nAsha Assessor\nClaims, Harbour Mutual\n")
    return Sample("new request mail", message, Expected.PERSON, words, ("Harbour Mutual",))


def list_copy(
    original: EmailMessage, list_address: str = "claims-team@example.com"
) -> EmailMessage:
    """The same reply as it arrives a second time through a mailing list copied on it: the
    same Message-ID and words, the list's own headers and footer."""
    copy = EmailMessage()
    for name in ("From", "Subject", "Date", "Message-ID", "In-Reply-To", "References"):
        copy[name] = original[name]
    copy["To"] = original["To"]
    copy["Cc"] = list_address
    copy["List-Id"] = f"Claims team <{list_address.replace('@', '.')}>"
    copy["Precedence"] = "list"
    copy["Sender"] = f"claims-team-bounces@{list_address.partition('@')[2]}"
    body = original.get_body(preferencelist=("plain",))
    assert body is not None
    copy.set_content(
        body.get_content() + "\n_______________\nClaims team mailing list\n"  # type: ignore[attr-defined]
    )
    return copy


# -- automatic replies ----------------------------------------------------------------------------


def _auto(
    name: str, request_id: int, headers: dict[str, str], body: str, subject: str = ""
) -> Sample:
    message = _reply_headers(
        EmailMessage(),
        sender="Asha Assessor <asha@example.com>",
        request_id=request_id,
        subject=subject or f"Out of office: [#{request_id}] Policy HM-1234",
    )
    for key, value in headers.items():
        message[key] = value
    message.set_content(body)
    return Sample(name, message, Expected.AUTO_REPLY)


OUT_OF_OFFICE = (
    "Thank you for your message. I am out of the office until Monday 9 March with limited "
    "access to mail. For urgent claims please call the claims line."
)


def auto_replies(request_id: int) -> list[Sample]:
    """Out-of-office and other automatic answers as the common servers and clients mark them
    (RFC 3834, Precedence, the X- headers of Exchange and of older autoresponders, and
    Exchange's subject-only "Automatic reply:" from clients that set no header)."""
    return [
        _auto(
            "RFC 3834 auto-replied",
            request_id,
            {"Auto-Submitted": "auto-replied"},
            OUT_OF_OFFICE,
        ),
        _auto(
            "RFC 3834 auto-generated",
            request_id,
            {"Auto-Submitted": "auto-generated"},
            OUT_OF_OFFICE,
        ),
        _auto(
            "RFC 3834 auto-notified (Sieve)",
            request_id,
            {"Auto-Submitted": 'auto-notified; owner-email="asha@example.com"'},
            OUT_OF_OFFICE,
        ),
        _auto("Precedence bulk", request_id, {"Precedence": "bulk"}, OUT_OF_OFFICE),
        _auto("Precedence junk", request_id, {"Precedence": "junk"}, OUT_OF_OFFICE),
        _auto(
            "Precedence auto_reply",
            request_id,
            {"Precedence": "auto_reply"},
            OUT_OF_OFFICE,
        ),
        _auto("X-Autoreply", request_id, {"X-Autoreply": "yes"}, OUT_OF_OFFICE),
        _auto("X-Autorespond", request_id, {"X-Autorespond": "vacation"}, OUT_OF_OFFICE),
        _auto(
            "Exchange X-Auto-Response-Suppress",
            request_id,
            {"X-Auto-Response-Suppress": "All", "X-MS-Exchange-Inbox-Rules-Loop": "x@y"},
            OUT_OF_OFFICE,
        ),
        _auto(
            "Exchange 'Automatic reply:' subject",
            request_id,
            {"Thread-Topic": "Policy HM-1234"},
            OUT_OF_OFFICE,
            subject=f"Automatic reply: [#{request_id}] Policy HM-1234",
        ),
        _auto(
            "Exchange 'Out of Office:' subject, no header",
            request_id,
            {},
            OUT_OF_OFFICE,
            subject=f"Out of Office: [#{request_id}] Policy HM-1234",
        ),
        _auto(
            "Exchange 'Autosvar:' (Norwegian) with X-Autoreply",
            request_id,
            {"X-Autoreply": "yes", "X-Auto-Response-Suppress": "All"},
            "Jeg er på ferie.",
            subject=f"Autosvar: [#{request_id}] Policy HM-1234",
        ),
        _auto(
            "Zimbra vacation (X-Autogenerated)",
            request_id,
            {"X-Autogenerated": "Reply"},
            OUT_OF_OFFICE,
        ),
        _auto(
            "Gmail vacation responder",
            request_id,
            {"Auto-Submitted": "auto-replied", "X-Autoreply": "yes"},
            OUT_OF_OFFICE,
            subject=f"Re: [#{request_id}] Policy HM-1234 has the wrong address",
        ),
        _auto(
            "Mailing list digest (List-Id and Precedence: list, no person's words)",
            request_id,
            {"Precedence": "list", "List-Id": "Claims digest <digest.example.com>"},
            "Today's digest: 3 messages.",
            subject="Claims digest, Vol 12, Issue 4",
        ),
    ]


# -- bounces --------------------------------------------------------------------------------------


def _original_sent(request_id: int, to: str) -> str:
    return (
        f"From: {DESK}\r\nTo: {to}\r\nSubject: [#{request_id}] Policy HM-1234\r\n"
        f"Message-ID: {our_message_id(request_id)}\r\n"
        f"References: {thread_root(request_id)}\r\n\r\nAn update on your request.\r\n"
    )


def dsn_bounce(request_id: int, failed: str, *, status: str = "5.1.1") -> Sample:
    """An RFC 3464 delivery status notification, byte for byte as Postfix writes one."""
    action = "failed" if status.startswith("5") else "delayed"
    raw = (
        "From: MAILER-DAEMON@mx.example.com (Mail Delivery System)\r\n"
        f"To: {INBOUND}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        f"Date: {DATE}\r\n"
        f"Message-ID: {make_msgid(domain='mx.example.com')}\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B1"\r\n'
        "\r\n"
        "--B1\r\n"
        "Content-Description: Notification\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
        "This is the mail system at host mx.example.com.\r\n\r\n"
        "I'm sorry to have to inform you that your message could not\r\n"
        "be delivered to one or more recipients.\r\n\r\n"
        f"<{failed}>: host mx.example.com said: 550 5.1.1 User unknown\r\n\r\n"
        "--B1\r\n"
        "Content-Description: Delivery report\r\n"
        "Content-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.com\r\n"
        "Arrival-Date: Mon,  2 Mar 2026 09:00:01 +0000 (UTC)\r\n\r\n"
        f"Final-Recipient: rfc822; {failed}\r\n"
        f"Original-Recipient: rfc822;{failed}\r\n"
        f"Action: {action}\r\n"
        f"Status: {status}\r\n"
        "Remote-MTA: dns; mx.example.com\r\n"
        f"Diagnostic-Code: smtp; 550 5.1.1 <{failed}>: Recipient address rejected\r\n\r\n"
        "--B1\r\n"
        "Content-Description: Undelivered Message Headers\r\n"
        "Content-Type: text/rfc822-headers\r\n\r\n"
        + _original_sent(request_id, failed)
        + "\r\n--B1--\r\n"
    )
    message = message_from_bytes(raw.encode(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    return Sample(f"RFC 3464 report ({status})", message, Expected.BOUNCE, failed_address=failed)


def exim_bounce(request_id: int, failed: str) -> Sample:
    """Exim's plain-text failure message (no delivery-status part)."""
    message = EmailMessage()
    message["From"] = "Mail Delivery System <Mailer-Daemon@mx.example.org>"
    message["To"] = INBOUND
    message["Subject"] = "Mail delivery failed: returning message to sender"
    message["Date"] = DATE
    message["Message-ID"] = make_msgid(domain="mx.example.org")
    message["X-Failed-Recipients"] = failed
    message["Auto-Submitted"] = "auto-replied"
    message.set_content(
        "This message was created automatically by mail delivery software.\n\n"
        "A message that you sent could not be delivered to one or more of its\n"
        "recipients. This is a permanent error. The following address(es) failed:\n\n"
        f"  {failed}\n"
        "    SMTP error from remote mail server after RCPT TO:<" + failed + ">:\n"
        "    550 5.1.1 User unknown\n\n"
        "------ This is a copy of the message, including all the headers. ------\n\n"
        + _original_sent(request_id, failed).replace("\r\n", "\n")
    )
    return Sample("Exim failure (non-standard)", message, Expected.BOUNCE, failed_address=failed)


def qmail_bounce(request_id: int, failed: str) -> Sample:
    """qmail's plain-text failure message, with no Auto-Submitted header at all."""
    message = EmailMessage()
    message["From"] = "MAILER-DAEMON@mx.example.net"
    message["To"] = INBOUND
    message["Subject"] = "failure notice"
    message["Date"] = DATE
    message["Message-ID"] = make_msgid(domain="mx.example.net")
    message.set_content(
        "Hi. This is the qmail-send program at mx.example.net.\n"
        "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
        "This is a permanent error; I've given up. Sorry it didn't work out.\n\n"
        f"<{failed}>:\n"
        "Sorry, no mailbox here by that name. (#5.1.1)\n\n"
        "--- Below this line is a copy of the message.\n\n"
        + _original_sent(request_id, failed).replace("\r\n", "\n")
    )
    return Sample("qmail failure (non-standard)", message, Expected.BOUNCE, failed_address=failed)


def delayed_dsn(request_id: int, address: str) -> Sample:
    """A 'delayed, still trying' report: machine mail, but not a failure to stop mail for."""
    sample = dsn_bounce(request_id, address, status="4.4.1")
    return Sample(
        "RFC 3464 delay (4.4.1, temporary)", sample.message, Expected.BOUNCE, failed_address=""
    )


def bounces(request_id: int, failed: str) -> list[Sample]:
    return [
        dsn_bounce(request_id, failed),
        exim_bounce(request_id, failed),
        qmail_bounce(request_id, failed),
        delayed_dsn(request_id, failed),
    ]


def person_replies(sender: str, request_id: int) -> list[Sample]:
    """The major clients' replies, each with its own words."""
    return [
        gmail_reply(sender, request_id, "The correct address is 12 High Street, Leeds."),
        outlook_reply(sender, request_id, "Please use the address on the claim form."),
        outlook_original_message_reply(sender, request_id, "The broker confirmed it today."),
        apple_mail_reply(sender, request_id, "Thanks, Wednesday works for me."),
        html_only_reply(sender, request_id, "The postcode should be LS1 4AB."),
    ]


def whole_corpus(sender: str, request_id: int, failed: str) -> list[Sample]:
    """Every kind of message above, about one request."""
    return [
        *person_replies(sender, request_id),
        *auto_replies(request_id),
        *bounces(request_id, failed),
    ]
