"""Chat channel pages: a person's own (/account/chat) and a team's (/teams/{id}/chat, for its
lead or an admin). Each form calls the chat service, which checks who may and the address."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter
from fastapi.responses import Response

from followthrough.chat import service
from followthrough.chat.models import ChatRoute
from followthrough.chat.rules import PLATFORM_NAMES
from followthrough.errors import NotAllowed, NotFound
from followthrough.fields import Id
from followthrough.org.models import Team
from followthrough.web.deps import UnitOfWorkRoute, settings
from followthrough.web.pages import ChangePage, FormErrors, Page, ReadPage

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)

MINE = "/account/chat"


def _render(
    page: Page, route: ChatRoute | None, action: str, whose: str, errors: FormErrors | None
) -> Response:
    return page.render(
        "integrations/chat.html",
        status=200 if errors is None else errors.status,
        route=route,
        action=action,
        whose=whose,
        platforms=PLATFORM_NAMES,
        errors=errors,
    )


def _mine(page: Page, errors: FormErrors | None = None) -> Response:
    route = service.person_route(page.session, page.actor.person_id)
    return _render(page, route, MINE, "your", errors)


def _team(page: Page, team_id: int, errors: FormErrors | None = None) -> Response:
    team = page.session.get(Team, team_id)
    if team is None:
        raise NotFound(f"team {team_id} does not exist", field="team_id")
    if not service.may_set_team_channel(page.actor, team_id):
        raise NotAllowed("only the team's lead or an admin can set its chat channel")
    route = service.team_route(page.session, team_id)
    return _render(page, route, f"/teams/{team_id}/chat", f"{team.name}'s", errors)


def _change(
    page: Page, action: Callable[[], object], back: Callable[[FormErrors], Response], to: str
) -> Response:
    removing = page.form.get("remove") == "true"
    errors = page.attempt("chat", action)
    if errors:
        return back(errors)
    return page.redirect(to, "Chat channel turned off." if removing else "Chat channel saved.")


@router.get(MINE)
def my_channel(page: ReadPage) -> Response:
    return _mine(page)


@router.post(MINE)
def set_my_channel(page: ChangePage) -> Response:
    any_host = settings(page.request).chat_allow_any_host

    def save() -> object:
        if page.form.get("remove") == "true":
            service.remove_my_channel(page.session, page.actor)
            return None
        return service.set_my_channel(
            page.session,
            page.actor,
            page.form.get("platform"),
            page.form.get("url"),
            page.now,
            any_host=any_host,
        )

    return _change(page, save, lambda e: _mine(page, e), MINE)


@router.get("/teams/{team_id}/chat")
def team_channel(team_id: Id, page: ReadPage) -> Response:
    return _team(page, team_id)


@router.post("/teams/{team_id}/chat")
def set_team_channel(team_id: Id, page: ChangePage) -> Response:
    any_host = settings(page.request).chat_allow_any_host

    def save() -> object:
        if page.form.get("remove") == "true":
            service.remove_team_channel(page.session, page.actor, team_id)
            return None
        return service.set_team_channel(
            page.session,
            page.actor,
            team_id,
            page.form.get("platform"),
            page.form.get("url"),
            page.now,
            any_host=any_host,
        )

    return _change(page, save, lambda e: _team(page, team_id, e), f"/teams/{team_id}/chat")
