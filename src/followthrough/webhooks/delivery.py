"""Sending queued webhook deliveries: claim, send outside any transaction, record.

1. Claim a batch in one short transaction (PostgreSQL: SKIP LOCKED, so any number of senders
   split the work; SQLite: one writer at a time), each claim lasting a lease; the bodies are
   built from the event history there, and the transaction commits.
2. Send each one with no transaction open and no lock held, signed by the Standard Webhooks
   specification with the reference library: `webhook-id` (the same for every try, so the
   receiver can drop a repeat), `webhook-timestamp`, and `webhook-signature` with one
   signature per valid secret (two during a rotation).
3. Record each answer in a new short transaction: delivered, or a later try (growing waits for
   the retry window), or given up; a subscription whose given-up delivery had no success since
   it was queued is switched off and the admins are told.

A sender that dies after claiming loses nothing: its claims run out and another sender takes
them. A message may then reach the receiver twice, with the same `webhook-id`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session
from standardwebhooks import Webhook

from followthrough.config import Settings
from followthrough.db import Database
from followthrough.history.models import Event
from followthrough.history.payloads import from_json
from followthrough.webhooks import rules
from followthrough.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from followthrough.webhooks.service import disable_for_failure

BATCH = 50
USER_AGENT = "Followthrough-Webhooks/1"


@dataclass(frozen=True)
class Outgoing:
    """One message ready to send, built inside the claim's transaction."""

    delivery_id: int
    url: str
    message_id: str
    body: str
    secrets: list[str]


@dataclass(frozen=True)
class Answer:
    delivery_id: int
    status_code: int | None
    error: str | None
    duration_ms: int


def message_id(delivery_id: int) -> str:
    """The `webhook-id`: fixed per delivery, the same on every retry and replay."""
    return f"msg_ft{delivery_id}"


def event_body(event: Event) -> str:
    """The message body: the Standard Webhooks envelope (type, timestamp, data) around the
    event as the history holds it, its payload read through its kind's typed payload."""
    envelope: dict[str, Any] = {
        "type": event.kind,
        "timestamp": event.at.isoformat(),
        "data": {
            "event_id": event.id,
            "kind": event.kind,
            "at": event.at.isoformat(),
            "request_id": event.request_id,
            "actor_id": event.actor_id,
            "team_id": event.team_id,
            "other_team_id": event.other_team_id,
            "person_id": event.person_id,
            "payload": from_json(event.kind, event.payload).to_json(),
        },
    }
    return json.dumps(envelope, separators=(",", ":"), sort_keys=True)


def signature_headers(
    message: str, body: str, secrets: list[str], signed_at: datetime
) -> dict[str, str]:
    """The three Standard Webhooks headers, one signature per secret (space-separated)."""
    signatures = [Webhook(s).sign(message, signed_at, body) for s in secrets]
    return {
        "webhook-id": message,
        "webhook-timestamp": str(int(signed_at.timestamp())),
        "webhook-signature": " ".join(signatures),
    }


def _lease(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.webhook_timeout_seconds * BATCH + 60)


def claim(session: Session, settings: Settings, now: datetime, limit: int) -> list[Outgoing]:
    """Claim up to `limit` deliveries due at `now` and build their messages."""
    due = (
        select(WebhookDelivery, WebhookSubscription, Event)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .join(Event, Event.id == WebhookDelivery.event_id)
        .where(
            WebhookDelivery.state == "pending",
            WebhookDelivery.next_attempt_at <= now,
            or_(WebhookDelivery.claimed_until.is_(None), WebhookDelivery.claimed_until < now),
            WebhookSubscription.enabled.is_(True),
        )
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(of=WebhookDelivery, skip_locked=True)
    rows = session.execute(due).all()
    if not rows:
        return []
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id.in_([d.id for d, _, _ in rows]))
        .values(claimed_until=now + _lease(settings))
    )
    return [
        Outgoing(
            delivery_id=delivery.id,
            url=subscription.url,
            message_id=message_id(delivery.id),
            body=event_body(event),
            secrets=rules.signing_secrets(
                subscription.secret,
                subscription.previous_secret,
                subscription.previous_secret_until,
                now,
            ),
        )
        for delivery, subscription, event in rows
    ]


def send(client: httpx.Client, message: Outgoing, signed_at: datetime) -> Answer:
    """POST one message; never raises for the receiver's failures (they are the answer)."""
    headers = signature_headers(message.message_id, message.body, message.secrets, signed_at)
    headers |= {"content-type": "application/json", "user-agent": USER_AGENT}
    started = time.monotonic()
    try:
        response = client.post(message.url, content=message.body.encode(), headers=headers)
        status: int | None = response.status_code
        error = None if rules.is_delivered(status) else response.text[:500] or None
    except httpx.HTTPError as failure:
        status, error = None, f"{type(failure).__name__}: {failure}"[:500]
    return Answer(message.delivery_id, status, error, int((time.monotonic() - started) * 1000))


def record(session: Session, settings: Settings, answer: Answer, now: datetime) -> None:
    """Write the attempt and what follows from it, in the caller's (new) transaction."""
    delivery = session.get(WebhookDelivery, answer.delivery_id)
    if delivery is None or delivery.state != "pending":
        return  # the subscription was deleted meanwhile
    session.add(
        WebhookAttempt(
            delivery_id=delivery.id,
            at=now,
            status_code=answer.status_code,
            error=answer.error,
            duration_ms=answer.duration_ms,
        )
    )
    delivery.claimed_until = None
    subscription = session.get(WebhookSubscription, delivery.subscription_id)
    assert subscription is not None, "a delivery's subscription exists (foreign key)"
    if rules.is_delivered(answer.status_code):
        delivery.state = "delivered"
        delivery.delivered_at = now
        delivery.attempts += 1
        subscription.last_success_at = now
        session.flush()
        return
    delivery.attempts += 1
    window = timedelta(hours=settings.webhook_retry_hours)
    later = rules.next_attempt_at(delivery.created_at, now, delivery.attempts, window)
    if later is not None:
        delivery.next_attempt_at = later
        session.flush()
        return
    delivery.state = "failed"
    session.flush()
    if rules.disables_subscription(subscription.last_success_at, delivery.created_at):
        hours = round(settings.webhook_retry_hours)
        disable_for_failure(
            session,
            subscription,
            f"every try for {hours} hours failed (last answer: "
            f"{answer.status_code or 'no answer'})",
            now,
        )


def deliver_due(
    database: Database,
    settings: Settings,
    now: datetime,
    *,
    client: httpx.Client | None = None,
    signed_at: Callable[[], datetime] = lambda: datetime.now(UTC),
    limit: int = BATCH,
) -> int:
    """Send every delivery due at `now` that nobody else holds; how many were tried.

    `now` is the desk's clock (what is due, when to retry); `signed_at` is the real time the
    signature carries, which receivers check against their own clock.
    """
    own = client is None
    http = client or httpx.Client(timeout=settings.webhook_timeout_seconds, follow_redirects=False)
    tried = 0
    try:
        while True:
            with database.unit_of_work() as session:
                batch = claim(session, settings, now, limit)
            answers = [send(http, message, signed_at()) for message in batch]
            with database.unit_of_work() as session:
                for answer in answers:
                    record(session, settings, answer, now)
            tried += len(batch)
            if len(batch) < limit:
                return tried
    finally:
        if own:
            http.close()
