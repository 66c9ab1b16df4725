"""The learning records' scheduled work: the sweeper runs it; this module owns it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from followthrough.config import Settings
from followthrough.db import Database
from followthrough.practice.roleplay.xapi_outbox import send_due

Job = Callable[[Database, datetime], int]


def statement_sender(settings: Settings) -> Job | None:
    """The sweeper's job that sends the statements due now; None while no LRS is set."""
    if settings.lrs_url is None:
        return None

    def send_due_statements(database: Database, now: datetime) -> int:
        return send_due(database, settings, now)

    return send_due_statements
