"""Webhook subscriptions: made, changed and read by admins; the delivery log and its replay.

Services only flush; the request or job boundary commits.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from followthrough.errors import Conflict, InvalidInput, NotAllowed, NotFound
from followthrough.history.models import Event
from followthrough.history.payloads import EventKind
from followthrough.notify.service import tell_admins
from followthrough.org.actors import Actor
from followthrough.org.models import Team
from followthrough.webhooks import rules
from followthrough.webhooks.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
    WebhookSubscriptionKind,
)

# What the admin page offers to subscribe to: the request's life, then the organisation's.
EVENT_KINDS: tuple[str, ...] = tuple(kind.value for kind in EventKind)


def _require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise NotAllowed("only admins can manage webhooks")


def _kinds(kinds: Iterable[str]) -> list[str]:
    chosen = sorted({k.strip() for k in kinds if k.strip()})
    if not chosen:
        raise InvalidInput("choose at least one kind of event", field="kinds")
    unknown = [k for k in chosen if k not in EVENT_KINDS]
    if unknown:
        raise InvalidInput(f"unknown kind of event: {', '.join(unknown)}", field="kinds")
    return chosen


def _url(url: str) -> str:
    problem = rules.url_problem(url)
    if problem:
        raise InvalidInput(problem, field="url")
    return url.strip()


def _team(session: Session, team_id: int | None) -> int | None:
    if team_id is not None and session.get(Team, team_id) is None:
        raise InvalidInput(f"team {team_id} does not exist", field="team_id")
    return team_id


def get_subscription(session: Session, actor: Actor, subscription_id: int) -> WebhookSubscription:
    _require_admin(actor)
    found = session.get(WebhookSubscription, subscription_id)
    if found is None:
        raise NotFound(f"webhook {subscription_id} does not exist", field="subscription_id")
    return found


def kinds_of(session: Session, subscription_id: int) -> list[str]:
    return list(
        session.scalars(
            select(WebhookSubscriptionKind.kind)
            .where(WebhookSubscriptionKind.subscription_id == subscription_id)
            .order_by(WebhookSubscriptionKind.kind)
        )
    )


def subscriptions(session: Session, actor: Actor) -> list[WebhookSubscription]:
    _require_admin(actor)
    return list(session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.id)))


def create_subscription(
    session: Session,
    actor: Actor,
    *,
    url: str,
    kinds: Iterable[str],
    team_id: int | None,
    description: str,
    now: datetime,
) -> WebhookSubscription:
    """A new subscription with its own signing secret, enabled at once."""
    _require_admin(actor)
    subscription = WebhookSubscription(
        url=_url(url),
        description=description.strip()[:200],
        team_id=_team(session, team_id),
        secret=rules.new_secret(os.urandom(32)),
        enabled=True,
        created_at=now,
        created_by_id=actor.person_id,
    )
    chosen = _kinds(kinds)
    session.add(subscription)
    session.flush()
    session.add_all(
        WebhookSubscriptionKind(subscription_id=subscription.id, kind=k) for k in chosen
    )
    session.flush()
    return subscription


def change_subscription(
    session: Session,
    actor: Actor,
    subscription_id: int,
    *,
    url: str | None = None,
    kinds: Iterable[str] | None = None,
    description: str | None = None,
) -> WebhookSubscription:
    subscription = get_subscription(session, actor, subscription_id)
    if url is not None:
        subscription.url = _url(url)
    if description is not None:
        subscription.description = description.strip()[:200]
    if kinds is not None:
        chosen = _kinds(kinds)
        session.execute(
            delete(WebhookSubscriptionKind).where(
                WebhookSubscriptionKind.subscription_id == subscription.id
            )
        )
        session.add_all(
            WebhookSubscriptionKind(subscription_id=subscription.id, kind=k) for k in chosen
        )
    session.flush()
    return subscription


def rotate_secret(
    session: Session, actor: Actor, subscription_id: int, now: datetime
) -> WebhookSubscription:
    """A new secret signs from now on; the old one signs next to it for ROTATION_OVERLAP, so a
    receiver that checks either keeps accepting every message while it switches over."""
    subscription = get_subscription(session, actor, subscription_id)
    subscription.previous_secret = subscription.secret
    subscription.previous_secret_until = now + rules.ROTATION_OVERLAP
    subscription.secret = rules.new_secret(os.urandom(32))
    session.flush()
    return subscription


def set_enabled(
    session: Session, actor: Actor, subscription_id: int, enabled: bool
) -> WebhookSubscription:
    """Switch a subscription on or off. Switched on again, what it missed while off is still
    queued (events of its kinds kept being queued only while it was on)."""
    subscription = get_subscription(session, actor, subscription_id)
    subscription.enabled = enabled
    if enabled:
        subscription.disabled_reason = None
    else:
        subscription.disabled_reason = subscription.disabled_reason or "switched off by an admin"
    session.flush()
    return subscription


def delete_subscription(session: Session, actor: Actor, subscription_id: int) -> None:
    subscription = get_subscription(session, actor, subscription_id)
    session.execute(
        delete(WebhookAttempt).where(
            WebhookAttempt.delivery_id.in_(
                select(WebhookDelivery.id).where(WebhookDelivery.subscription_id == subscription.id)
            )
        )
    )
    session.execute(
        delete(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription.id)
    )
    session.execute(
        delete(WebhookSubscriptionKind).where(
            WebhookSubscriptionKind.subscription_id == subscription.id
        )
    )
    session.delete(subscription)
    session.flush()


@dataclass(frozen=True)
class LoggedDelivery:
    """A line of the delivery log: one event sent (or being sent) to the subscription."""

    delivery: WebhookDelivery
    event_kind: str
    request_id: int | None
    attempts: list[WebhookAttempt]


def delivery_log(
    session: Session, actor: Actor, subscription_id: int, *, limit: int = 50, offset: int = 0
) -> tuple[list[LoggedDelivery], int]:
    """The subscription's deliveries, newest first, each with its attempts; and how many."""
    get_subscription(session, actor, subscription_id)
    mine = WebhookDelivery.subscription_id == subscription_id
    total = int(session.scalar(select(func.count()).where(mine)) or 0)
    rows = session.execute(
        select(WebhookDelivery, Event.kind, Event.request_id)
        .join(Event, Event.id == WebhookDelivery.event_id)
        .where(mine)
        .order_by(WebhookDelivery.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    ids = [row[0].id for row in rows]
    attempts: dict[int, list[WebhookAttempt]] = {i: [] for i in ids}
    if ids:
        for attempt in session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_(ids))
            .order_by(WebhookAttempt.id)
        ):
            attempts[attempt.delivery_id].append(attempt)
    return [LoggedDelivery(d, kind, rid, attempts[d.id]) for d, kind, rid in rows], total


