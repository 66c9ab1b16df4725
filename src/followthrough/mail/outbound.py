"""Delivering the outbox by mail: claim a batch, send it outside any transaction, record each.

How a message moves (notify.models.OutboxMessage.state):

    pending --(the person's choice: at once)--> sending --(all but the final ".")--> handed
       |  \\--(quiet hours: not_before = their end)--> pending                         |
       |   \\-(daily summary)--> digest --(its time)--> sending     (accepted) sent <--+
       \\--(turned off, the person left, or older than mail_max_age_hours)--> skipped
    sending/handed --(refused for good, or the last try failed)--> failed
    handed --(refused for now)--> sending, tried again after the backoff

Claiming is one short transaction that commits before anything is sent: PostgreSQL locks the
batch's rows with SKIP LOCKED, so senders in several processes split the outbox; SQLite has one
writer, which gives the same. The claim fixes the message's Message-ID and marks it `sending`
until `claimed_until` (the lease). Then the messages go over one SMTP connection with no
transaction open. Each message's whole text goes to the server, then a short transaction records
it `handed`, and only then is the final "." sent that makes the server take it; the server's
answer is recorded at once (`sent`, or the failure). So a sender that stops at any point (a
crash, `kill -9`, the mail server going away) neither loses nor repeats a message:
- stopped before `handed` was recorded: the server never had the "." and keeps nothing; the
  claim is taken over when the lease ends, by any sender, and sent under the same Message-ID;
- stopped after: the "." was the next thing sent, so the server has the message; when the lease
  ends the next claim counts it as sent ("handed over, answer not recorded").

What is left: a stop in the microseconds between the `handed` commit and the "." leaving the
process, which loses that one mail (the notification stays in the person's inbox); and a server
that refuses a message at the "." just as the sender stops, which is counted as sent. The old
order (record after "250 accepted") had the opposite failure, a repeat, in a window as long as
the server's answer and a commit; a test killing the sender from inside the server, with the
message complete but not yet answered, would always have seen that repeat.
"""

from __future__ import annotations

import logging
import smtplib
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import partial
from typing import Any, cast

from sqlalchemy import Select, Table, bindparam, func, or_, select, text, update
from sqlalchemy.orm import Session

from followthrough.config import Settings
from followthrough.db import Database
from followthrough.links.service import link_for_notification
from followthrough.mail import smtp
from followthrough.mail.compose import (
    Item,
    Reader,
    RequestFacts,
    digest_message,
    envelope_sender,
    notification_message,
    wire_bytes,
)
from followthrough.mail.inbound_models import BouncingAddress
from followthrough.mail.outbound_rules import after_failure
from followthrough.mail.preferences import Action, delivery_for
from followthrough.mail.preferences_service import preferences_of
from followthrough.mail.threading import message_id_for
from followthrough.notify.models import Notification, OutboxMessage
from followthrough.org.local_time import clock_of, local
from followthrough.org.models import Person
from followthrough.requests.models import Request

log = logging.getLogger("followthrough.mail")

CHANNEL = "email"
# How often mail held for a bouncing address is looked at again.
BOUNCING_RECHECK = timedelta(hours=1)
_OUTBOX = cast(Table, OutboxMessage.__table__)


class OutboxState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    # The whole message is with the server but its final "."; see the module's docstring.
    HANDED = "handed"
    SENT = "sent"
    DIGEST = "digest"
    SKIPPED = "skipped"
    FAILED = "failed"


# Claimed and not yet answered for: what a recorded outcome may replace.
_IN_FLIGHT = (OutboxState.SENDING, OutboxState.HANDED)


@dataclass(frozen=True)
class Outgoing:
    """One message claimed for sending: the outbox rows it delivers (one, or a whole daily
    summary), under its fixed Message-ID, until the claim ends."""

    row_ids: tuple[int, ...]
    message_id: str
    attempts: int
    recipient: str
    raw: bytes
    claimed_until: datetime


@dataclass
class Claimed:
    outgoing: list[Outgoing]
    looked_at: int
    counts: Counter[str]


