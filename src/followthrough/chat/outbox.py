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
    Connection,
    FromClause,
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
_COLUMNS = ["route_id", "event_id", "state", "attempts", "created_at", "next_attempt_at"]


def team_posts_for(events: FromClause) -> Insert:
    """A post for each event of `events` (columns id, kind, request_id, team_id, other_team_id,
    at) that is a change of a request, to the enabled channel of each team it names (a
    handoff's event names both teams: each one's channel hears of it)."""
    return insert(_POSTS).from_select(
        _COLUMNS,
        select(_ROUTES.c.id, events.c.id, literal("pending"), literal(0), events.c.at, events.c.at)
        .select_from(
            events.join(
                _ROUTES,
                or_(
                    _ROUTES.c.team_id == events.c.team_id,
                    _ROUTES.c.team_id == events.c.other_team_id,
                ),
            )
        )
        .where(
            _ROUTES.c.enabled.is_(True),
            events.c.request_id.is_not(None),
            events.c.kind.in_(sorted(TEAM_CHANGES)),
        ),
    )


def is_team_change(kind: str, request_id: int | None, team_id: int | None) -> bool:
    """Whether an event can owe a team post at all (so a writer may skip the statement)."""
    return request_id is not None and team_id is not None and kind in TEAM_CHANGES


_QUEUE_FOR_PERSON = insert(_POSTS).from_select(
    ["route_id", "notification_id", "state", "attempts", "created_at", "next_attempt_at"],
    select(
        _ROUTES.c.id,
        bindparam("notification_id"),
        literal("pending"),
        literal(0),
        bindparam("at", type_=_POSTS.c.created_at.type),
        bindparam("at", type_=_POSTS.c.created_at.type),
    ).where(_ROUTES.c.person_id == bindparam("person_id"), _ROUTES.c.enabled.is_(True)),
)


def queue_person_post(
    connection: Connection, notification_id: int, person_id: int, at: datetime
) -> None:
    """A post to the person's own channel, if they have one."""
    connection.execute(
        _QUEUE_FOR_PERSON, {"notification_id": notification_id, "person_id": person_id, "at": at}
    )
