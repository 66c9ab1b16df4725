"""Reading an incoming mail: who sent it, to whom, what it answers, the words its sender wrote
and the files it carries.

The words are the reply without what it quotes and without the signature, found by
mail-parser-reply: tried against quotequail on the tests' corpus (Gmail, Outlook's "From:/Sent:"
block and "-----Original Message-----", Apple Mail, HTML-only Outlook on the web), it found the
new words in every sample and also removed signatures ("-- ", "Sent from my iPhone"), which
quotequail leaves in (it splits quotes only, and kept the "-----Original Message-----" line and
the "On ... wrote:" line above a quote). HTML-only mail is turned into text first, keeping
its line breaks, rules and quote blocks so the reply parser sees the same shapes as in text.

Pure: bytes in, a frozen record out.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser

from mailparser_reply import EmailMessage as ParsedReply
from mailparser_reply import EmailReply as ParsedPart

from followthrough.mail.safety import Classified, classify, normalised_address

# What of a reply is kept as an update: a person's words, not a whole forwarded thread.
MAX_WORDS = 10_000
# The characters of a Message-ID kept to know a mail again. Real ones are far shorter; at four
# UTF-8 bytes a character at most, this many still fit PostgreSQL's index entry (2,704 bytes)
# beside the content hash, where 998 characters of a wide script did not and the mail could
# never be recorded.
MAX_MESSAGE_ID = 255


@dataclass(frozen=True)
class MailFile:
    """A file attached to the mail: the name its sender gave it and its bytes."""

    file_name: str
    content: bytes


@dataclass(frozen=True)
class ReadMail:
    """An incoming mail as the desk needs it."""

    message_id: str
    sender: str  # the bare address, lower case
    sender_name: str
    recipients: tuple[str, ...]  # To, Cc and the envelope's recipients, as written
    subject: str
    in_reply_to: str
    references: str
    words: str  # a reply's own words: what becomes an update
    need: str  # what the mail says as a new request, forwarded mail and all
    files: tuple[MailFile, ...]
    classified: Classified
    content_hash: str


# -- HTML to text ---------------------------------------------------------------------------------

_BLOCKS = frozenset(
    {"p", "div", "br", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6", "pre"}
)
_SKIPPED = frozenset({"script", "style", "head", "title"})
# Outlook's rule above a quoted message; the reply parser knows this separator.
_RULE = "\n________________________________\n"


class _TextOfHtml(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.quote_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self.skipping += 1
        elif tag == "hr":
            self.parts.append(_RULE)
        elif tag == "blockquote":
            self.quote_depth += 1
            self.parts.append("\n")
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag == "blockquote":
            self.quote_depth = max(0, self.quote_depth - 1)
            self.parts.append("\n")
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        text = data.replace("\xa0", " ")
        if self.quote_depth:
            text = "\n".join("> " * self.quote_depth + line for line in text.split("\n"))
        self.parts.append(text)


def html_to_text(html: str) -> str:
    """The text of an HTML mail body, with its line breaks; scripts and styles dropped."""
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    lines = [
        " ".join(line.split()) if not line.startswith(">") else line.rstrip()
        for line in "".join(parser.parts).split("\n")
    ]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# -- the reply's words ----------------------------------------------------------------------------


def _text_of(part: Message) -> str:
    """The part's text in the charset it names. 8-bit text that names none, names ASCII or
    names one nobody knows is read as UTF-8 when it is that, else as Windows-1252: what such
    mail from scripts, phones and old clients nearly always is (read as ASCII, every accented
    letter became a replacement character)."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = (part.get_content_charset() or "us-ascii").lower()
    if charset not in ("us-ascii", "ascii"):
        try:
            return payload.decode(charset, "replace")
        except (LookupError, ValueError):  # no such codec, or none for text ("zlib", "idna")
            pass
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        return payload.decode("cp1252", "replace")


