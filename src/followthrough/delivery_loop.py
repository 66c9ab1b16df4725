"""The claim-send-record loop that webhook deliveries and chat posts share.

An outbox row (a webhook delivery, a chat post) has `state`, `attempts`, `created_at`,
`next_attempt_at` and `claimed_until`. Sending what is due is, for both:

1. Claim a batch in one short transaction: rows pending and due, not held by another sender's
   lease; on PostgreSQL locked with SKIP LOCKED, so any number of senders split the work (SQLite
   has one writer at a time). Each claim lasts a lease; what to send is built there, and the
   transaction commits.
2. Send each message with no transaction open and no lock held.
3. Record each answer in a new short transaction: sent, a later try (the retry schedule of
   `webhooks.rules`), or given up.

A sender that dies after claiming loses nothing: its claims run out and another sender takes
them. What differs (which rows, how to build and send a message, how to judge and record the
answer) is the caller's.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Generic, TypeVar, TypeVarTuple

import httpx
from sqlalchemy import Row, Select, or_, update
from sqlalchemy.orm import Session

from followthrough.db import Database
from followthrough.webhooks.rules import is_delivered, next_attempt_at

Message = TypeVar("Message")
Answer = TypeVar("Answer")
Entities = TypeVarTuple("Entities")


@dataclass(frozen=True)
class Claimed(Generic[Message]):
    """What a claim built: the messages to send, and how many due rows it took (some rows are
    settled in the claim itself, without a message)."""

    messages: list[Message]
    rows: int


def claim_due(
    session: Session,
    rows: Select[*Entities],
    outbox: Any,
    now: datetime,
    lease: timedelta,
    limit: int,
) -> Sequence[Row[*Entities]]:
    """The first `limit` rows of `rows` (a select whose first entity is the outbox model, with the
    caller's joins and conditions) that are pending and due at `now` and held by nobody, now
    held by this sender until `now + lease`."""
    due = (
        rows.where(
            outbox.state == "pending",
            outbox.next_attempt_at <= now,
            or_(outbox.claimed_until.is_(None), outbox.claimed_until < now),
        )
        .order_by(outbox.next_attempt_at, outbox.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(of=outbox, skip_locked=True)
    found = session.execute(due).all()
    if found:
        session.execute(
            update(outbox)
            .where(outbox.id.in_([row._mapping[outbox].id for row in found]))
            .values(claimed_until=now + lease)
        )
    return found


@dataclass(frozen=True)
class HttpAnswer:
    """How a receiver answered one POST: its status (None: no answer at all), what went wrong
    (None when it took the message), and how long it took."""

    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def delivered(self) -> bool:
        return is_delivered(self.status_code)

    @property
    def in_words(self) -> str | None:
        """The failure as an admin reads it ("500: not now", "ReadTimeout: …"); None if sent."""
        if self.delivered:
            return None
        if self.status_code is None:
            return self.error
        return f"{self.status_code}: {self.error}" if self.error else str(self.status_code)


def http_post(client: httpx.Client, url: str, body: bytes, headers: dict[str, str]) -> HttpAnswer:
    """POST one message; never raises for the receiver's failures (a refusal, a timeout, a
    refused connection are the answer, in words for the admin)."""
    started = time.monotonic()
    try:
        response = client.post(url, content=body, headers=headers)
    except httpx.HTTPError as failure:
        error: str | None = f"{type(failure).__name__}: {failure}"[:500]
        status: int | None = None
    else:
        status = response.status_code
        error = None if is_delivered(status) else response.text[:500] or None
    return HttpAnswer(status, error, int((time.monotonic() - started) * 1000))


@contextmanager
def http_client(given: httpx.Client | None, timeout_seconds: float) -> Iterator[httpx.Client]:
    """The client given (a test's), or one of our own for the loop, closed after it. Redirects
    are not followed: a receiver's address is the one an admin or a lead set."""
    if given is not None:
        yield given
        return
    with httpx.Client(timeout=timeout_seconds, follow_redirects=False) as own:
        yield own


class Outcome(StrEnum):
    SENT = "sent"
    RETRY = "retry"
    GIVEN_UP = "given_up"


def settle(row: Any, delivered: bool, now: datetime, retry_window: timedelta) -> Outcome:
    """Count a try on an outbox row and release its claim; after a failure, set its next try
    or, its retry window spent, mark it failed. A sent row's own state is the caller's."""
    row.claimed_until = None
    row.attempts += 1
    if delivered:
        return Outcome.SENT
    later = next_attempt_at(row.created_at, now, row.attempts, retry_window)
    if later is None:
        row.state = "failed"
        return Outcome.GIVEN_UP
    row.next_attempt_at = later
    return Outcome.RETRY


def send_due(
    database: Database,
    now: datetime,
    *,
    claim: Callable[[Session, datetime, int], Claimed[Message]],
    send: Callable[[Message], Answer],
    record: Callable[[Session, Answer, datetime], None],
    limit: int,
) -> int:
    """Claim, send and record, batch after batch, until a claim comes back short; how many
    messages were sent (or tried). No transaction is open while sending."""
    tried = 0
    while True:
        with database.unit_of_work() as session:
            claimed = claim(session, now, limit)
        answers = [send(message) for message in claimed.messages]
        with database.unit_of_work() as session:
            for answer in answers:
                record(session, answer, now)
        tried += len(claimed.messages)
        if claimed.rows < limit:
            return tried
