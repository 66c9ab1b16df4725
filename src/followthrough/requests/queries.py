"""Read side for requests: the filtered list and the detail view, shared by the API and web."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from followthrough.cases.models import Case, RequestCase
from followthrough.errors import InvalidInput
from followthrough.feedback.models import Rating
from followthrough.history.models import Event
from followthrough.history.payloads import EventKind
from followthrough.org.actors import Actor
from followthrough.org.models import Person, Team
from followthrough.promises.models import Promise
from followthrough.requests import rules
from followthrough.requests import schemas as s
from followthrough.requests.access import (
    get_readable_request,
    may_see_internal_notes,
    visibility_clause,
    working_teams,
)
from followthrough.requests.models import Offer, PathStep, Pause, Request, RequestUpdate

SORTS: dict[str, ColumnElement[Any]] = {
    "opened_at": Request.opened_at.asc(),
    "-opened_at": Request.opened_at.desc(),
    "updated_at": Request.updated_at.asc(),
    "-updated_at": Request.updated_at.desc(),
    "next_update_due_at": Request.next_update_due_at.asc(),
    "resolve_due_at": Request.resolve_due_at.asc(),
    "id": Request.id.asc(),
    "-id": Request.id.desc(),
}
MAX_LIMIT = 200


@dataclass(frozen=True)
class RequestFilter:
    states: tuple[str, ...] = ()
    team_id: int | None = None
    owner_id: int | None = None
    requester_id: int | None = None
    service_id: int | None = None
    case_id: int | None = None
    overdue: bool | None = None
    bounced: bool | None = None
    sort: str = "-opened_at"
    limit: int = 50
    offset: int = 0


def person_names(session: Session, person_ids: Iterable[int]) -> dict[int, str]:
    ids = set(person_ids)
    if not ids:
        return {}
    rows = session.execute(select(Person.id, Person.name).where(Person.id.in_(ids)))
    return {row.id: row.name for row in rows}


def team_names(session: Session, team_ids: Iterable[int]) -> dict[int, str]:
    ids = set(team_ids)
    if not ids:
        return {}
    rows = session.execute(select(Team.id, Team.name).where(Team.id.in_(ids)))
    return {row.id: row.name for row in rows}


def _conditions(viewer: Actor, flt: RequestFilter, now: datetime) -> list[ColumnElement[bool]]:
    """The filter as WHERE conditions, the access rule first: shared by the list and its count."""
    for state in flt.states:
        rules.require_one_of(state, rules.STATES, "state")
    conditions: list[ColumnElement[bool]] = [visibility_clause(viewer)]
    if flt.states:
        conditions.append(Request.state.in_(flt.states))
    if flt.team_id is not None:
        conditions.append(Request.team_id == flt.team_id)
    if flt.owner_id is not None:
        conditions.append(Request.owner_id == flt.owner_id)
    if flt.requester_id is not None:
        conditions.append(Request.requester_id == flt.requester_id)
    if flt.service_id is not None:
        conditions.append(Request.service_id == flt.service_id)
    if flt.case_id is not None:
        conditions.append(
            Request.id.in_(select(RequestCase.request_id).where(RequestCase.case_id == flt.case_id))
        )
    if flt.bounced is not None:
        conditions.append(Request.bounce_count > 0 if flt.bounced else Request.bounce_count == 0)
    if flt.overdue is not None:
        late = or_(Request.next_update_due_at <= now, Request.resolve_due_at <= now)
        open_ = Request.state.in_(rules.OPEN_STATES)
        conditions.append(open_ & late if flt.overdue else ~(open_ & late))
    return conditions


def list_requests(
    session: Session, viewer: Actor, flt: RequestFilter, now: datetime
) -> s.RequestPage:
    if flt.sort not in SORTS:
        raise InvalidInput(f"sort must be one of: {', '.join(SORTS)}", field="sort")
    if not 1 <= flt.limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be from 1 to {MAX_LIMIT}", field="limit")
    if flt.offset < 0:
        raise InvalidInput("offset must not be negative", field="offset")
    query = (
        select(Request)
        .where(*_conditions(viewer, flt, now))
        .order_by(SORTS[flt.sort], Request.id.desc())
        .limit(flt.limit + 1)
        .offset(flt.offset)
    )
    rows = list(session.scalars(query))
    has_more = len(rows) > flt.limit
    rows = rows[: flt.limit]
    people = person_names(session, [p for r in rows for p in (r.owner_id, r.requester_id)])
    teams = team_names(session, [r.team_id for r in rows])
    return s.RequestPage(
        items=[summary(r, people, teams) for r in rows],
        limit=flt.limit,
        offset=flt.offset,
        has_more=has_more,
    )


def count_requests(
    session: Session, viewer: Actor, flts: Sequence[RequestFilter], now: datetime
) -> list[int]:
    """How many requests each filter matches in all (its limit and offset aside), through the
    same access rule as the list, in one round trip: the number shown beside a list."""
    counts = [
        select(func.count())
        .select_from(Request)
        .where(*_conditions(viewer, flt, now))
        .scalar_subquery()
        for flt in flts
    ]
    if not counts:
        return []
    return [int(n or 0) for n in session.execute(select(*counts)).one()]


def summary(request: Request, people: dict[int, str], teams: dict[int, str]) -> s.RequestSummary:
    return s.RequestSummary(
        id=request.id,
        title=request.title,
        state=request.state,
        waiting_on=request.waiting_on,
        priority=request.priority,
        confidential=request.confidential,
        team=s.TeamRef(id=request.team_id, name=teams.get(request.team_id, "")),
        owner=s.PersonRef(id=request.owner_id, name=people.get(request.owner_id, "")),
        requester=s.PersonRef(id=request.requester_id, name=people.get(request.requester_id, "")),
        service_id=request.service_id,
        opened_at=request.opened_at,
        updated_at=request.updated_at,
        next_update_due_at=request.next_update_due_at,
        resolve_due_at=request.resolve_due_at,
        bounce_count=request.bounce_count,
        timescale=s.Timescale(
            median_at=request.eta_median_at,
            likely_at=request.eta_likely_at,
            basis=request.eta_basis,
        ),
        version=request.version,
    )


def request_detail(session: Session, viewer: Actor, request_id: int) -> s.RequestDetail:
    """Everything about one request the viewer may see, in a fixed handful of indexed queries."""
    request = get_readable_request(session, viewer, request_id)
    rid = request.id
    offers = list(session.scalars(select(Offer).where(Offer.request_id == rid).order_by(Offer.id)))
    path = list(
        session.scalars(select(PathStep).where(PathStep.request_id == rid).order_by(PathStep.id))
    )
    pauses = list(session.scalars(select(Pause).where(Pause.request_id == rid).order_by(Pause.id)))
    updates = list(
        session.scalars(
            select(RequestUpdate).where(RequestUpdate.request_id == rid).order_by(RequestUpdate.id)
        )
    )
    promises = list(
        session.scalars(select(Promise).where(Promise.request_id == rid).order_by(Promise.id))
    )
    cases = list(
        session.scalars(
            select(Case)
            .join(RequestCase, RequestCase.case_id == Case.id)
            .where(RequestCase.request_id == rid)
        )
    )
    children = list(
        session.scalars(
            select(Request)
            .where(Request.parent_id == rid, visibility_clause(viewer))
            .order_by(Request.id)
        )
    )
    rating = session.scalar(select(Rating).where(Rating.request_id == rid))
    # The duplicates merged into it and the request it was merged into, as far as the viewer
    # may read them (a confidential one stays out of sight).
    merged_with = Request.merged_into_id == rid
    if request.merged_into_id is not None:
        merged_with = or_(merged_with, Request.id == request.merged_into_id)
    merged = {
        m.id: s.MergedRef(id=m.id, title=m.title, state=m.state)
        for m in session.execute(
            select(Request.id, Request.title, Request.state)
            .where(merged_with, visibility_clause(viewer))
            .order_by(Request.id)
        )
    }
    people = person_names(
        session,
        [request.owner_id, request.requester_id]
        + [o.from_person_id for o in offers]
        + [o.to_person_id for o in offers if o.to_person_id is not None]
        + [u.author_id for u in updates]
        + [p.made_by_id for p in promises]
        + [c.owner_id for c in children],
    )
    teams = team_names(
        session,
        [request.team_id]
        + [o.to_team_id for o in offers]
        + [p.team_id for p in path]
        + [c.team_id for c in children],
    )

    def person(pid: int) -> s.PersonRef:
        return s.PersonRef(id=pid, name=people.get(pid, ""))

    def team(tid: int) -> s.TeamRef:
        return s.TeamRef(id=tid, name=teams.get(tid, ""))

    base = summary(request, people, teams)
    return s.RequestDetail(
        **base.model_dump(),
        need=request.need,
        context=request.context,
        impact_customers=request.impact_customers,
        desired_by=request.desired_by,
        parent_id=request.parent_id,
        accepted_at=request.accepted_at,
        resolved_at=request.resolved_at,
        closed_at=request.closed_at,
        resolution=request.resolution,
        auto_close_at=request.auto_close_at,
        offers=[
            s.OfferOut(
                id=o.id,
                kind=o.kind,
                state=o.state,
                from_person=person(o.from_person_id),
                to_team=team(o.to_team_id),
                to_person=None if o.to_person_id is None else person(o.to_person_id),
                note=o.note,
                offered_at=o.offered_at,
                due_at=o.due_at,
                escalated_at=o.escalated_at,
                answered_at=o.answered_at,
                decline_reason=o.decline_reason,
            )
            for o in offers
        ],
        path=[
            s.PathStepOut(team=team(p.team_id), entered_at=p.entered_at, is_bounce=p.is_bounce)
            for p in path
        ],
        pauses=[
            s.PauseOut(
                reason=p.reason,
                note=p.note,
                child_request_id=p.child_request_id,
                started_at=p.started_at,
                ended_at=p.ended_at,
            )
            for p in pauses
        ],
        updates=[
            s.UpdateOut(id=u.id, author=person(u.author_id), body=u.body, posted_at=u.posted_at)
            for u in updates
        ],
        promises=[
            s.PromiseOut(
                id=p.id,
                made_by=person(p.made_by_id),
                what=p.what,
                due_at=p.due_at,
                made_at=p.made_at,
                state=p.state,
                done_at=p.done_at,
                done_note=p.done_note,
            )
            for p in promises
        ],
        cases=[
            s.CaseRef(
                id=c.id,
                reference=c.reference,
                customer=c.customer,
                external_due_at=c.external_due_at,
            )
            for c in cases
        ],
        children=[
            s.ChildOut(
                id=c.id,
                title=c.title,
                state=c.state,
                team=team(c.team_id),
                owner=person(c.owner_id),
            )
            for c in children
        ],
        rating=None
        if rating is None
        else s.RatingOut(
            understand=rating.understand,
            own=rating.own,
            serve=rating.serve,
            communicate=rating.communicate,
            comment=rating.comment,
            rated_at=rating.rated_at,
        ),
        merged_into=None if request.merged_into_id is None else merged.get(request.merged_into_id),
        merged_from=[m for mid, m in merged.items() if mid != request.merged_into_id],
    )


def request_events(
    session: Session, viewer: Actor, request_id: int, after_id: int = 0, limit: int = 500
) -> list[s.EventOut]:
    request = get_readable_request(session, viewer, request_id)
    shown = [Event.request_id == request_id, Event.id > after_id]
    if not may_see_internal_notes(viewer, working_teams(session, request)):
        # Internal notes are for the teams working the request: nobody else sees a trace.
        shown.append(Event.kind != EventKind.NOTE_ADDED)
    rows = session.scalars(select(Event).where(*shown).order_by(Event.id).limit(limit))
    return [
        s.EventOut(
            id=e.id,
            kind=e.kind,
            at=e.at,
            actor_id=e.actor_id,
            team_id=e.team_id,
            other_team_id=e.other_team_id,
            person_id=e.person_id,
            payload=e.payload,
        )
        for e in rows
    ]