# The rows a claim reads: the outbox row and what it needs of its notification.
_ROW_COLUMNS = (
    OutboxMessage.id,
    OutboxMessage.state,
    OutboxMessage.attempts,
    OutboxMessage.message_id,
    OutboxMessage.digest_of,
    Notification.person_id,
    Notification.kind,
    Notification.message,
    Notification.request_id,
    Notification.created_at,
    Notification.calendar,
)


def _rows(session: Session, query: Select[Any], limit: int | None = None) -> list[Any]:
    query = query.where(OutboxMessage.channel == CHANNEL).order_by(OutboxMessage.id)
    if limit is not None:
        query = query.limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        # Rows another sender holds are passed over, not waited for.
        query = query.with_for_update(skip_locked=True, of=OutboxMessage)
    return list(session.execute(query))


def _base() -> Select[Any]:
    query = select(*_ROW_COLUMNS).join(
        Notification, Notification.id == OutboxMessage.notification_id
    )
    return cast("Select[Any]", query)


def claim(session: Session, settings: Settings, now: datetime, limit: int) -> Claimed:
    """Claim up to `limit` outbox rows whose turn has come, decide each by its person's choices,
    and write the claim (the caller commits it before sending anything)."""
    counts: Counter[str] = Counter()
    settled = _settle_handed(session, now)
    if settled:
        counts["handed over before a stop, counted as sent"] += settled
    # 1. Claims that ended without a record: a sender that died, or a try's backoff over.
    expired = _rows(
        session,
        _base().where(
            OutboxMessage.state == OutboxState.SENDING, OutboxMessage.claimed_until <= now
        ),
        limit,
    )
    groups: dict[int, list[Any]] = defaultdict(list)
    for row in expired:
        groups[row.digest_of or row.id].append(row)
    summaries = [key for key, rows in groups.items() if rows[0].digest_of is not None]
    if summaries:
        seen = {row.id for row in expired}
        for row in _rows(
            session,
            _base().where(
                OutboxMessage.state == OutboxState.SENDING, OutboxMessage.digest_of.in_(summaries)
            ),
        ):
            if row.id not in seen:
                groups[row.digest_of].append(row)
    looked_at = len(expired)
    # 2. New and held rows whose time has come.
    pending = _rows(
        session,
        _base().where(
            OutboxMessage.state == OutboxState.PENDING,
            or_(OutboxMessage.not_before.is_(None), OutboxMessage.not_before <= now),
        ),
        max(0, limit - looked_at),
    )
    looked_at += len(pending)
    # 3. Daily summaries due: all of each person's held rows go in one message.
    due_summaries = _rows(
        session,
        _base().where(OutboxMessage.state == OutboxState.DIGEST, OutboxMessage.not_before <= now),
        max(0, limit - looked_at),
    )
    looked_at += len(due_summaries)
    summary_people = {row.person_id for row in due_summaries}
    if summary_people:
        seen = {row.id for row in due_summaries}
        more = _rows(
            session,
            _base().where(
                OutboxMessage.state == OutboxState.DIGEST,
                OutboxMessage.not_before <= now,
                Notification.person_id.in_(summary_people),
            ),
        )
        due_summaries += [row for row in more if row.id not in seen]

    people = _people(session, {row.person_id for row in [*expired, *pending, *due_summaries]})
    preferences = preferences_of(session, {row.person_id for row in pending})
    bouncing = _bouncing(session, [person.email for person in people.values()])
    lease_end = now + timedelta(seconds=settings.mail_lease_seconds)

    to_send: list[tuple[list[Any], int | None]] = []  # (rows, summary's first row or None)
    held, digested, skipped, stale = [], [], [], []
    too_old = now - timedelta(hours=settings.mail_max_age_hours)
    for rows in groups.values():
        to_send.append((rows, rows[0].digest_of))
    for row in pending:
        person = people.get(row.person_id)
        if person is None or not person.active:
            skipped.append({"row_id": row.id})
            continue
        if row.created_at < too_old:
            stale.append({"row_id": row.id, "last_error": "too old to mail when its turn came"})
            continue
        if person.email.lower() in bouncing:
            # Mail to this address failed for good (mail.inbound records the bounce): nothing
            # goes to it until someone fixes it; the row waits and is looked at again.
            held.append({"row_id": row.id, "not_before": now + BOUNCING_RECHECK})
            counts["held: the address bounces"] += 1
            continue
        clock = clock_of(person.timezone, person.locale)
        decision = delivery_for(preferences[row.person_id], row.kind, local(now, clock))
        if decision.action is Action.DROP:
            skipped.append({"row_id": row.id})
        elif decision.action is Action.HOLD:
            held.append({"row_id": row.id, "not_before": decision.at})
        elif decision.action is Action.DIGEST:
            digested.append({"row_id": row.id, "not_before": decision.at})
        else:
            to_send.append(([row], None))
    by_person: dict[int, list[Any]] = defaultdict(list)
    for row in due_summaries:
        by_person[row.person_id].append(row)
    for rows in by_person.values():
        rows.sort(key=lambda row: row.id)
        to_send.append((rows, rows[0].id))

    facts = _request_facts(session, {row.request_id for rows, _ in to_send for row in rows})
    # A retried claim or a daily summary to an address that bounced since is not sent either.
    bounced: list[dict[str, Any]] = []
    outgoing: list[Outgoing] = []
    sending_rows: list[dict[str, Any]] = []
    unwritable: list[dict[str, Any]] = []
    for rows, summary in to_send:
        first = rows[0]
        person = people.get(first.person_id)
        if person is None:
            skipped += [{"row_id": row.id} for row in rows]
            continue
        if person.email.lower() in bouncing:
            bounced += [{"row_id": row.id} for row in rows]
            continue
        request_id = None if summary is not None else first.request_id
        message_id = first.message_id or message_id_for(first.id, request_id, settings.mail_domain)
        attempts = max(row.attempts for row in rows) + 1
        reader = Reader(person.id, person.name, person.email, person.timezone, person.locale)
        items = [
            _item(
                row,
                facts,
                link_for_notification(
                    session, settings, row.person_id, row.kind, row.request_id, now
                ),
            )
            for row in rows
        ]
        try:
            if summary is None:
                message = notification_message(settings, reader, items[0], message_id, now)
            else:
                message = digest_message(settings, reader, items, message_id, now)
            raw = wire_bytes(message)
        except Exception as exc:
            # One message that cannot be written (a text the templates or the encoder refuse)
            # must not hold up the outbox behind it: it fails alone, with the reason kept.
            log.exception("mail %s could not be written", message_id)
            unwritable += [
                {"row_id": row.id, "last_error": f"could not be written: {exc}"[:2000]}
                for row in rows
            ]
            continue
        outgoing.append(
            Outgoing(
                row_ids=tuple(row.id for row in rows),
                message_id=message_id,
                attempts=attempts,
                recipient=person.email,
                raw=raw,
                claimed_until=lease_end,
            )
        )
        for row in rows:
            sending_rows.append(
                {
                    "row_id": row.id,
                    "message_id": message_id if row.id == first.id else None,
                    "attempts": attempts,
                    "digest_of": summary,
                }
            )
    _write(
        session,
        sending_rows,
        state=OutboxState.SENDING,
        claimed_until=lease_end,
        message_id=bindparam("message_id"),
        attempts=bindparam("attempts"),
        digest_of=bindparam("digest_of"),
    )
    _write(session, held, not_before=bindparam("not_before"))
    _write(session, digested, state=OutboxState.DIGEST, not_before=bindparam("not_before"))
    _write(session, skipped, state=OutboxState.SKIPPED)
    _write(
        session,
        unwritable,
        state=OutboxState.FAILED,
        claimed_until=None,
        last_error=bindparam("last_error"),
    )
    counts["failed: could not be written"] += len(unwritable)
    _write(session, stale, state=OutboxState.SKIPPED, last_error=bindparam("last_error"))
    counts["skipped (too old)"] += len(stale)
    _write(session, bounced, state=OutboxState.SKIPPED)
    counts["skipped (the address bounces)"] += len(bounced)
    counts["held for quiet hours"] += len(held) - counts["held: the address bounces"]
    counts["kept for the daily summary"] += len(digested)
    counts["skipped (turned off)"] += len(skipped)
    return Claimed(outgoing=outgoing, looked_at=looked_at, counts=counts)


