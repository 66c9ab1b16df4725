"""Sign-in's scheduled work, run by the sweeper (sweeper/service.py)."""

from __future__ import annotations

from datetime import datetime

from followthrough.auth.service import forget_old_attempts
from followthrough.db import Database


def forget_failed_attempts(database: Database, now: datetime) -> int:
    """Failed sign-ins and join codes no limit remembers any more, deleted in one statement;
    how many."""
    with database.unit_of_work() as session:
        return forget_old_attempts(session, now)
