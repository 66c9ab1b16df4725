"""Action links' scheduled work: the sweeper runs it; this module owns it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete

from followthrough.db import Database
from followthrough.links.models import UsedActionLink


def forget_used_links(database: Database, now: datetime) -> int:
    """Forget used links that have expired: an expired link is refused for its time anyway,
    so its row no longer guards anything. How many were forgotten."""
    with database.unit_of_work() as session:
        result = session.execute(delete(UsedActionLink).where(UsedActionLink.expires_at <= now))
        return int(result.rowcount)  # type: ignore[attr-defined]