def _write(session: Session, rows: list[dict[str, Any]], **values: Any) -> None:
    if rows:
        statement = update(_OUTBOX).where(_OUTBOX.c.id == bindparam("row_id")).values(**values)
        session.connection().execute(statement, rows)


def _bouncing(session: Session, addresses: Iterable[str]) -> set[str]:
    """Those of the addresses (lower case) that bounce and are not fixed yet."""
    wanted = sorted({address.lower() for address in addresses})
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        found.update(
            address.lower()
            for address in session.scalars(
                select(BouncingAddress.address).where(
                    func.lower(BouncingAddress.address).in_(wanted[start : start + 500]),
                    BouncingAddress.fixed_at.is_(None),
                )
            )
        )
    return found


def _people(session: Session, ids: Iterable[int]) -> dict[int, Person]:
    wanted = sorted(set(ids))
    found: dict[int, Person] = {}
    for start in range(0, len(wanted), 500):
        for person in session.scalars(
            select(Person).where(Person.id.in_(wanted[start : start + 500]))
        ):
            found[person.id] = person
    return found


def _request_facts(session: Session, ids: Iterable[int | None]) -> dict[int, RequestFacts]:
    wanted = sorted({i for i in ids if i is not None})
    facts: dict[int, RequestFacts] = {}
    for start in range(0, len(wanted), 500):
        rows = session.execute(
            select(
                Request.id,
                Request.title,
                Request.state,
                Request.waiting_on,
                Request.next_update_due_at,
                Person.name,
            )
            .join(Person, Person.id == Request.owner_id)
            .where(Request.id.in_(wanted[start : start + 500]))
        )
        for row in rows:
            facts[row.id] = RequestFacts(
                request_id=row.id,
                title=row.title,
                state=row.state,
                waiting_on=row.waiting_on,
                owner_name=row.name,
                next_update_due_at=row.next_update_due_at,
            )
    return facts


