"""Job shadowing's scheduled work, run by the sweeper (sweeper/service.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from followthrough.config import Settings
from followthrough.db import Database
from followthrough.programmes.shadowing_service import MailPlaces, ask_for_reflections


def reflection_asker(settings: Settings) -> Callable[[Database, datetime], int]:
    """The job that asks host and guest, once a visit is over, what surprised them."""
    places = MailPlaces(settings.mail_domain, settings.public_url)

    def ask_when_due(database: Database, now: datetime) -> int:
        with database.unit_of_work() as session:
            return ask_for_reflections(session, places, now)

    return ask_when_due
