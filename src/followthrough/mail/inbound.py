"""Mail in: gather the facts about a received mail, decide (inbound_rules), carry it out.

One mail is one transaction, whichever way it came (the receiver, the mailbox): its row, the
update or request it makes, its files, a bounce's mark and a refusal to send back all commit
together or not at all. Services only flush; the caller's unit of work commits. Changes to
requests go through the request services, so the lifecycle's own rules apply unchanged.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from followthrough.attachments.service import Upload, add_attachment
from followthrough.attachments.storage import AttachmentStore
from followthrough.config import Settings
from followthrough.db import Database
from followthrough.errors import DomainError, InvalidInput
from followthrough.mail import threading
from followthrough.mail.inbound_models import BouncingAddress, InboundMail, ServiceMailAddress
from followthrough.mail.inbound_rules import (
    REFUSALS,
    Decision,
    MailFacts,
    Outcome,
    RequestSeen,
    decide,
)
from followthrough.mail.inbound_text import MailFile, ReadMail, read_headers, read_mail
from followthrough.mail.outbound_rules import is_permanent
from followthrough.mail.safety import MailKind, normalised_address, over_rate_limit
from followthrough.mail.smtp import SendFailure
from followthrough.notify.service import notify
from followthrough.org.actors import Actor
from followthrough.org.models import Person
from followthrough.org.service import actor_of, get_service
from followthrough.requests import service as requests
from followthrough.requests.models import Request, RequestParticipant
from followthrough.requests.rules import is_working_on

log = logging.getLogger(__name__)

# A person answers a few mails an hour; more than this from one sender in the window is a loop
# or a flood (the mail is kept, not acted on, never answered).
RATE_LIMIT = 30
RATE_WINDOW = timedelta(minutes=10)
# Hours a refusal to the same sender is not repeated: one polite answer is enough.
ANSWER_QUIET = timedelta(hours=1)
# The kind of a mail set aside: it could not be read, so neither a person nor a machine is told.
UNREADABLE = "unreadable"


@dataclass(frozen=True)
class Received:
    """What became of one mail: its row (None when it was a copy already received)."""

    mail: InboundMail | None
    outcome: Outcome | None


def _person_by_address(session: Session, address: str) -> Person | None:
    if not address:
        return None
    return session.scalar(
        select(Person).where(func.lower(Person.email) == address, Person.active.is_(True))
    )


def _request_seen(session: Session, request_id: int, actor: Actor | None) -> RequestSeen | None:
    request = session.get(Request, request_id)
    if request is None:
        return None
    takes_part = False
    if actor is not None:
        takes_part = (
            actor.person_id in (request.requester_id, request.owner_id)
            or is_working_on(actor, request.owner_id, request.team_id)
            or session.get(RequestParticipant, (request.id, actor.person_id)) is not None
        )
    return RequestSeen(request.id, request.state, takes_part)


def _service_of(session: Session, mail: ReadMail, inbound_address: str) -> int | None:
    slug = threading.service_slug_from_addresses(mail.recipients, inbound_address)
    if slug is not None:
        return session.scalar(
            select(ServiceMailAddress.service_id).where(ServiceMailAddress.slug == slug)
        )
    addresses = {normalised_address(a) for a in mail.recipients}
    if not addresses:
        return None
    # The services' own addresses are few; a mail's recipients may be tens of thousands (one
    # envelope, or a Cc line), more than one query takes parameters. So they meet here.
    services = session.execute(
        select(func.lower(ServiceMailAddress.address), ServiceMailAddress.service_id).where(
            ServiceMailAddress.address.is_not(None)
        )
    )
    return min((service for address, service in services if address in addresses), default=None)


def _recent_arrivals(session: Session, sender: str, now: datetime, row_id: int) -> list[datetime]:
    """The sender's mails received within the window before this one."""
    return list(
        session.scalars(
            select(InboundMail.received_at)
            .where(
                InboundMail.sender == sender,
                InboundMail.received_at > now - RATE_WINDOW,
                InboundMail.id != row_id,
            )
            .limit(RATE_LIMIT)
        )
    )


