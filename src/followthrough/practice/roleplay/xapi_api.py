"""HTTP API: the role plays' learning records as one xAPI JSON download, for admins."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from followthrough.config import Settings
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
        date | None, Query(description="Statements recorded from this day (UTC) on; all if empty")
    ] = None,
) -> Response:
    """Every role-play statement (attempted, answered, scored, completed) recorded since the
    day, as one JSON array of xAPI 1.0.3 statements that any learning record store takes."""
    start = datetime.min if since is None else datetime.combine(since, time())
    statements = statements_since(session, desk, start.replace(tzinfo=UTC))
    name = "learning-records" if since is None else f"learning-records-since-{since.isoformat()}"
    return Response(
        content=json.dumps(statements, ensure_ascii=False),
        media_type="application/json",
        headers={"content-disposition": f'attachment; filename="{name}.json"'},
    )
