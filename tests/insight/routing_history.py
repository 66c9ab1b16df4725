"""Resolved histories for the routing tests, written straight into the tables routing reads.

Routing learns from hundreds of resolved requests; driving each through the services would cost
seconds per test and prove nothing the request tests do not. A row here is what the services
leave behind for a resolved request: the request, and its first events when a log's own attributes
are to be kept in them.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from followthrough.history.models import Event
from followthrough.requests.models import Request
from tests.conftest import T0


@dataclass(frozen=True)
class Past:
    """One resolved request: who asked, which team resolved it and who there, what it said."""

    requester_id: int
    team_id: int
    owner_id: int
    title: str = "please help"
    need: str = "see above"
    priority: str = "normal"
    confidential: bool = False
    service_id: int | None = None
    # Payloads of its first events: the first is its "opened", the others notes a minute apart.
    payloads: tuple[dict[str, Any], ...] = field(default=())


def write_history(session: Session, history: Sequence[Past]) -> list[int]:
    """The requests, oldest first, an hour apart before T0; each resolved an hour after opening."""
    ids = []
    start = T0 - timedelta(hours=len(history) + 1)
    for index, past in enumerate(history):
        opened = start + timedelta(hours=index)
        request = Request(
            title=past.title,
            need=past.need,
            priority=past.priority,
            requester_id=past.requester_id,
            team_id=past.team_id,
            owner_id=past.owner_id,
            state="resolved",
            confidential=past.confidential,
            service_id=past.service_id,
            opened_at=opened,
            accepted_at=opened,
            resolved_at=opened + timedelta(hours=1),
            updated_at=opened + timedelta(hours=1),
            resolution="done",
        )
        session.add(request)
        session.flush()
        ids.append(request.id)
        if past.payloads:
            session.execute(
                insert(Event),
                [
                    {
                        "kind": "opened" if n == 0 else "update_posted",
                        "at": opened + timedelta(minutes=n),
                        "request_id": request.id,
                        "actor_id": past.requester_id,
                        "team_id": past.team_id,
                        "payload": payload,
                    }
                    for n, payload in enumerate(past.payloads)
                ],
            )
    return ids


def words(rng: random.Random, k: int = 5) -> str:
    """Words any team gets alike."""
    return " ".join(
        rng.choices(["please", "help", "urgent", "issue", "problem", "today", "thanks", "fix"], k=k)
    )
