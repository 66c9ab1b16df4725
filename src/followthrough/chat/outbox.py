"""Queueing chat posts in the transaction that writes the change (the outbox).

A team's channel hears of its requests' state changes (one post per event of the kinds below);
a person's channel hears of their own notifications (one post per notification). The unique
keys on (route, event) and (route, notification) make "at most one post per change" a fact of
the table, not of the senders' care.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Insert,
    Table,
    bindparam,
    insert,
    literal,
    or_,
    select,
)

from followthrough.chat.models import ChatPost, ChatRoute
from followthrough.history.payloads import EventKind

# The changes a team's channel hears of: where a request is and who has it, not every update.
TEAM_CHANGES: frozenset[EventKind] = frozenset(
    {
        EventKind.OPENED,
        EventKind.OFFERED,
        EventKind.ACCEPTED,
        EventKind.DECLINED,
        EventKind.ESCALATED,
        EventKind.UPDATE_ESCALATED,
        EventKind.PROMISE_BROKEN,
        EventKind.CLARIFICATION_ASKED,
        EventKind.RESOLVED,
        EventKind.REOPENED,
        EventKind.REQUEST_WITHDRAWN,
        EventKind.RETURNED_TO_REQUESTER,
        EventKind.OWNER_REASSIGNED,
    }
)

_ROUTES = cast(Table, ChatRoute.__table__)
_POSTS = cast(Table, ChatPost.__table__)
_AT = bindparam("at", type_=_POSTS.c.created_at.type)
_COLUMNS = ["route_id", "state", "attempts", "created_at", "next_attempt_at"]


def _queue(column: str, *owners: ColumnElement[bool]) -> Insert:
    return insert(_POSTS).from_select(
        [*_COLUMNS, column],
        select(_ROUTES.c.id, literal("pending"), literal(0), _AT, _AT, bindparam(column)).where(
            or_(*owners), _ROUTES.c.enabled.is_(True)
        ),
    )


# A handoff's event names both teams: each one's channel hears of it.
_QUEUE_FOR_TEAM = _queue(
    "event_id",
    _ROUTES.c.team_id == bindparam("team_id"),
    _ROUTES.c.team_id == bindparam("other_team_id"),
)
_QUEUE_FOR_PERSON = _queue("notification_id", _ROUTES.c.person_id == bindparam("person_id"))


def queue_team_posts(
    connection: Connection,
    event_id: int,
    kind: str,
    team_id: int | None,
    other_team_id: int | None,
    at: datetime,
) -> None:
    """A post to each team's channel the event names, if the event is a change it hears of."""
    if team_id is None or kind not in TEAM_CHANGES:
        return
    connection.execute(
        _QUEUE_FOR_TEAM,
        {"event_id": event_id, "team_id": team_id, "other_team_id": other_team_id, "at": at},
    )


def queue_person_post(
    connection: Connection, notification_id: int, person_id: int, at: datetime
) -> None:
    """A post to the person's own channel, if they have one."""
    connection.execute(
        _QUEUE_FOR_PERSON, {"notification_id": notification_id, "person_id": person_id, "at": at}
    )
