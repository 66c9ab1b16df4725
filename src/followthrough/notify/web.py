"""Home: what needs the signed-in person now, and their inbox."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from followthrough.notify import service
from followthrough.requests.board import needs_me
from followthrough.web.deps import UnitOfWorkRoute
from followthrough.web.pages import ChangePage, ReadPage

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)


@router.get("/")
def home(page: ReadPage) -> Response:
    return page.render(
        "home.html",
        needs=needs_me(page.session, page.actor, page.now),
        inbox=service.inbox(page.session, page.viewer.person_id, unread_only=True, limit=10),
        unread=service.unread_count(page.session, page.viewer.person_id),
    )


@router.post("/inbox/read")
def mark_read(page: ChangePage) -> Response:
    service.mark_read(page.session, page.viewer.person_id, None, page.now)
    return page.redirect("/", "Inbox cleared.")
