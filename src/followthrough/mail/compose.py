"""Writing each outgoing message: headers that thread it and keep auto-replies away, and a
plain-text and an HTML body written for the person, on their own clock.

Every message about a request has the same subject and refers to the request's thread root, so
the request is one thread in every client (Gmail also needs the subject to stay the same).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email import charset as charsets
from email.generator import BytesGenerator
from email.header import Header
from email.headerregistry import Address
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import format_datetime, formataddr, parseaddr
from io import BytesIO
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from followthrough.config import Settings
from followthrough.fields import same_secret
from followthrough.mail.preferences import KIND_LABELS
from followthrough.mail.threading import message_id_for, reply_address, thread_root_id
from followthrough.org.local_time import Clock, clock_of, localise_text, show_instant

# The unsubscribe link of a daily summary names this instead of a kind.
DIGEST = "digest"
TEMPLATES = Path(__file__).parent / "templates"
# HTML templates escape every value; the plain-text ones write values as they are.
_environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)

_WAITING_ON = {
    "requester": "the requester",
    "sub_request": "a sub-request",
    "outside": "someone outside",
}


def state_words(state: str, waiting_on: str | None) -> str:
    """A request's state as a person says it: "in progress", "waiting on the requester"."""
    if state == "waiting" and waiting_on in _WAITING_ON:
        return f"waiting on {_WAITING_ON[waiting_on]}"
    return state.replace("_", " ")


@dataclass(frozen=True)
class Reader:
    """The person a message is for."""

    person_id: int
    name: str
    email: str
    timezone: str | None
    locale: str | None

    @property
    def clock(self) -> Clock:
        return clock_of(self.timezone, self.locale)


@dataclass(frozen=True)
class RequestFacts:
    """What a message says about the request, as it stands when the message is written."""

    request_id: int
    title: str
    state: str
    waiting_on: str | None
    owner_name: str
    next_update_due_at: datetime | None


@dataclass(frozen=True)
class Item:
    """One notification going out, alone or in a daily summary."""

    outbox_id: int
    kind: str
    message: str
    created_at: datetime
    request: RequestFacts | None
    # The signed link for the one thing the reader can do about it (followthrough.links), if any.
    action_url: str | None = None
    # An iCalendar invitation or cancellation to send with it (notify.models.Notification).
    calendar: str | None = None


# The words on the button of a message whose reader has one thing to do (followthrough.links
# decides whether they have, and signs the link).
ACTION_WORDS = {
    "offer": "Accept or decline the request",
    "promise_due": "Mark your promise kept",
    "resolved": "Confirm the resolution",
}


def unsubscribe_token(settings: Settings, person_id: int, kind: str) -> str:
    """A token that lets whoever holds it turn off one kind of mail for one person, and nothing
    more (it names both, signed with the secret key); it does not expire."""
    signature = _signature(settings, f"unsubscribe:{person_id}:{kind}")
    return f"{person_id}.{kind}.{signature}"


def read_unsubscribe_token(settings: Settings, token: str) -> tuple[int, str] | None:
    """(person, kind) a genuine token names, else None."""
    if settings.secret_key is None:
        return None  # nothing can be checked, so nothing is believed
    person, _, rest = token.partition(".")
    kind, _, signature = rest.partition(".")
    digits = person.isascii() and person.isdigit()
    if not digits or len(person) > 18 or (kind not in KIND_LABELS and kind != DIGEST):
        return None
    expected = _signature(settings, f"unsubscribe:{int(person)}:{kind}")
    if not same_secret(signature, expected):
        return None
    return int(person), kind


