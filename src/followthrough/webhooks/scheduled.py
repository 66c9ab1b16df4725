"""The webhooks' scheduled work: the sweeper runs it; this module owns it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from followthrough.config import Settings
from followthrough.db import Database
from followthrough.webhooks.delivery import deliver_due

Job = Callable[[Database, datetime], int]


def webhook_sender(settings: Settings) -> Job:
    """The sweeper's job that sends the deliveries due now (every sweep, in every process:
    senders split the queue between them; with no subscription it finds nothing to send)."""

    def send_due_webhooks(database: Database, now: datetime) -> int:
        return deliver_due(database, settings, now)

    return send_due_webhooks
