"""Small builders shared by the mail-out tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from followthrough.config import Settings
from followthrough.db import Database
from followthrough.notify.models import Notification, OutboxMessage
from followthrough.requests.service import NewRequest, open_request
from tests.factories import World

DOMAIN = "desk.test"
INBOUND = "desk@example.com"
SECRET = "a-test-secret-that-is-long-enough"


def mail_settings(db: Database, smtp: dict[str, object] | None = None, **more: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": db.url,
        "secret_key": SECRET,
        "mail_domain": DOMAIN,
        "mail_from": "Followthrough <desk@example.com>",
        "mail_inbound_address": INBOUND,
        "public_url": "https://desk.example.com",
        "smtp_host": "127.0.0.1",
        "smtp_port": 1,
        "smtp_security": "none",
        "smtp_timeout_seconds": 5,
        **(smtp or {}),
        **more,
    }
    return Settings(**values)


def open_policy_fix(db: Database, world: World, at: datetime, title: str = "Fix policy 42") -> int:
    """asha asks Policy Admin to correct a policy (its duty owner, dan, is offered it)."""
    with db.unit_of_work() as session:
        request = open_request(
            session,
            world.actor(session, "asha"),
            NewRequest(
                title=title,
                need="The address is wrong",
                service_id=world.services["correct_policy"],
            ),
            at,
        )
        return request.id


def outbox(db: Database) -> list[Any]:
    """Every mail outbox row with its notification's person, kind and request."""
    with db.unit_of_work(readonly=True) as session:
        return list(
            session.execute(
                select(
                    OutboxMessage.id,
                    OutboxMessage.state,
                    OutboxMessage.attempts,
                    OutboxMessage.message_id,
                    OutboxMessage.claimed_until,
                    OutboxMessage.not_before,
                    OutboxMessage.last_error,
                    Notification.person_id,
                    Notification.kind,
                    Notification.request_id,
                )
                .join(Notification, Notification.id == OutboxMessage.notification_id)
                .where(OutboxMessage.channel == "email")
                .order_by(OutboxMessage.id)
            )
        )
