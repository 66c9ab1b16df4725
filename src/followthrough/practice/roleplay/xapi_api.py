"""HTTP API: the role plays' learning records as one xAPI JSON download, for admins."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from followthrough.config import Settings
from followthrough.errors import InvalidInput
from followthrough.practice.roleplay.xapi_outbox import statements_since
from followthrough.web.deps import AdminActor, DbSession, UnitOfWorkRoute, settings

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/admin", tags=["role plays"])


@router.get(
    "/learning-records",
    responses={200: {"content": {"application/json": {}}, "description": "xAPI statements"}},
)
def learning_records(
    session: DbSession,
    actor: AdminActor,
    desk: Annotated[Settings, Depends(settings)],
    since: Annotated[
        str | None,
        Query(
            description="Statements recorded from this day (UTC, YYYY-MM-DD) on; all if empty",
            max_length=10,
        ),
    ] = None,
) -> Response:
    """Every role-play statement (attempted, answered, scored, completed) recorded since the
    day, as one JSON array of xAPI 1.0.3 statements that any learning record store takes."""
    day = _day(since)
    start = datetime.min if day is None else datetime.combine(day, time())
    statements = statements_since(session, desk, start.replace(tzinfo=UTC))
    name = "learning-records" if day is None else f"learning-records-since-{day.isoformat()}"
    return Response(
        content=json.dumps(statements, ensure_ascii=False),
        media_type="application/json",
        headers={"content-disposition": f'attachment; filename="{name}.json"'},
    )


def _day(since: str | None) -> date | None:
    """The day asked for; none when the field was left empty (the admin page's form sends it
    empty when no day is chosen: everything)."""
    if since is None or not since.strip():
        return None
    try:
        return date.fromisoformat(since.strip())
    except ValueError:
        raise InvalidInput("must be a day written YYYY-MM-DD", field="since") from None
