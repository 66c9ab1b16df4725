"""Chat channel pages: a person's own (/account/chat) and a team's (/teams/{id}/chat, for its
lead or an admin). Each form calls the chat service, which checks who may and the address.

For admins, every channel's state (`/admin/chat`, `GET /api/v1/admin/chat/channels`): on or
switched off by the desk and why, the last errors; a channel switched off is switched on again
from the page or `POST /api/v1/admin/chat/channels/{id}/switch-on` (or `followthrough webhooks
chat-on`), audited. The page calls the API's own functions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from followthrough.chat import service
from followthrough.chat.models import ChatRoute
from followthrough.chat.rules import PLATFORM_NAMES
from followthrough.errors import NotAllowed, NotFound
from followthrough.fields import Id
from followthrough.org.actors import Actor
from followthrough.org.models import Team
from followthrough.web.deps import (
    AdminActor,
    DbSession,
    Now,
    UnitOfWorkRoute,
    admin_actor,
    settings,
)
from followthrough.web.pages import ChangePage, FormErrors, Page, ReadPage

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)
api = APIRouter(route_class=UnitOfWorkRoute, prefix="/admin/chat", tags=["chat"])

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


# -- every channel, for admins ----------------------------------------------------------------

ADMIN_PAGE = "/admin/chat"


class ChatErrorOut(BaseModel):
    post_made_at: datetime = Field(description="when the post that failed was queued")
    error: str = Field(description="what the chat service answered, or why there was no answer")


class ChannelOut(BaseModel):
    id: int
    name: str = Field(description="whose channel it is, in words")
    team_id: int | None
    person_id: int | None
    platform: str = Field(description="slack or teams")
    host: str = Field(description="the host of its webhook address (the address is a secret)")
    enabled: bool
    disabled_reason: str | None = Field(description="why the desk switched it off")
    last_success_at: datetime | None
    last_errors: list[ChatErrorOut] = Field(description="the latest failures, newest first")


def list_channels(session: Session, admin: Actor) -> list[ChannelOut]:
    return [
        ChannelOut(
            **{k: v for k, v in vars(state).items() if k != "last_errors"},
            last_errors=[ChatErrorOut(post_made_at=at, error=e) for at, e in state.last_errors],
        )
        for state in service.channel_states(session, admin)
    ]


def switch_on(channel_id: int, session: Session, admin: Actor, now: datetime) -> ChannelOut:
    service.switch_on(session, admin, channel_id, now)
    return next(c for c in list_channels(session, admin) if c.id == channel_id)


@api.get("/channels", response_model=list[ChannelOut])
def get_channels(session: DbSession, admin: AdminActor) -> list[ChannelOut]:
    """Every chat channel that is on, or that the desk switched off after its posts kept
    failing, with why and the last errors (admins)."""
    return list_channels(session, admin)


@api.post("/channels/{channel_id}/switch-on", response_model=ChannelOut)
def post_switch_on(channel_id: Id, session: DbSession, admin: AdminActor, now: Now) -> ChannelOut:
    """Switch on a channel the desk switched off (fix its address first). Audited."""
    return switch_on(channel_id, session, admin, now)


def _admin_page(page: Page, errors: FormErrors | None = None) -> Response:
    return page.render(
        "integrations/chat_channels.html",
        status=200 if errors is None else errors.status,
        channels=list_channels(page.session, admin_actor(page.actor)),
        platforms=PLATFORM_NAMES,
        errors=errors,
    )


@router.get(ADMIN_PAGE)
def channels_page(page: ReadPage) -> Response:
    return _admin_page(page)


@router.post(ADMIN_PAGE + "/{channel_id}/switch-on")
def switch_on_page(channel_id: Id, page: ChangePage) -> Response:
    admin = admin_actor(page.actor)
    errors = page.attempt(
        f"channel-{channel_id}", lambda: switch_on(channel_id, page.session, admin, page.now)
    )
    if errors:
        return _admin_page(page, errors)
    return page.redirect(ADMIN_PAGE, "Switched on: its posts go again from the next sweep.")