_OUR_IDS = re.compile(rb"<[^<>@\s]+@[^<>@\s]+>")


def _request_of_bounce(raw: bytes, settings: Settings) -> int | None:
    """The request a bounced message was about: a report quotes our Message-IDs (the original's
    headers), which name it."""
    ids = " ".join(m.decode("ascii", "replace") for m in _OUR_IDS.findall(raw)[:200])
    return threading.request_id_from_headers(
        (), None, ids, settings.mail_domain, settings.mail_inbound_address
    )


def _claim(session: Session, row: InboundMail) -> bool:
    """Add the mail's row unless the same mail (Message-ID and content) is already there.

    The unique constraint decides, so two ways in receiving one mail at once (the receiver and
    the mailbox, two pollers) still record it once; the loser's savepoint rolls back only its row.
    """
    if row.message_id:
        seen = session.scalar(
            select(InboundMail.id).where(
                InboundMail.message_id == row.message_id,
                InboundMail.content_hash == row.content_hash,
            )
        )
        if seen is not None:
            return False
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return False
    return True


def receive(
    session: Session,
    store: AttachmentStore,
    settings: Settings,
    raw: bytes,
    *,
    came_by: str,
    now: datetime,
    envelope_recipients: tuple[str, ...] = (),
) -> Received:
    """Take one mail: record it once, and do what `decide` says, in the session's transaction."""
    if len(raw) > settings.mail_receiver_max_bytes:
        # The mailbox poller fetches at most one byte more than this (imap._raw): what it
        # has is the mail's start, enough for its headers.
        reason = f"larger than the {settings.mail_receiver_max_bytes} bytes a mail may be"
        return _set_aside(session, raw, came_by, now, reason)
    try:
        mail = read_mail(raw, envelope_recipients)
    except Exception as unreadable:
        log.warning("a received mail could not be read; set aside", exc_info=unreadable)
        reason = f"could not be read: {type(unreadable).__name__}: {unreadable}"
        return _set_aside(session, raw, came_by, now, reason)
    row = InboundMail(
        # A mail without a Message-ID is known by what it says alone.
        message_id=mail.message_id,
        content_hash=mail.content_hash,
        sender=mail.sender[:254],
        subject=mail.subject,
        received_at=now,
        came_by=came_by,
        kind=mail.classified.kind,
        outcome="",
    )
    if not _claim(session, row):
        return Received(None, None)

    person = _person_by_address(session, mail.sender)
    actor = actor_of(session, person.id) if person is not None else None
    named = threading.request_id_from_headers(
        mail.recipients,
        mail.in_reply_to,
        mail.references,
        settings.mail_domain,
        settings.mail_inbound_address,
    )
    facts = MailFacts(
        kind=mail.classified.kind,
        sender_person_id=None if person is None else person.id,
        named_request_id=named,
        request=None if named is None else _request_seen(session, named, actor),
        service_id=_service_of(session, mail, settings.mail_inbound_address),
        # A reply adds its own words; a new request is all the mail says (what it forwards).
        has_words=bool(mail.words if named is not None else mail.need),
        has_files=bool(mail.files),
        failed_for_good=bool(mail.classified.failed_for_good),
        over_rate_limit=mail.classified.kind == MailKind.PERSON
        and over_rate_limit(
            _recent_arrivals(session, mail.sender, now, row.id),
            now,
            limit=RATE_LIMIT,
            window=RATE_WINDOW,
        ),
    )
    decision = decide(facts)
    row.person_id = facts.sender_person_id
    outcome, reason = _carry_out(session, store, settings, mail, raw, row, decision, actor, now)
    row.outcome = outcome
    row.reason = reason
    answer = decision.answer_sender or outcome == Outcome.REFUSED_BY_REQUEST
    if answer and _may_answer(session, mail.sender, now, row.id):
        row.answer_state = "pending"
        row.answer_to = mail.sender
    session.flush()
    return Received(row, outcome)


