"""Chat channels: a team's (set by its lead or an admin) and a person's own (set by them).

Services only flush; the request or job boundary commits.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from followthrough.chat.models import ChatRoute
from followthrough.chat.rules import Platform, url_problem
from followthrough.errors import InvalidInput, NotAllowed, NotFound
from followthrough.org.actors import Actor
from followthrough.org.models import Team


def _platform(value: str) -> Platform:
    try:
        return Platform(value)
    except ValueError:
        raise InvalidInput("choose Slack or Microsoft Teams", field="platform") from None


def _checked_url(platform: Platform, url: str, any_host: bool) -> str:
    problem = url_problem(platform, url, any_host=any_host)
    if problem:
        raise InvalidInput(problem, field="url")
    return url.strip()


def may_set_team_channel(actor: Actor, team_id: int) -> bool:
    """A team's channel is its lead's (or an admin's) to set: it speaks for the whole team."""
    return actor.is_admin or team_id in actor.lead_of


def team_route(session: Session, team_id: int) -> ChatRoute | None:
    return session.scalar(select(ChatRoute).where(ChatRoute.team_id == team_id))


def person_route(session: Session, person_id: int) -> ChatRoute | None:
    return session.scalar(select(ChatRoute).where(ChatRoute.person_id == person_id))


def _save(
    session: Session,
    route: ChatRoute | None,
    platform: Platform,
    url: str,
    now: datetime,
    **owner: int,
) -> ChatRoute:
    if route is None:
        route = ChatRoute(platform=platform.value, url=url, created_at=now, **owner)
        session.add(route)
    route.platform = platform.value
    route.url = url
    route.enabled = True
    route.last_error = None
    session.flush()
    return route


def set_team_channel(
    session: Session,
    actor: Actor,
    team_id: int,
    platform: str,
    url: str,
    now: datetime,
    *,
    any_host: bool = False,
) -> ChatRoute:
    if session.get(Team, team_id) is None:
        raise NotFound(f"team {team_id} does not exist", field="team_id")
    if not may_set_team_channel(actor, team_id):
        raise NotAllowed("only the team's lead or an admin can set its chat channel")
    chosen = _platform(platform)
    return _save(
        session,
        team_route(session, team_id),
        chosen,
        _checked_url(chosen, url, any_host),
        now,
        team_id=team_id,
    )


def set_my_channel(
    session: Session,
    actor: Actor,
    platform: str,
    url: str,
    now: datetime,
    *,
    any_host: bool = False,
) -> ChatRoute:
    chosen = _platform(platform)
    return _save(
        session,
        person_route(session, actor.person_id),
        chosen,
        _checked_url(chosen, url, any_host),
        now,
        person_id=actor.person_id,
    )


def remove_team_channel(session: Session, actor: Actor, team_id: int) -> None:
    if not may_set_team_channel(actor, team_id):
        raise NotAllowed("only the team's lead or an admin can change its chat channel")
    route = team_route(session, team_id)
    if route is not None:
        route.enabled = False
        session.flush()


def remove_my_channel(session: Session, actor: Actor) -> None:
    route = person_route(session, actor.person_id)
    if route is not None:
        route.enabled = False
        session.flush()
