"""Chat's scheduled work: the sweeper runs it; this module owns it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from followthrough.chat.delivery import post_due
from followthrough.config import Settings
from followthrough.db import Database

Job = Callable[[Database, datetime], int]


def chat_sender(settings: Settings) -> Job:
    """The sweeper's job that posts what is due (every sweep, in every process: senders split
    the queue between them; with no channel set it finds nothing to post)."""

    def post_due_chat(database: Database, now: datetime) -> int:
        return post_due(database, settings, now)

    return post_due_chat
