"""Chat channels: a team's (set by its lead or an admin) and a person's own (set by them).

Services only flush; the request or job boundary commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from followthrough.chat.models import ChatPost, ChatRoute
from followthrough.chat.rules import PLATFORM_NAMES, Platform, url_problem
from followthrough.db import row_to_change
from followthrough.errors import Conflict, InvalidInput, NotAllowed, NotFound
from followthrough.history.payloads import ChatChannelSwitchedOff, ChatChannelSwitchedOn
from followthrough.history.service import record_event
from followthrough.notify.service import notify, tell_admins
from followthrough.org.actors import Actor
from followthrough.org.models import Person, Team


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
    platform: Platform,
    url: str,
    now: datetime,
    **owner: int,
) -> ChatRoute:
    route = row_to_change(
        session,
        ChatRoute,
        owner,
        lambda: ChatRoute(platform=platform.value, url=url, created_at=now, **owner),
    )
    route.platform = platform.value
    route.url = url
    route.enabled = True
    route.disabled_reason = None
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


# -- a channel that keeps failing ---------------------------------------------------------------


def channel_name(session: Session, route: ChatRoute) -> str:
    """Whose channel it is, in words: "Policy Admin's Slack channel"."""
    platform = PLATFORM_NAMES[Platform(route.platform)]
    if route.team_id is not None:
        team = session.get(Team, route.team_id)
        return f"{team.name if team else 'a team'}'s {platform} channel"
    person = session.get(Person, route.person_id) if route.person_id else None
    return f"{person.name if person else 'a person'}'s own {platform} channel"


def switch_off_for_failure(session: Session, route: ChatRoute, reason: str, now: datetime) -> None:
    """Switch a failing channel off, record it and tell every admin (and, for a person's own
    channel, that person), in the caller's transaction. Once only: a channel already off is
    left as it is (its admins were told then)."""
    result = session.execute(
        update(ChatRoute)
        .where(ChatRoute.id == route.id, ChatRoute.enabled.is_(True))
        .values(enabled=False, disabled_reason=reason)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return
    record_event(
        session,
        ChatChannelSwitchedOff(channel_id=route.id, platform=route.platform, reason=reason),
        now,
        team_id=route.team_id,
        person_id=route.person_id,
    )
    name = channel_name(session, route)
    told = tell_admins(
        session,
        "integration_disabled",
        f"{name} was switched off: {reason}. Check the channel's address, then switch it on "
        "again under Admin, Chat channels.",
        now,
    )
    if route.person_id is not None and route.person_id not in told:
        notify(
            session,
            route.person_id,
            "integration_disabled",
            f"Your own {PLATFORM_NAMES[Platform(route.platform)]} channel was switched off: "
            f"{reason}. Check its address "
            "and save it again on your chat page (or ask an admin to switch it on).",
            now,
        )


def switch_on(session: Session, admin: Actor, route_id: int, now: datetime) -> ChatRoute:
    """An admin switches on a channel the desk switched off for failing; audited with why it
    was off. Its posts go again from the next sweep (older news than the retry window is not
    posted); if they still fail for the whole window, it is switched off again."""
    if not admin.is_admin:
        raise NotAllowed("only admins can switch a chat channel on")
    route = session.get(ChatRoute, route_id)
    if route is None:
        raise NotFound(f"chat channel {route_id} does not exist", field="channel_id")
    if route.enabled:
        raise Conflict("the chat channel is already on", field="channel_id")
    if route.disabled_reason is None:
        raise Conflict(
            "its owner turned this channel off; they can set it again on their chat page",
            field="channel_id",
        )
    was = route.disabled_reason
    route.enabled = True
    route.disabled_reason = None
    session.flush()
    record_event(
        session,
        ChatChannelSwitchedOn(channel_id=route.id, platform=route.platform, was=was),
        now,
        actor_id=admin.person_id,
        team_id=route.team_id,
        person_id=route.person_id,
    )
    return route


@dataclass(frozen=True)
class ChannelState:
    """One chat channel as the admin page shows it: whose, where, on or off and why, and the
    last failures (newest first) with the time each failing post was made."""

    id: int
    name: str
    team_id: int | None
    person_id: int | None
    platform: str
    host: str
    enabled: bool
    disabled_reason: str | None
    last_success_at: datetime | None
    last_errors: list[tuple[datetime, str]]


ERRORS_SHOWN = 3
CHANNELS_SHOWN = 500


def channel_states(session: Session, admin: Actor) -> list[ChannelState]:
    """Every chat channel that is on or that the desk switched off (the ones switched off by the
    desk first, then those failing now), each with its last errors."""
    if not admin.is_admin:
        raise NotAllowed("only admins can see every chat channel")
    routes = list(
        session.scalars(
            select(ChatRoute)
            .where((ChatRoute.enabled.is_(True)) | (ChatRoute.disabled_reason.is_not(None)))
            .order_by(
                case(
                    (ChatRoute.enabled.is_(False), 0),
                    (ChatRoute.last_error.is_not(None), 1),
                    else_=2,
                ),
                ChatRoute.id,
            )
            .limit(CHANNELS_SHOWN)
        )
    )
    states = []
    for route in routes:
        errors: list[tuple[datetime, str]] = []
        if route.last_error is not None or route.disabled_reason is not None:
            errors = [
                (at, error)
                for at, error in session.execute(
                    select(ChatPost.created_at, ChatPost.last_error)
                    .where(ChatPost.route_id == route.id, ChatPost.last_error.is_not(None))
                    .order_by(ChatPost.id.desc())
                    .limit(ERRORS_SHOWN)
                )
                if error is not None
            ]
        states.append(
            ChannelState(
                id=route.id,
                name=channel_name(session, route),
                team_id=route.team_id,
                person_id=route.person_id,
                platform=route.platform,
                host=urlsplit(route.url).hostname or "",
                enabled=route.enabled,
                disabled_reason=route.disabled_reason,
                last_success_at=route.last_success_at,
                last_errors=errors,
            )
        )
    return states