def replay(
    session: Session, actor: Actor, subscription_id: int, delivery_id: int, now: datetime
) -> WebhookDelivery:
    """Send a delivery again now (delivered or given up), with the same message id so a
    receiver that already has it can tell; its log keeps every earlier attempt."""
    subscription = get_subscription(session, actor, subscription_id)
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.subscription_id != subscription.id:
        raise NotFound(f"delivery {delivery_id} does not exist", field="delivery_id")
    if not subscription.enabled:
        raise Conflict("switch the webhook on before sending anything again")
    delivery.state = "pending"
    delivery.next_attempt_at = now
    # A fresh retry window from now: a replay is a new decision by an admin.
    delivery.created_at = now
    delivery.attempts = 0
    delivery.claimed_until = None
    # The log says an admin sent it again, between the earlier attempts and the next.
    session.add(
        WebhookAttempt(
            delivery_id=delivery.id, at=now, error="sent again by an admin", replayed=True
        )
    )
    session.flush()
    return delivery


def disable_for_failure(
    session: Session, subscription: WebhookSubscription, reason: str, now: datetime
) -> None:
    """Switch a failing subscription off and tell every admin, in the caller's transaction."""
    result = session.execute(
        update(WebhookSubscription)
        .where(WebhookSubscription.id == subscription.id, WebhookSubscription.enabled.is_(True))
        .values(enabled=False, disabled_reason=reason)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return  # already off: the admins were told then
    where = subscription.description or subscription.url
    tell_admins(
        session,
        "integration_disabled",
        f"The webhook to {where} was switched off: {reason}. "
        "Fix the receiver, then switch it on again and send what it missed.",
        now,
    )
