"""Who may see which requests. The API and the web pages both call these; nothing copies them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, false, or_, select, true
from sqlalchemy.orm import Session

from followthrough.errors import NotFound
from followthrough.org.actors import Actor
from followthrough.org.models import Service
from followthrough.requests.models import Offer, PathStep, Request, RequestParticipant


def visibility_clause(viewer: Actor):  # type: ignore[no-untyped-def]
    """A WHERE clause: the requests `viewer` may see.

    Employees see what they raised or take part in; team members see their teams' requests and
    offers made to their teams. A confidential request is seen only by its requester, the team
    that owns its service, the team and person holding it now, and the team and person an open
    offer names (they must be able to read what they are asked to accept; once they accept, they
    hold it). Admins see every request that is not confidential.
    """
    teams = tuple(viewer.team_ids) or (-1,)
    mine = or_(Request.requester_id == viewer.person_id, Request.owner_id == viewer.person_id)
    in_my_team = Request.team_id.in_(teams)
    takes_part = Request.id.in_(
        select(RequestParticipant.request_id).where(
            RequestParticipant.person_id == viewer.person_id
        )
    )
    offered_to_me = Request.id.in_(
        select(Offer.request_id).where(
            Offer.state == "open",
            or_(Offer.to_team_id.in_(teams), Offer.to_person_id == viewer.person_id),
        )
    )
    service_team = Request.service_id.in_(select(Service.id).where(Service.team_id.in_(teams)))
    open_access = true() if viewer.is_admin else or_(mine, in_my_team, takes_part, offered_to_me)
    confidential_access = (
        or_(mine, in_my_team, service_team, offered_to_me)
        if viewer.team_ids
        else or_(mine, offered_to_me)
    )
    return or_(
        (Request.confidential == false()) & open_access,
        (Request.confidential == true()) & confidential_access,
    )


def readable_requests(viewer: Actor) -> Select[Request]:
    return select(Request).where(visibility_clause(viewer))


def may_read(session: Session, viewer: Actor, request: Request) -> bool:
    """The same rule as `visibility_clause`, for one loaded request: cheapest facts first, so
    the owner, requester and owning team (nearly every change) need no extra query."""
    if request.requester_id == viewer.person_id or request.owner_id == viewer.person_id:
        return True
    if request.team_id in viewer.team_ids:
        return True
    if request.confidential:
        if viewer.team_ids and request.service_id is not None:
            service = session.get(Service, request.service_id)
            if service is not None and service.team_id in viewer.team_ids:
                return True
        return _offered_to(session, viewer, request)
    if viewer.is_admin:
        return True
    if session.get(RequestParticipant, (request.id, viewer.person_id)) is not None:
        return True
    return _offered_to(session, viewer, request)


def _offered_to(session: Session, viewer: Actor, request: Request) -> bool:
    """An open offer of the request names the viewer or one of their teams."""
    offered = select(Offer.id).where(
        Offer.request_id == request.id,
        Offer.state == "open",
        or_(
            Offer.to_team_id.in_(tuple(viewer.team_ids) or (-1,)),
            Offer.to_person_id == viewer.person_id,
        ),
    )
    return session.scalar(offered.limit(1)) is not None


def get_readable_request(
    session: Session, viewer: Actor, request_id: int, *, for_change: bool = False
) -> Request:
    """The request, or NotFound when it does not exist or the viewer may not see it.

    `for_change` locks the row (PostgreSQL) so concurrent changes queue instead of failing.
    """
    request = session.get(
        Request, request_id, with_for_update=for_change or None, populate_existing=for_change
    )
    if request is None or not may_read(session, viewer, request):
        raise NotFound(f"request {request_id} does not exist", field="request_id")
    return request


# ---- internal notes: for the teams working a request ---------------------------------------------


@dataclass(frozen=True)
class WorkingTeams:
    """Who works a request now: its owner, and the teams holding it, in its path, or named by
    an open offer."""

    requester_id: int
    owner_id: int
    team_ids: frozenset[int]


def may_see_internal_notes(viewer: Actor, working: WorkingTeams) -> bool:
    """Internal notes are for the people working the request: its owner and every member of a
    team holding it, in its path or named by an open offer. Never its requester (unless they
    own it), and nobody else, admins included. Asked only of someone who may read the request
    (`get_readable_request`), so a confidential request's past teams see nothing of it."""
    if viewer.person_id == working.owner_id:
        return True
    if viewer.person_id == working.requester_id:
        return False
    return not working.team_ids.isdisjoint(viewer.team_ids)


def working_teams(session: Session, request: Request) -> WorkingTeams:
    """The facts `may_see_internal_notes` decides on, for one request."""
    path = select(PathStep.team_id).where(PathStep.request_id == request.id)
    offered = select(Offer.to_team_id).where(Offer.request_id == request.id, Offer.state == "open")
    teams = {request.team_id, *session.scalars(path), *session.scalars(offered)}
    return WorkingTeams(request.requester_id, request.owner_id, frozenset(teams))