def body_text(message: EmailMessage) -> str:
    """The plain-text body, or the HTML body as text when there is no plain one."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = _text_of(part)
    return html_to_text(content) if part.get_content_type() == "text/html" else content


# A quoted line as clients write it: "> text", ">> text" or a bare ">" (not ">5000").
_QUOTED_LINE = re.compile(r"^[ \t]*>(?:[ >\t]|$)")


def _introduces_quote(line: str) -> bool:
    """The line a client writes above a quote, in any language: it names the quoted sender's
    address and ends in a colon ("El lun, 2 mar 2026, Ana <ana@example.com> escribió:")."""
    return "@" in line and line.rstrip().endswith(":")


def _without_quote(words: str) -> str:
    """The lines that are not quoted, nor the attribution line right above a quote."""
    lines = words.split("\n")
    quoted = [bool(_QUOTED_LINE.match(line)) for line in lines]
    # For each line, whether the next line with any text is quoted (one pass from the end).
    quote_follows = [False] * len(lines)
    upcoming = False
    for index in range(len(lines) - 1, -1, -1):
        quote_follows[index] = upcoming
        if lines[index].strip():
            upcoming = quoted[index]
    kept = [
        line
        for line, is_quoted, before_quote in zip(lines, quoted, quote_follows, strict=True)
        if not is_quoted and not (before_quote and _introduces_quote(line))
    ]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept))


# The line a phone or mail app adds under what its user typed, in the languages the reply
# parser reads (it knows only some of them: "Sent from my iPhone" but not "Von meinem iPhone
# gesendet" or "Sent from Outlook for Android"). Short, and only as the reply's last line.
_SENT_FROM = re.compile(
    r"(sent from my |sent from (outlook|mail|yahoo mail) for |get outlook for |"
    r"von meinem .{1,30} gesendet|gesendet von meinem |gesendet von (outlook|mail) für |"
    r"envoyé de mon |envoyé depuis mon |envoyé à partir de outlook pour |"
    r"enviado desde mi |enviado desde outlook para |inviato dal mio |"
    r"verstuurd vanaf mijn |verzonden vanaf mijn |verzonden met outlook voor ).{0,40}",
    re.IGNORECASE,
)


def _without_sent_from(words: str) -> str:
    lines = words.split("\n")
    while lines and (not lines[-1].strip() or _SENT_FROM.fullmatch(lines[-1].strip())):
        lines.pop()
    return "\n".join(lines)


def _replies(text: str) -> list[ParsedPart]:
    """The mail's text split into its writer's part and each part it quotes or forwards."""
    parsed = ParsedReply(
        text,
        languages=["en", "de", "fr", "es", "it", "nl"],
        # By default a line starting "- " is taken for a signature and everything from it on
        # is cut: a reply answering with a list lost the list. "-- " still starts a signature.
        keep_hyphen_lists=True,
    ).read()
    return list(parsed.replies)


def _reply_words(replies: list[ParsedPart], text: str) -> str:
    """What the sender wrote, above or below the quote, without the quote, signature or
    disclaimer."""
    words = replies[0].body if replies else text
    # A reply written below the quote (or between its lines) begins with it, and the parser
    # keeps it as the reply's body; a quote under an attribution line in a language the
    # parser does not know stays in the body too. Neither is the sender's words.
    return _without_sent_from(_without_quote(words)).strip()[:MAX_WORDS]


def _request_words(replies: list[ParsedPart], text: str) -> str:
    """What a new mail to a service asks: its sender's words without their signature, and
    under them each mail it forwards whole, with the lines saying who wrote it and when.
    Forwarding a customer's mail is how the front line raises a request about it; cut as a
    quote, the customer's words were lost (and a bare forward was refused as empty)."""
    if not replies:
        return text.strip()[:MAX_WORDS]
    own = _without_sent_from(replies[0].body).strip()
    forwarded = [f"{part.headers}\n\n{part.full_body}".strip() for part in replies[1:]]
    return "\n\n".join(piece for piece in (own, *forwarded) if piece)[:MAX_WORDS]


def attached_files(message: EmailMessage) -> tuple[MailFile, ...]:
    """The files the mail carries (inline images without a name are not files anyone sent)."""
    found = []
    for part in message.iter_attachments():
        name = part.get_filename()
        payload = part.get_payload(decode=True)
        if not name or not isinstance(payload, bytes):
            continue
        found.append(MailFile(str(name), payload))
    return tuple(found)


def content_hash(kind: str, sender: str, words: str, files: tuple[MailFile, ...]) -> str:
    """The identity of what a mail says: the same words and files from the same sender, read
    as the same kind. Two copies of one reply (directly and through a list) share it; a sender
    reusing a Message-ID for new words does not (FreeScout #5591)."""
    digest = hashlib.sha256()
    for piece in (kind, sender, " ".join(words.split())):
        digest.update(piece.encode("utf-8"))
        digest.update(b"\0")
    for file in files:
        digest.update(hashlib.sha256(file.content).digest())
    return digest.hexdigest()


def _without_nul(text: str) -> str:
    """The text without NUL characters: no client means one, and PostgreSQL cannot store one
    in a text column (a mail holding one would never be taken)."""
    return text.replace("\x00", "")


def _header(message: Message, name: str) -> str:
    value = message.get(name)
    return "" if value is None else " ".join(_without_nul(str(value)).split())


def read_mail(raw: bytes, envelope_recipients: tuple[str, ...] = ()) -> ReadMail:
    """An incoming mail from its bytes (as received over SMTP/LMTP or fetched over IMAP)."""
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    name, address = parseaddr(_header(message, "from"))
    classified = classify(message)
    recipients = tuple(
        a for _n, a in getaddresses([_header(message, "to"), _header(message, "cc")]) if a
    )
    text = (
        _without_nul(body_text(message)).replace("\r\n", "\n")
        if classified.kind == "person"
        else ""
    )
    replies = _replies(text) if text else []
    words = _reply_words(replies, text)
    need = _request_words(replies, text)
    files = attached_files(message) if classified.kind == "person" else ()
    sender = normalised_address(address)
    message_id = _header(message, "message-id")[:MAX_MESSAGE_ID]
    said = words if classified.kind == "person" else hashlib.sha256(raw).hexdigest()
    if not message_id:
        # Known by what it says alone, the same "Done." to a second request would be taken
        # for a copy of the first and dropped: what it answers, to whom and when count too
        # (a second delivery of the one mail still has them all the same).
        answered = ("date", "to", "cc", "in-reply-to", "references", "subject")
        said = "\n".join([said, *(_header(message, name) for name in answered)])
    return ReadMail(
        message_id=message_id,
        sender=sender,
        sender_name=name.strip(),
        recipients=(*recipients, *envelope_recipients),
        subject=_header(message, "subject")[:998],
        in_reply_to=_header(message, "in-reply-to"),
        references=_header(message, "references"),
        words=words,
        need=need,
        files=files,
        classified=classified,
        # Machine mail has no words kept: its whole bytes tell one report from another.
        content_hash=content_hash(classified.kind, sender, said, files),
    )


def read_headers(raw: bytes) -> tuple[str, str, str]:
    """(Message-ID, the sender's bare address, subject) from the headers alone: what can still
    be told of a mail whose parts cannot be read."""
    message = BytesParser(policy=policy.default).parsebytes(raw, headersonly=True)
    return (
        _header(message, "message-id")[:MAX_MESSAGE_ID],
        normalised_address(parseaddr(_header(message, "from"))[1]),
        _header(message, "subject")[:998],
    )
