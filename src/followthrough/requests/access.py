"""Who may see which requests. The API and the web pages both call these; nothing copies them."""

from __future__ import annotations

from sqlalchemy import Select, false, or_, select, true
from sqlalchemy.orm import Session

from followthrough.errors import NotFound
from followthrough.org.models import Service
from followthrough.requests.models import Offer, Request, RequestParticipant
from followthrough.requests.rules import Actor


def visibility_clause(viewer: Actor):  # type: ignore[no-untyped-def]
    """A WHERE clause: the requests `viewer` may see.

    Employees see what they raised or take part in; team members see their teams' requests and
    offers made to their teams. A confidential request is seen only by its requester, the team
    that owns its service, and the team and person holding it now.
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
    confidential_access = or_(mine, in_my_team, service_team) if viewer.team_ids else mine
    return or_(
        (Request.confidential == false()) & open_access,
        (Request.confidential == true()) & confidential_access,
    )


def readable_requests(viewer: Actor) -> Select[Request]:
    return select(Request).where(visibility_clause(viewer))


def get_readable_request(
    session: Session, viewer: Actor, request_id: int, *, for_change: bool = False
) -> Request:
    """The request, or NotFound when it does not exist or the viewer may not see it.

    `for_change` locks the row (PostgreSQL) so concurrent changes queue instead of failing.
    """
    query = readable_requests(viewer).where(Request.id == request_id)
    if for_change:
        query = query.with_for_update(of=Request).execution_options(populate_existing=True)
    request = session.scalar(query)
    if request is None:
        raise NotFound(f"request {request_id} does not exist", field="request_id")
    return request
