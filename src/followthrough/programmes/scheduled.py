"""The buddy programme's scheduled work, run by the sweeper (sweeper/service.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from followthrough.db import Database
from followthrough.programmes.models import BuddyEnrolment, BuddyRound
from followthrough.programmes.service import ask_did_you_meet, pair_round

# A new round every two weeks: long enough to find half an hour, short enough to keep going.
ROUND_EVERY = timedelta(days=14)


def pair_buddies_when_due(database: Database, now: datetime) -> int:
    """Pair a new round when the last is ROUND_EVERY old (or there is none and someone opted
    in), and ask last week's groups whether they met; how many people were introduced or asked.
    """
    with database.unit_of_work() as session:
        asked = ask_did_you_meet(session, now)
        last = session.scalar(select(func.max(BuddyRound.paired_at)))
        if last is not None and now - last < ROUND_EVERY:
            return asked
        anyone = session.scalar(
            select(func.count()).select_from(BuddyEnrolment).where(BuddyEnrolment.opted_in)
        )
        if not anyone:
            return asked
        row = pair_round(session, now)
        return asked + row.people - row.left_out