def _set_aside(session: Session, raw: bytes, came_by: str, now: datetime, why: str) -> Received:
    """Keep a mail that cannot be read (parts nested a thousand deep make the parser give up,
    or it is too large), with why, and do nothing else. It would fail the same way on every
    try: left in place, the mailbox poll would retry it for ever and the receiver would answer
    451 until the forwarding server gave up. Nothing in it is trusted, so it is never
    answered."""
    try:
        message_id, sender, subject = read_headers(raw)
    except Exception:  # headers as broken as the parts: the row still says why
        message_id = sender = subject = ""
    row = InboundMail(
        message_id=message_id,
        content_hash=hashlib.sha256(raw).hexdigest(),
        sender=sender[:254],
        subject=subject,
        received_at=now,
        came_by=came_by,
        kind=UNREADABLE,
        outcome=Outcome.SET_ASIDE,
        reason=why[:2000],
    )
    if not _claim(session, row):
        return Received(None, None)
    return Received(row, Outcome.SET_ASIDE)


def _carry_out(
    session: Session,
    store: AttachmentStore,
    settings: Settings,
    mail: ReadMail,
    raw: bytes,
    row: InboundMail,
    decision: Decision,
    actor: Actor | None,
    now: datetime,
) -> tuple[Outcome, str]:
    outcome = decision.outcome
    if outcome == Outcome.BOUNCE_RECORDED:
        request_id = _request_of_bounce(raw, settings)
        row.request_id = request_id if session.get(Request, request_id or 0) else None
        _mark_bouncing(session, mail.classified.failed_for_good, row.request_id, now)
        return outcome, "mail to " + ", ".join(sorted(mail.classified.failed_for_good)) + " failed"
    if outcome in REFUSALS:
        return outcome, REFUSALS[outcome]
    if outcome not in (Outcome.UPDATE, Outcome.ANSWER_CLARIFICATION, Outcome.OPEN_REQUEST):
        return outcome, ""
    assert actor is not None
    try:
        # A refusal by the request's own rules undoes only what this mail did.
        with session.begin_nested():
            request_id, refused_files = _change_request(
                session, store, settings, mail, decision, actor, now
            )
    except DomainError as refused:
        return Outcome.REFUSED_BY_REQUEST, str(refused)
    row.request_id = request_id
    row.attachments = len(mail.files) - len(refused_files)
    if refused_files:
        return outcome, "files not kept: " + "; ".join(refused_files)
    return outcome, ""


def _change_request(
    session: Session,
    store: AttachmentStore,
    settings: Settings,
    mail: ReadMail,
    decision: Decision,
    actor: Actor,
    now: datetime,
) -> tuple[int, list[str]]:
    said = mail.need if decision.outcome == Outcome.OPEN_REQUEST else mail.words
    words = _without_signed_links(said, settings.public_url)
    words = words or "Sent by mail: " + ", ".join(f.file_name for f in mail.files)
    if decision.outcome == Outcome.OPEN_REQUEST:
        title = " ".join(mail.subject.split())[:200] or words.splitlines()[0][:200]
        opened = requests.open_request(
            session,
            actor,
            requests.NewRequest(
                title=title, need=words, service_id=_service_id(session, mail, settings)
            ),
            now,
        )
        request_id = opened.id
    else:
        request_id = _named(mail, settings)
        if decision.outcome == Outcome.ANSWER_CLARIFICATION:
            requests.answer_clarification(session, actor, request_id, words, now)
        else:
            requests.post_update(session, actor, request_id, words, now)
    return request_id, _attach(session, store, settings, actor, request_id, mail.files, now)


def _without_signed_links(words: str, public_url: str) -> str:
    """The words without the desk's signed links. A reply that carries the mail it answers
    unmarked (no '>', no rule, no "wrote:", so nothing of it is taken for a quote) keeps that
    mail's action link, and whoever reads the update could act with it as the person it was
    made for (accept the offer, confirm the resolution) or turn their mail off."""
    ours = re.escape(public_url.rstrip("/")) + r"/(?:act|mail/unsubscribe)/[^\s<>\"'()\[\]]*"
    return re.sub(ours, "[link removed]", words)


def _named(mail: ReadMail, settings: Settings) -> int:
    found = threading.request_id_from_headers(
        mail.recipients,
        mail.in_reply_to,
        mail.references,
        settings.mail_domain,
        settings.mail_inbound_address,
    )
    assert found is not None
    return found


