"""HTTP API for webhooks (admins only): subscriptions, their secrets, the delivery log, replay."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from followthrough.fields import Id, Offset
from followthrough.web.deps import AdminActor, DbSession, Now, UnitOfWorkRoute
from followthrough.web.schemas import Input
from followthrough.webhooks import service
from followthrough.webhooks.delivery import message_id
from followthrough.webhooks.models import WebhookSubscription

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/webhooks", tags=["webhooks"])


Kind = Annotated[str, Field(min_length=1, max_length=32)]


class SubscriptionIn(Input):
    url: str = Field(min_length=1, max_length=2000, description="Where events are POSTed")
    kinds: list[Kind] = Field(
        min_length=1, max_length=100, description="Kinds of event to send (event.kind)"
    )
    team_id: Id | None = Field(default=None, description="Only this team's events; none: all")
    description: str = Field(default="", max_length=200)


class SubscriptionChange(Input):
    url: str | None = Field(default=None, min_length=1, max_length=2000)
    kinds: list[Kind] | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=200)
    enabled: bool | None = None


class SubscriptionOut(BaseModel):
    id: int
    url: str
    description: str
    team_id: int | None
    kinds: list[str]
    enabled: bool
    disabled_reason: str | None
    secret: str = Field(description="Verify each message's webhook-signature with this")
    previous_secret: str | None = Field(description="Still signing until previous_secret_until")
    previous_secret_until: datetime | None
    last_success_at: datetime | None
    created_at: datetime


class AttemptOut(BaseModel):
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int
    replayed: bool


class DeliveryOut(BaseModel):
    id: int
    message_id: str = Field(description="The webhook-id header: the same on every try")
    event_id: int
    event_kind: str
    request_id: int | None
    state: str = Field(description="pending, delivered or failed (retries used up)")
    attempts: list[AttemptOut]
    next_attempt_at: datetime
    delivered_at: datetime | None


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    total: int


def _out(session: DbSession, subscription: WebhookSubscription) -> SubscriptionOut:
    return SubscriptionOut(
        id=subscription.id,
        url=subscription.url,
        description=subscription.description,
        team_id=subscription.team_id,
        kinds=service.kinds_of(session, subscription.id),
        enabled=subscription.enabled,
        disabled_reason=subscription.disabled_reason,
        secret=subscription.secret,
        previous_secret=subscription.previous_secret,
        previous_secret_until=subscription.previous_secret_until,
        last_success_at=subscription.last_success_at,
        created_at=subscription.created_at,
    )


@router.get("", response_model=list[SubscriptionOut])
def list_subscriptions(session: DbSession, actor: AdminActor) -> list[SubscriptionOut]:
    """Every webhook subscription (admins only)."""
    return [_out(session, s) for s in service.subscriptions(session, actor)]


@router.post("", status_code=201, response_model=SubscriptionOut)
def create_subscription(
    body: SubscriptionIn, session: DbSession, actor: AdminActor, now: Now
) -> SubscriptionOut:
    """Subscribe an address to some kinds of event (in one team, or all); it gets its own
    signing secret. Events are sent from now on, signed by the Standard Webhooks spec."""
    made = service.create_subscription(
        session,
        actor,
        url=body.url,
        kinds=body.kinds,
        team_id=body.team_id,
        description=body.description,
        now=now,
    )
    return _out(session, made)


@router.patch("/{subscription_id}", response_model=SubscriptionOut)
def change_subscription(
    subscription_id: Id, body: SubscriptionChange, session: DbSession, actor: AdminActor
) -> SubscriptionOut:
    """Change the address, kinds or description, or switch it on or off."""
    changed = service.change_subscription(
        session,
        actor,
        subscription_id,
        url=body.url,
        kinds=body.kinds,
        description=body.description,
    )
    if body.enabled is not None:
        changed = service.set_enabled(session, actor, subscription_id, body.enabled)
    return _out(session, changed)


@router.delete("/{subscription_id}", status_code=204)
def delete_subscription(subscription_id: Id, session: DbSession, actor: AdminActor) -> Response:
    service.delete_subscription(session, actor, subscription_id)
    return Response(status_code=204)


@router.post("/{subscription_id}/rotate-secret", response_model=SubscriptionOut)
def rotate_secret(
    subscription_id: Id, session: DbSession, actor: AdminActor, now: Now
) -> SubscriptionOut:
    """A new secret; the old one keeps signing next to it for 24 hours."""
    return _out(session, service.rotate_secret(session, actor, subscription_id, now))


@router.get("/{subscription_id}/deliveries", response_model=DeliveryPage)
def deliveries(
    subscription_id: Id,
    session: DbSession,
    actor: AdminActor,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[Offset, Query()] = 0,
) -> DeliveryPage:
    """The delivery log, newest first: each event sent and every try with its answer."""
    log, total = service.delivery_log(session, actor, subscription_id, limit=limit, offset=offset)
    return DeliveryPage(
        total=total,
        items=[
            DeliveryOut(
                id=line.delivery.id,
                message_id=message_id(line.delivery.id),
                event_id=line.delivery.event_id,
                event_kind=line.event_kind,
                request_id=line.request_id,
                state=line.delivery.state,
                next_attempt_at=line.delivery.next_attempt_at,
                delivered_at=line.delivery.delivered_at,
                attempts=[
                    AttemptOut(
                        at=a.at,
                        status_code=a.status_code,
                        error=a.error,
                        duration_ms=a.duration_ms,
                        replayed=a.replayed,
                    )
                    for a in line.attempts
                ],
            )
            for line in log
        ],
    )


@router.post("/{subscription_id}/deliveries/{delivery_id}/replay", status_code=202)
def replay(
    subscription_id: Id, delivery_id: Id, session: DbSession, actor: AdminActor, now: Now
) -> dict[str, str]:
    """Send a delivery again (with the same webhook-id) at the next sweep."""
    service.replay(session, actor, subscription_id, delivery_id, now)
    return {"state": "pending"}