def _signature(settings: Settings, text: str) -> str:
    if settings.secret_key is None:
        raise MissingSecret()
    key = settings.secret_key.get_secret_value().encode()
    digest = hmac.new(key, text.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")


class MissingSecret(Exception):
    """Links in mail are signed; without a secret key no mail goes out."""

    def __init__(self) -> None:
        super().__init__(
            "secret_key is not set (FOLLOWTHROUGH_SECRET_KEY): links in mail are signed with it"
        )


def _base(settings: Settings) -> str:
    return settings.public_url.rstrip("/")


# Messages are built with the classic (compat32) email classes: the modern EmailMessage parses
# every header it is given through the header registry, which was most of the time it took to
# send a message (docs/benchmarks.md). Values are encoded here instead: RFC 2047 only where a
# header is not plain ASCII, bodies as quoted-printable UTF-8.
# Headers are not folded below SMTP's 998: a folded List-Unsubscribe or Message-ID would come
# back with the fold's space in it from some parsers.
_WIRE = compat32.clone(linesep="\r\n", max_line_length=998)
_UTF8_QP = charsets.Charset("utf-8")
_UTF8_QP.header_encoding = charsets.QP
_UTF8_QP.body_encoding = charsets.QP


def _one_line(text: str) -> str:
    """A title or name as a header holds it: one line. The API and the admin pages take any
    text, and a line break left in a header ends the headers early (Reply-To and the
    threading headers become body text) or starts what looks like a header of its own."""
    return " ".join(text.split())


def _header_text(text: str) -> str | Header:
    text = _one_line(text)
    return text if text.isascii() else Header(text, "utf-8")


def _address(text: str) -> str:
    name, address = parseaddr(text)
    return formataddr((name, address), charset="utf-8") if name else address


def wire_bytes(message: Message) -> bytes:
    """The message as sent: CRLF line ends, lines within SMTP's limit."""
    out = BytesIO()
    BytesGenerator(out, policy=_WIRE).flatten(message)
    return out.getvalue()


def _bodies(text: str, html: str, calendar: str | None = None) -> MIMEMultipart:
    message = MIMEMultipart("alternative")
    message.attach(MIMEText(text, "plain", _UTF8_QP))  # type: ignore[arg-type]
    message.attach(MIMEText(html, "html", _UTF8_QP))  # type: ignore[arg-type]
    if calendar is not None:
        message.attach(_calendar_part(calendar))
    return message


_METHOD = re.compile(r"^METHOD:([A-Z-]+)\r?$", re.MULTILINE)


def _calendar_part(calendar: str) -> MIMEText:
    # As calendar programs send invitations (RFC 6047): a text/calendar alternative whose
    # `method` parameter repeats the object's METHOD, so clients offer to add or remove it.
    # Base64 keeps the object's CRLF line ends exactly.
    part = MIMEText(calendar, "calendar", "utf-8")
    found = _METHOD.search(calendar)
    if found:
        part.set_param("method", found.group(1))
    return part


def _common_headers(
    message: Message, settings: Settings, reader: Reader, message_id: str, at: datetime
) -> None:
    message["From"] = _address(settings.mail_from)
    message["To"] = formataddr((_one_line(reader.name), reader.email), charset="utf-8")
    message["Date"] = format_datetime(at)
    message["Message-ID"] = message_id
    # RFC 3834: a machine wrote this, so no auto-responder should answer it; Outlook/Exchange
    # read their own header for the same thing.
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"


def _unsubscribe_url(settings: Settings, reader: Reader, kind: str) -> str:
    token = unsubscribe_token(settings, reader.person_id, kind)
    return f"{_base(settings)}/mail/unsubscribe/{token}"


def _unsubscribe_headers(message: Message, url: str) -> None:
    message["List-Unsubscribe"] = f"<{url}>"
    # RFC 8058: a mail client may unsubscribe with one POST, no page in between.
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"


def subject_for(request: RequestFacts | None, item: Item) -> str:
    if request is None:
        return KIND_LABELS.get(item.kind, "Notification")
    return f"#{request.request_id} {request.title}"


def _context(settings: Settings, reader: Reader, item: Item, now: datetime) -> dict[str, object]:
    clock = reader.clock
    request = item.request
    request_url = None if request is None else f"{_base(settings)}/requests/{request.request_id}"
    action = item.action_url
    return {
        "reader": reader,
        "item": item,
        "what_changed": localise_text(item.message, clock, item.created_at),
        "when": show_instant(item.created_at, clock),
        "kind_label": KIND_LABELS.get(item.kind, item.kind.replace("_", " ")),
        "request": request,
        "state": None if request is None else state_words(request.state, request.waiting_on),
        "next_update": None
        if request is None or request.next_update_due_at is None
        else show_instant(request.next_update_due_at, clock),
        "request_url": request_url,
        "action_url": action or request_url or f"{_base(settings)}/notifications",
        "action_text": ACTION_WORDS.get(item.kind, "Open the link")
        if action
        else ("Open the request" if request else "Open your notifications"),
    }


def notification_message(
    settings: Settings, reader: Reader, item: Item, message_id: str, now: datetime
) -> Message:
    """The message for one notification, sent at once."""
    context = _context(settings, reader, item, now)
    context["unsubscribe_url"] = _unsubscribe_url(settings, reader, item.kind)
    context["preferences_url"] = f"{_base(settings)}/profile/notifications"
    message = _bodies(
        _environment.get_template("notification.txt").render(context),
        _environment.get_template("notification.html").render(context),
        item.calendar,
    )
    _common_headers(message, settings, reader, message_id, item.created_at)
    request = item.request
    message["Subject"] = _header_text(subject_for(request, item))  # type: ignore[assignment]
    if request is not None:
        root = thread_root_id(request.request_id, settings.mail_domain)
        message["In-Reply-To"] = root
        message["References"] = root
        message["Reply-To"] = reply_address(settings.mail_inbound_address, request.request_id)
    else:
        message["Reply-To"] = settings.mail_inbound_address
    _unsubscribe_headers(message, str(context["unsubscribe_url"]))
    return message


def digest_message(
    settings: Settings,
    reader: Reader,
    items: Sequence[Item],
    message_id: str,
    now: datetime,
) -> Message:
    """The person's daily summary: every notification held for it, oldest first, one message."""
    count = len(items)
    # Unsubscribing from the summary turns off every kind the person gets in it.
    unsubscribe = _unsubscribe_url(settings, reader, DIGEST)
    context = {
        "reader": reader,
        "entries": [_context(settings, reader, item, now) for item in items],
        "count": count,
        "day": show_instant(now, reader.clock),
        "unsubscribe_url": unsubscribe,
        "preferences_url": f"{_base(settings)}/profile/notifications",
    }
    message: MIMEMultipart = _bodies(
        _environment.get_template("digest.txt").render(context),
        _environment.get_template("digest.html").render(context),
    )
    calendars = [item.calendar for item in items if item.calendar is not None]
    if calendars:
        # A summary holds several notifications, so their invitations go as attachments, one
        # .ics each, after the text (a calendar alternative stands for a single message).
        mixed = MIMEMultipart("mixed")
        mixed.attach(message)
        for number, calendar in enumerate(calendars, start=1):
            part = _calendar_part(calendar)
            part.add_header(
                "Content-Disposition", "attachment", filename=f"invitation-{number}.ics"
            )
            mixed.attach(part)
        message = mixed
    _common_headers(message, settings, reader, message_id, now)
    message["Subject"] = f"Your daily summary: {count} notification{'s' if count != 1 else ''}"
    message["Reply-To"] = settings.mail_inbound_address
    _unsubscribe_headers(message, unsubscribe)
    return message


def envelope_sender(settings: Settings) -> str:
    """The bare address of `mail_from` (bounces come back to it)."""
    address = parseaddr(settings.mail_from)[1]
    Address(addr_spec=address)  # refuses a malformed one
    return address


__all__ = [
    "Item",
    "MissingSecret",
    "Reader",
    "RequestFacts",
    "digest_message",
    "envelope_sender",
    "message_id_for",
    "notification_message",
    "read_unsubscribe_token",
    "unsubscribe_token",
    "wire_bytes",
]