def _service_id(session: Session, mail: ReadMail, settings: Settings) -> int:
    found = _service_of(session, mail, settings.mail_inbound_address)
    assert found is not None
    return found


def _attach(
    session: Session,
    store: AttachmentStore,
    settings: Settings,
    actor: Actor,
    request_id: int,
    files: tuple[MailFile, ...],
    now: datetime,
) -> list[str]:
    """Keep each file through the attachment store and its limits; the names refused, why."""
    refused = []
    for file in files:
        too_big = len(file.content) > settings.attachment_max_bytes
        try:
            with session.begin_nested():
                add_attachment(
                    session,
                    store,
                    actor,
                    request_id,
                    Upload(file.file_name, b"" if too_big else file.content, too_big=too_big),
                    settings.attachment_max_bytes,
                    now,
                )
        except DomainError as why:
            refused.append(f"{file.file_name}: {why}")
    return refused


def _mark_bouncing(
    session: Session, addresses: frozenset[str], request_id: int | None, now: datetime
) -> None:
    """Stop mail to each address until someone fixes it; tell the request's owner."""
    for address in sorted(addresses):
        mark = session.get(BouncingAddress, address[:254])
        if mark is None:
            session.add(
                BouncingAddress(
                    address=address[:254],
                    first_bounced_at=now,
                    last_bounced_at=now,
                    bounces=1,
                    request_id=request_id,
                )
            )
        else:
            mark.last_bounced_at = now
            mark.bounces += 1
            mark.fixed_at = None
            mark.fixed_by_id = None
            if request_id is not None:
                mark.request_id = request_id
    session.flush()
    if request_id is None:
        return
    request = session.get(Request, request_id)
    if request is None:
        return
    notify(
        session,
        request.owner_id,
        "mail_bounced",
        f"Mail about #{request.id} {request.title} could not be delivered to "
        f"{', '.join(sorted(addresses))}; no more mail goes there until the address is fixed.",
        now,
        request_id=request.id,
    )


def _mail_can_go_to(address: str) -> bool:
    """A local part and a domain, within SMTP's 254 characters: a From header read as
    something else ('Assessor, Asha <...>' without quotes gives 'assessor') or longer than any
    address gets no answer, which could not be delivered (nor, at that length, stored)."""
    local, at, domain = address.rpartition("@")
    return bool(local and at and domain) and len(address) <= 254


def _may_answer(session: Session, sender: str, now: datetime, row_id: int) -> bool:
    """One refusal per sender per quiet period, and none to an address that bounces."""
    if not _mail_can_go_to(sender) or sender in bouncing_addresses(session, (sender,)):
        return False
    earlier = session.scalar(
        select(InboundMail.id).where(
            InboundMail.answer_to == sender,
            InboundMail.received_at > now - ANSWER_QUIET,
            InboundMail.id != row_id,
        )
    )
    return earlier is None


# -- bounces: what mail out must respect ----------------------------------------------------------


def bouncing_addresses(session: Session, addresses: tuple[str, ...]) -> set[str]:
    """Which of these addresses bounced for good and are not fixed (normalised form)."""
    wanted = {normalised_address(a) for a in addresses}
    if not wanted:
        return set()
    return set(
        session.scalars(
            select(BouncingAddress.address).where(
                BouncingAddress.address.in_(wanted), BouncingAddress.fixed_at.is_(None)
            )
        )
    )


def fix_bouncing_address(session: Session, address: str, fixed_by_id: int, now: datetime) -> bool:
    """Someone says the address works again: mail to it starts again. False if it was not
    marked as bouncing."""
    mark = session.get(BouncingAddress, normalised_address(address))
    if mark is None or mark.fixed_at is not None:
        return False
    mark.fixed_at = now
    mark.fixed_by_id = fixed_by_id
    session.flush()
    return True


_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


