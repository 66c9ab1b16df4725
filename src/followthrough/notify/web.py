"""Home: what needs the signed-in person now, and their inbox; the notification history."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from followthrough.fields import Id, Offset, Text
from followthrough.notify import service
from followthrough.notify.service import Shown
from followthrough.requests.board import HOME_LISTS, HOME_PREVIEW, needs_me
from followthrough.web.deps import UnitOfWorkRoute
from followthrough.web.pages import ChangePage, ReadPage, safe_next

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)

HISTORY_PAGE = 25
SHOWN_LABELS = {Shown.ALL: "All", Shown.UNREAD: "Unread", Shown.READ: "Read"}


@router.get("/")
def home(page: ReadPage) -> Response:
    return page.render(
        "home.html",
        needs=needs_me(page.session, page.actor, page.now, today_ends=page.today_ends),
        kinds=HOME_LISTS,
        inbox=service.inbox(
            page.session, page.viewer.person_id, unread_only=True, limit=HOME_PREVIEW
        ),
        unread=service.unread_count(page.session, page.viewer.person_id),
    )


@router.post("/inbox/read")
def mark_read(page: ChangePage) -> Response:
    service.mark_read(page.session, page.viewer.person_id, None, page.now)
    return page.redirect("/", "Inbox cleared.")


def _shown(value: str) -> Shown:
    """The filter asked for; anything else shows all (a link cannot be 'wrong' here)."""
    try:
        return Shown(value)
    except ValueError:
        return Shown.ALL


@router.get("/notifications")
def notifications(page: ReadPage, show: Text = "all", offset: Offset = 0) -> Response:
    """Every notification the person has had, newest first, read and unread, a page at a time."""
    shown = _shown(show)
    history = service.history(
        page.session, page.viewer.person_id, shown, offset=offset, limit=HISTORY_PAGE
    )
    return page.render(
        "notifications.html",
        history=history,
        shown=shown,
        shown_labels=SHOWN_LABELS,
        here=f"/notifications?show={shown.value}&offset={offset}",
    )


def _back(page: ChangePage) -> str:
    return safe_next(page.form.get("next"), "/notifications")


@router.post("/notifications/read")
def mark_all_read(page: ChangePage) -> Response:
    marked = service.mark_read(page.session, page.viewer.person_id, None, page.now)
    flash = "Nothing was unread." if marked == 0 else f"Marked {marked} read."
    return page.redirect(_back(page), flash)


@router.post("/notifications/{notification_id}/read")
def mark_one_read(notification_id: Id, page: ChangePage) -> Response:
    service.check_theirs(page.session, page.viewer.person_id, notification_id)
    service.mark_read(page.session, page.viewer.person_id, [notification_id], page.now)
    return page.redirect(_back(page), "Marked read.")


@router.post("/notifications/{notification_id}/unread")
def mark_one_unread(notification_id: Id, page: ChangePage) -> Response:
    service.check_theirs(page.session, page.viewer.person_id, notification_id)
    service.mark_unread(page.session, page.viewer.person_id, [notification_id])
    return page.redirect(_back(page), "Marked unread.")
