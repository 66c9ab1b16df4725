"""Queueing webhook deliveries in the transaction that writes the event (the outbox).

The history's writer queues, with every event it writes, a delivery for every enabled
subscription that hears of the event's kind in its team (or in every team), so an event and
the deliveries it owes commit together or not at all; senders pick them up after the commit.
`deliveries_for(events)` is that INSERT … SELECT over any source of events (columns id, kind,
team_id, other_team_id, at): on PostgreSQL the event's own INSERT … RETURNING, so writing an
event and queueing what it owes is one statement.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import FromClause, Insert, Table, insert, literal, or_, select

from followthrough.webhooks.models import (
    WebhookDelivery,
    WebhookSubscription,
    WebhookSubscriptionKind,
)

_SUBSCRIPTIONS = cast(Table, WebhookSubscription.__table__)
_KINDS = cast(Table, WebhookSubscriptionKind.__table__)
_DELIVERIES = cast(Table, WebhookDelivery.__table__)


def deliveries_for(events: FromClause) -> Insert:
    """A delivery for each event of `events` and each enabled subscription that hears of it."""
    return insert(_DELIVERIES).from_select(
        ["subscription_id", "event_id", "state", "attempts", "created_at", "next_attempt_at"],
        select(
            _SUBSCRIPTIONS.c.id,
            events.c.id,
            literal("pending"),
            literal(0),
            events.c.at,
            events.c.at,
        )
        .select_from(
            events.join(_KINDS, _KINDS.c.kind == events.c.kind).join(
                _SUBSCRIPTIONS, _SUBSCRIPTIONS.c.id == _KINDS.c.subscription_id
            )
        )
        .where(
            _SUBSCRIPTIONS.c.enabled.is_(True),
            or_(
                _SUBSCRIPTIONS.c.team_id.is_(None),
                _SUBSCRIPTIONS.c.team_id == events.c.team_id,
                _SUBSCRIPTIONS.c.team_id == events.c.other_team_id,
            ),
        ),
    )