def set_service_address(
    session: Session, service_id: int, slug: str, address: str | None
) -> ServiceMailAddress:
    """How mail reaches a service: its +s-{slug} tag and, optionally, a whole address."""
    slug = slug.strip().lower()
    if not _SLUG.match(slug):
        raise InvalidInput("slug must be a-z, 0-9 and -, at most 64 characters", field="slug")
    get_service(session, service_id)
    whole = normalised_address(address) if address else None
    if whole is not None and "@" not in whole:
        raise InvalidInput(f"{address!r} is not a mail address", field="address")
    taken = session.scalar(
        select(ServiceMailAddress.service_id).where(
            ServiceMailAddress.service_id != service_id,
            (ServiceMailAddress.slug == slug)
            | (func.lower(ServiceMailAddress.address) == (whole or "")),
        )
    )
    if taken is not None:
        raise InvalidInput(f"service {taken} already has that slug or address", field="slug")
    row = session.get(ServiceMailAddress, service_id)
    if row is None:
        row = ServiceMailAddress(service_id=service_id, slug=slug, address=whole)
        session.add(row)
    else:
        row.slug, row.address = slug, whole
    session.flush()
    return row


# -- refusals -------------------------------------------------------------------------------------


def refusal_message(mail: InboundMail, settings: Settings) -> EmailMessage:
    """The polite answer to a mail the desk could not take: marked as an automatic reply
    (RFC 3834) so the sender's own auto-responder does not answer it back."""
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = mail.answer_to or mail.sender
    subject = mail.subject or "your mail"
    message["Subject"] = subject if subject.lower().startswith("re:") else f"Re: {subject}"
    # Fixed by the row, so a resend after a crash is the same message to the receiver.
    message["Message-ID"] = f"<refusal{mail.id}@{settings.mail_domain}>"
    if mail.message_id:
        message["In-Reply-To"] = mail.message_id
        message["References"] = mail.message_id
    message["Auto-Submitted"] = "auto-replied"
    message["X-Auto-Response-Suppress"] = "All"
    message["Precedence"] = "auto_reply"
    message.set_content(
        "Hello,\n\n"
        f"{mail.reason}\n\n"
        "This is an automatic answer from the service desk; replies to it are not read.\n"
        f"\n-- \n{formataddr(('Followthrough', settings.mail_inbound_address))}\n"
    )
    return message


def send_answers(
    database: Database,
    settings: Settings,
    deliver: Callable[[EmailMessage], None],
    now: Callable[[], datetime],
    limit: int = 100,
) -> int:
    """Send the pending refusals through `deliver` (the outbound mail sender), with no
    transaction open while sending; each is marked sent after it went. An address that
    bounced since is skipped, one the server refuses for good is marked refused. A crash
    between sending and marking sends that one again, with the same Message-ID."""
    with database.unit_of_work() as session:
        pending = list(
            session.scalars(
                select(InboundMail)
                .where(InboundMail.answer_state == "pending")
                .order_by(InboundMail.id)
                .limit(limit)
            )
        )
        stopped = bouncing_addresses(session, tuple(m.answer_to or m.sender for m in pending))
        to_send = []
        for mail in pending:
            if normalised_address(mail.answer_to or mail.sender) in stopped:
                mail.answer_state = "skipped"
            else:
                to_send.append((mail.id, refusal_message(mail, settings)))
    sent: list[int] = []
    refused: list[int] = []
    try:
        for mail_id, message in to_send:
            try:
                deliver(message)
            except SendFailure as failure:
                if not is_permanent(failure.code):
                    raise  # the server may take it later: it and the rest wait for the next go
                # Refused for good ("no such mailbox"): tried first again next time, it would
                # be refused again and hold up every answer queued after it.
                log.warning("refusal %s not sent: %s", message["Message-ID"], failure)
                refused.append(mail_id)
                continue
            sent.append(mail_id)
    finally:
        _mark_answered(database, sent, refused, now)
    return len(sent)


def _mark_answered(
    database: Database, sent: list[int], refused: list[int], now: Callable[[], datetime]
) -> None:
    if sent or refused:
        with database.unit_of_work() as session:
            for mail in session.scalars(
                select(InboundMail).where(InboundMail.id.in_(sent + refused))
            ):
                mail.answer_state = "sent" if mail.id in sent else "refused"
                mail.answered_at = now()
