"""Queueing webhook deliveries in the transaction that writes the event (the outbox).

The history's writer calls `queue_deliveries` for every event it writes, so an event and the
deliveries it owes commit together or not at all; senders pick them up after the commit.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Connection, Table, bindparam, insert, literal, or_, select

from followthrough.webhooks.models import (
    WebhookDelivery,
    WebhookSubscription,
    WebhookSubscriptionKind,
)

_SUBSCRIPTIONS = cast(Table, WebhookSubscription.__table__)
_KINDS = cast(Table, WebhookSubscriptionKind.__table__)
_DELIVERIES = cast(Table, WebhookDelivery.__table__)

_AT = bindparam("at", type_=_DELIVERIES.c.created_at.type)
# One statement: a delivery for every enabled subscription that hears of this kind in this team
# (or in every team). No subscription, no row; the statement is the same either way.
_QUEUE = insert(_DELIVERIES).from_select(
    ["subscription_id", "event_id", "state", "attempts", "created_at", "next_attempt_at"],
    select(
        _SUBSCRIPTIONS.c.id,
        bindparam("event_id"),
        literal("pending"),
        literal(0),
        _AT,
        _AT,
    )
    .select_from(_SUBSCRIPTIONS.join(_KINDS, _KINDS.c.subscription_id == _SUBSCRIPTIONS.c.id))
    .where(
        _KINDS.c.kind == bindparam("kind"),
        _SUBSCRIPTIONS.c.enabled.is_(True),
        or_(
            _SUBSCRIPTIONS.c.team_id.is_(None),
            _SUBSCRIPTIONS.c.team_id == bindparam("team_id"),
            _SUBSCRIPTIONS.c.team_id == bindparam("other_team_id"),
        ),
    ),
)


def queue_deliveries(
    connection: Connection,
    event_id: int,
    kind: str,
    team_id: int | None,
    other_team_id: int | None,
    at: datetime,
) -> None:
    """Queue the event for every subscription that hears of it, in the caller's transaction."""
    connection.execute(
        _QUEUE,
        {
            "event_id": event_id,
            "kind": kind,
            "team_id": team_id,
            "other_team_id": other_team_id,
            "at": at,
        },
    )
