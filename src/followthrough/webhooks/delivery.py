"""Sending queued webhook deliveries through the shared claim-send-record loop
(`followthrough.delivery_loop`); what is webhooks' own:

- the claim builds each body from the event history;
- each message is signed by the Standard Webhooks specification with the reference library:
  `webhook-id` (the same for every try, so the receiver can drop a repeat; a sender that died
  after sending may make one), `webhook-timestamp`, and `webhook-signature` with one signature
  per valid secret (two during a rotation);
- every try is written to the delivery log, and a subscription whose given-up delivery had no
  success since it was queued is switched off and the admins are told.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session
from standardwebhooks import Webhook

from followthrough import delivery_loop
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
    http: delivery_loop.HttpAnswer


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


def claim(
    session: Session, settings: Settings, now: datetime, limit: int
) -> delivery_loop.Claimed[Outgoing]:
    """Claim up to `limit` deliveries due at `now` and build their messages."""
    rows = delivery_loop.claim_due(
        session,
        select(WebhookDelivery, WebhookSubscription, Event)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .join(Event, Event.id == WebhookDelivery.event_id)
        .where(WebhookSubscription.enabled.is_(True)),
        WebhookDelivery,
        now,
        _lease(settings),
        limit,
    )
    messages = [
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
    return delivery_loop.Claimed(messages, len(rows))


def send(client: httpx.Client, message: Outgoing, signed_at: datetime) -> Answer:
    """POST one message, signed at `signed_at`; never raises for the receiver's failures."""
    headers = signature_headers(message.message_id, message.body, message.secrets, signed_at)
    headers |= {"content-type": "application/json", "user-agent": USER_AGENT}
    return Answer(
        message.delivery_id,
        delivery_loop.http_post(client, message.url, message.body.encode(), headers),
    )


def record(session: Session, settings: Settings, answer: Answer, now: datetime) -> None:
    """Write the attempt and what follows from it, in the caller's (new) transaction."""
    delivery = session.get(WebhookDelivery, answer.delivery_id)
    if delivery is None or delivery.state != "pending":
        return  # the subscription was deleted meanwhile
    http = answer.http
    session.add(
        WebhookAttempt(
            delivery_id=delivery.id,
            at=now,
            status_code=http.status_code,
            error=http.error,
            duration_ms=http.duration_ms,
        )
    )
    subscription = session.get(WebhookSubscription, delivery.subscription_id)
    assert subscription is not None, "a delivery's subscription exists (foreign key)"
    window = timedelta(hours=settings.webhook_retry_hours)
    outcome = delivery_loop.settle(delivery, http.delivered, now, window)
    if outcome is delivery_loop.Outcome.SENT:
        delivery.state = "delivered"
        delivery.delivered_at = now
        subscription.last_success_at = now
    session.flush()
    if outcome is delivery_loop.Outcome.GIVEN_UP and rules.disables_subscription(
        subscription.last_success_at, delivery.created_at
    ):
        disable_for_failure(
            session,
            subscription,
            rules.persistent_failure(settings.webhook_retry_hours, http.status_code),
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
    with delivery_loop.http_client(client, settings.webhook_timeout_seconds) as http:
        return delivery_loop.send_due(
            database,
            now,
            claim=lambda session, at, most: claim(session, settings, at, most),
            send=lambda message: send(http, message, signed_at()),
            record=lambda session, answer, at: record(session, settings, answer, at),
            limit=limit,
        )