def _item(row: Any, facts: dict[int, RequestFacts], action_url: str | None) -> Item:
    return Item(
        action_url=action_url,
        outbox_id=row.id,
        kind=row.kind,
        message=row.message,
        created_at=row.created_at,
        request=None if row.request_id is None else facts.get(row.request_id),
        calendar=row.calendar,
    )


def record_sent(session: Session, outgoing: Outgoing, at: datetime) -> None:
    if session.get_bind().dialect.name == "postgresql":
        # The record need not wait for the disk: if the database server itself crashed before
        # writing it, the message would be sent again under its same Message-ID after the
        # lease, which is the one repeat this design allows anyway. A sender killed at any
        # point loses no committed record. (One round trip less per message.)
        session.execute(text("SET LOCAL synchronous_commit = off"))
    session.execute(
        update(_OUTBOX)
        .where(_OUTBOX.c.id.in_(outgoing.row_ids), _OUTBOX.c.state.in_(_IN_FLIGHT))
        .values(state=OutboxState.SENT, sent_at=at, claimed_until=None, last_error=None)
    )


def record_handed(session: Session, outgoing: Outgoing) -> None:
    """The message is with the server but for its final "."; recorded before the "." is sent."""
    if session.get_bind().dialect.name == "postgresql":
        # As for `record_sent`: a sender killed after this returns keeps the record; only a
        # crash of the database server itself could lose it (then the message is sent again).
        session.execute(text("SET LOCAL synchronous_commit = off"))
    session.execute(
        update(_OUTBOX)
        .where(_OUTBOX.c.id.in_(outgoing.row_ids), _OUTBOX.c.state == OutboxState.SENDING)
        .values(state=OutboxState.HANDED)
    )


def _settle_handed(session: Session, now: datetime) -> int:
    """Messages handed over by a sender that stopped before the server's answer was recorded
    are with the server (it had everything but the ".", and the "." came next): sent."""
    result = session.execute(
        update(_OUTBOX)
        .where(
            _OUTBOX.c.channel == CHANNEL,
            _OUTBOX.c.state == OutboxState.HANDED,
            _OUTBOX.c.claimed_until <= now,
        )
        .values(state=OutboxState.SENT, sent_at=now, claimed_until=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def record_failure(
    session: Session,
    settings: Settings,
    outgoing: Outgoing,
    failure: smtp.SendFailure,
    at: datetime,
) -> bool:
    """Record a failed try; True if the message was given up."""
    outcome = after_failure(
        outgoing.attempts, failure.code, at, settings.mail_max_attempts, settings.mail_retry_seconds
    )
    values: dict[str, Any] = {"last_error": str(failure)[:2000]}
    if outcome.give_up:
        values.update(state=OutboxState.FAILED, claimed_until=None)
    else:
        values.update(state=OutboxState.SENDING, claimed_until=outcome.retry_at)
    session.execute(
        update(_OUTBOX)
        .where(_OUTBOX.c.id.in_(outgoing.row_ids), _OUTBOX.c.state.in_(_IN_FLIGHT))
        .values(**values)
    )
    return outcome.give_up


@dataclass
class SendReport:
    counts: Counter[str]
    # Set when the mail server could not be reached or used at all (what to check).
    server_error: smtp.MailServerSettingsError | None = None


def send_outbox(
    database: Database,
    settings: Settings,
    now: datetime,
    *,
    batch: int | None = None,
    max_batches: int | None = None,
) -> SendReport:
    """Send every outbox message whose turn has come by `now` (as it moves on in real time),
    batch after batch, until a batch comes back short; each outcome recorded as it happens."""
    size = batch or settings.mail_batch_size
    started = time.monotonic()
    report = SendReport(Counter())
    sender = envelope_sender(settings)

    def current() -> datetime:
        return now + timedelta(seconds=time.monotonic() - started)

    # Stop sending a claimed message this close to the end of its claim: past it another sender
    # may take it over, and both would send it.
    margin = timedelta(seconds=min(30.0, settings.mail_lease_seconds / 10))
    client: smtplib.SMTP | None = None
    batches = 0
    try:
        while max_batches is None or batches < max_batches:
            batches += 1
            with database.unit_of_work() as session:
                claimed = claim(session, settings, current(), size)
            report.counts.update(claimed.counts)
            for outgoing in claimed.outgoing:
                if current() >= outgoing.claimed_until - margin:
                    report.counts["left for the next sender"] += 1
                    continue
                if report.server_error is not None:
                    # The server is not there: record the try so the backoff applies.
                    failure = smtp.SendFailure(None, str(report.server_error))
                    _record_failure(database, settings, outgoing, failure, current(), report)
                    continue
                if client is None:
                    try:
                        client = smtp.connect(settings)
                    except smtp.MailServerSettingsError as exc:
                        report.server_error = exc
                        failure = smtp.SendFailure(None, str(exc))
                        _record_failure(database, settings, outgoing, failure, current(), report)
                        continue
                try:
                    smtp.send(
                        client,
                        outgoing.raw,
                        sender,
                        outgoing.recipient,
                        before_end=partial(_record_handed, database, outgoing),
                    )
                except smtp.SendFailure as failure:
                    if failure.code is None:  # the connection is gone; a new one next time
                        smtp.close(client)
                        client = None
                    _record_failure(database, settings, outgoing, failure, current(), report)
                    continue
                with database.unit_of_work() as session:
                    record_sent(session, outgoing, current())
                report.counts["sent"] += 1
            if claimed.looked_at < size or report.server_error is not None:
                break
    finally:
        if client is not None:
            smtp.close(client)
    return report


def _record_handed(database: Database, outgoing: Outgoing) -> None:
    with database.unit_of_work() as session:
        record_handed(session, outgoing)


def _record_failure(
    database: Database,
    settings: Settings,
    outgoing: Outgoing,
    failure: smtp.SendFailure,
    at: datetime,
    report: SendReport,
) -> None:
    with database.unit_of_work() as session:
        gave_up = record_failure(session, settings, outgoing, failure, at)
    report.counts["failed for good" if gave_up else "to be tried again"] += 1


def outbox_counts(session: Session) -> dict[str, int]:
    """How many mail outbox rows are in each state."""
    rows = session.execute(
        select(OutboxMessage.state, func.count())
        .where(OutboxMessage.channel == CHANNEL)
        .group_by(OutboxMessage.state)
    )
    return {state: int(count) for state, count in rows}


__all__: Sequence[str] = ["OutboxState", "Outgoing", "claim", "outbox_counts", "send_outbox"]
