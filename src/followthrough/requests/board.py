"""The read model for the web pages: what needs a person now, a team's queue and its lead's board.

It only reads: it imports models, the access rule and pure rules, never a service, and no service
imports it (import-linter contracts in pyproject.toml), so a page's read can neither change a
request nor be changed by a service's bookkeeping. Every query goes through `visibility_clause`,
the same authorisation the API uses, and aggregates in SQL. Attainment reads the history
(events) and the answered offers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, false, func, or_, select
from sqlalchemy.orm import Session

from followthrough.cases.models import Case, RequestCase
from followthrough.errors import InvalidInput, NotAllowed, NotFound
from followthrough.feedback.models import ColleagueFeedback, Rating
from followthrough.history.models import Event
from followthrough.history.payloads import EventKind, Resolved
from followthrough.org.actors import Actor
from followthrough.org.models import Membership, Person, Team
from followthrough.promises.models import Promise
from followthrough.requests import rules
from followthrough.requests.access import visibility_clause
from followthrough.requests.models import Offer, Request

ESCALATION_KINDS = (EventKind.ESCALATED, EventKind.UPDATE_ESCALATED)
RECENT = timedelta(days=7)
ATTAINMENT_WEEKS = 8
# Read in SQL; checked against the typed payload when this module loads.
WITHIN_TARGET = Resolved.key("within_target")


def _open() -> ColumnElement[bool]:
    return Request.state.in_(rules.OPEN_STATES)


def _teams(actor: Actor) -> tuple[int, ...]:
    return tuple(actor.team_ids) or (-1,)


def end_of_day(now: datetime) -> datetime:
    """The next UTC midnight: 'due today' means before it."""
    return now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)


def _offers_waiting(actor: Actor) -> ColumnElement[bool]:
    """Open offers the actor may answer: made to them, or to one of their teams."""
    return (Offer.state == "open") & or_(
        Offer.to_person_id == actor.person_id,
        Offer.to_person_id.is_(None) & Offer.to_team_id.in_(_teams(actor)),
    )


def _next_due() -> ColumnElement[Any]:
    """The earlier of the next update and the resolve target (either may be missing)."""
    update, resolve = Request.next_update_due_at, Request.resolve_due_at
    return case(
        (update.is_(None), resolve),
        (resolve.is_(None), update),
        (update < resolve, update),
        else_=resolve,
    )


# ---- navigation and home ----------------------------------------------------------------------


@dataclass(frozen=True)
class NavCounts:
    needs_me: int
    queue: int


def nav_counts(session: Session, actor: Actor, now: datetime) -> NavCounts:
    """The badges in the navigation, in one round trip."""
    visible = visibility_clause(actor)

    def count_offers(where: ColumnElement[bool]) -> Any:
        # Each count is driven by one offer index; an OR across columns here makes the
        # planner walk every visible request instead.
        return (
            select(func.count())
            .select_from(Offer)
            .join(Request, Request.id == Offer.request_id)
            .where(Offer.state == "open", where, visible)
            .scalar_subquery()
        )

    to_me = count_offers(Offer.to_person_id == actor.person_id)
    to_my_teams = count_offers(Offer.to_team_id.in_(_teams(actor)) & Offer.to_person_id.is_(None))
    team_offers = (
        select(func.count())
        .select_from(Offer)
        .join(Request, Request.id == Offer.request_id)
        .where(Offer.state == "open", Offer.to_team_id.in_(_teams(actor)), visible)
        .scalar_subquery()
    )
    promises = (
        select(func.count())
        .select_from(Promise)
        .where(
            Promise.made_by_id == actor.person_id,
            Promise.state == "open",
            Promise.due_at < end_of_day(now),
        )
        .scalar_subquery()
    )
    updates = (
        select(func.count())
        .select_from(Request)
        .where(
            Request.owner_id == actor.person_id,
            _open(),
            Request.next_update_due_at < end_of_day(now),
        )
        .scalar_subquery()
    )
    escalations = (
        select(func.count(func.distinct(Event.request_id)))
        .select_from(Event)
        .join(Request, Request.id == Event.request_id)
        .where(
            Event.person_id == actor.person_id,
            Event.kind.in_(ESCALATION_KINDS),
            Event.at >= now - RECENT,
            _open(),
            visible,
        )
        .scalar_subquery()
    )
    row = session.execute(
        select(to_me, to_my_teams, promises, updates, escalations, team_offers)
    ).one()
    return NavCounts(needs_me=int(sum(row[:5])), queue=int(row[5]))


@dataclass(frozen=True)
class OfferItem:
    offer_id: int
    request_id: int
    title: str
    to_team: str
    to_person: str | None
    from_person: str
    note: str
    offered_at: datetime
    due_at: datetime
    escalated: bool
    confidential: bool
    priority: str
    version: int


@dataclass(frozen=True)
class PromiseItem:
    promise_id: int
    request_id: int
    title: str
    what: str
    due_at: datetime
    state: str


@dataclass(frozen=True)
class DueItem:
    request_id: int
    title: str
    state: str
    due_at: datetime | None
    team: str


@dataclass(frozen=True)
class EscalationItem:
    request_id: int
    title: str
    kind: str
    at: datetime
    team: str


@dataclass(frozen=True)
class FeedbackItem:
    kind: str
    at: datetime
    request_id: int | None
    title: str
    text: str
    scores: tuple[int, int, int, int] | None


@dataclass(frozen=True)
class NeedsMe:
    offers: list[OfferItem]
    promises_due: list[PromiseItem]
    promises_broken: list[PromiseItem]
    updates_due: list[DueItem]
    escalations: list[EscalationItem]
    feedback: list[FeedbackItem]


def _offer_items(session: Session, where: ColumnElement[bool], limit: int) -> list[OfferItem]:
    to_person = Person.__table__.alias("to_person")
    from_person = Person.__table__.alias("from_person")
    rows = session.execute(
        select(
            Offer.id,
            Offer.request_id,
            Request.title,
            Team.name,
            to_person.c.name,
            from_person.c.name,
            Offer.note,
            Offer.offered_at,
            Offer.due_at,
            Offer.escalated_at,
            Request.confidential,
            Request.priority,
            Request.version,
        )
        .join(Request, Request.id == Offer.request_id)
        .join(Team, Team.id == Offer.to_team_id)
        .join(from_person, from_person.c.id == Offer.from_person_id)
        .outerjoin(to_person, to_person.c.id == Offer.to_person_id)
        .where(where)
        .order_by(Offer.due_at, Offer.id)
        .limit(limit)
    )
    return [
        OfferItem(
            offer_id=r[0],
            request_id=r[1],
            title=r[2],
            to_team=r[3],
            to_person=r[4],
            from_person=r[5],
            note=r[6],
            offered_at=r[7],
            due_at=r[8],
            escalated=r[9] is not None,
            confidential=r[10],
            priority=r[11],
            version=r[12],
        )
        for r in rows
    ]


def _promise_items(session: Session, where: ColumnElement[bool], limit: int) -> list[PromiseItem]:
    rows = session.execute(
        select(
            Promise.id,
            Promise.request_id,
            Request.title,
            Promise.what,
            Promise.due_at,
            Promise.state,
        )
        .join(Request, Request.id == Promise.request_id)
        .where(where)
        .order_by(Promise.due_at)
        .limit(limit)
    )
    return [PromiseItem(*r) for r in rows]


def needs_me(session: Session, actor: Actor, now: datetime, limit: int = 20) -> NeedsMe:
    """Home: offers to answer, promises due today or broken, updates due, escalations, feedback."""
    visible = visibility_clause(actor)
    me = actor.person_id
    offers = _offer_items(session, _offers_waiting(actor) & visible, limit)
    promises_due = _promise_items(
        session,
        (Promise.made_by_id == me) & (Promise.state == "open") & (Promise.due_at < end_of_day(now)),
        limit,
    )
    promises_broken = _promise_items(
        session,
        (Promise.made_by_id == me) & (Promise.state == "broken") & (Promise.due_at >= now - RECENT),
        limit,
    )
    updates = [
        DueItem(request_id=r[0], title=r[1], state=r[2], due_at=r[3], team=r[4])
        for r in session.execute(
            select(Request.id, Request.title, Request.state, Request.next_update_due_at, Team.name)
            .join(Team, Team.id == Request.team_id)
            .where(Request.owner_id == me, _open(), Request.next_update_due_at < end_of_day(now))
            .order_by(Request.next_update_due_at)
            .limit(limit)
        )
    ]
    latest = (
        select(Event.request_id, Event.kind, func.max(Event.at).label("at"))
        .join(Request, Request.id == Event.request_id)
        .where(
            Event.person_id == me,
            Event.kind.in_(ESCALATION_KINDS),
            Event.at >= now - RECENT,
            _open(),
            visible,
        )
        .group_by(Event.request_id, Event.kind)
        .subquery()
    )
    escalations = [
        EscalationItem(request_id=r[0], kind=r[1], at=r[2], title=r[3], team=r[4])
        for r in session.execute(
            select(latest.c.request_id, latest.c.kind, latest.c.at, Request.title, Team.name)
            .join(Request, Request.id == latest.c.request_id)
            .join(Team, Team.id == Request.team_id)
            .order_by(latest.c.at.desc())
            .limit(limit)
        )
    ]
    return NeedsMe(
        offers=offers,
        promises_due=promises_due,
        promises_broken=promises_broken,
        updates_due=updates,
        escalations=escalations,
        feedback=feedback_received(session, actor, now, limit),
    )


def feedback_received(
    session: Session, actor: Actor, now: datetime, limit: int = 10
) -> list[FeedbackItem]:
    """Ratings of requests the person owned and colleague feedback to them, last 30 days."""
    since = now - timedelta(days=30)
    ratings = session.execute(
        select(
            Rating.rated_at,
            Rating.request_id,
            Request.title,
            Rating.comment,
            Rating.understand,
            Rating.own,
            Rating.serve,
            Rating.communicate,
        )
        .join(Request, Request.id == Rating.request_id)
        .where(Request.owner_id == actor.person_id, Rating.rated_at >= since)
        .order_by(Rating.rated_at.desc())
        .limit(limit)
    )
    items = [
        FeedbackItem(
            kind="rating",
            at=r[0],
            request_id=r[1],
            title=r[2],
            text=r[3],
            scores=(r[4], r[5], r[6], r[7]),
        )
        for r in ratings
    ]
    colleague = session.execute(
        select(
            ColleagueFeedback.given_at,
            ColleagueFeedback.request_id,
            ColleagueFeedback.kind,
            ColleagueFeedback.behaviour,
            Person.name,
        )
        .join(Person, Person.id == ColleagueFeedback.from_person_id)
        .where(
            ColleagueFeedback.to_person_id == actor.person_id, ColleagueFeedback.given_at >= since
        )
        .order_by(ColleagueFeedback.given_at.desc())
        .limit(limit)
    )
    items += [
        FeedbackItem(
            kind=r[2], at=r[0], request_id=r[1], title=f"From {r[4]}", text=r[3], scores=None
        )
        for r in colleague
    ]
    return sorted(items, key=lambda item: item.at, reverse=True)[:limit]


# ---- small lookups for lists -------------------------------------------------------------------


def open_promise_counts(session: Session, request_ids: Iterable[int]) -> dict[int, int]:
    ids = set(request_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(Promise.request_id, func.count())
        .where(Promise.request_id.in_(ids), Promise.state == "open")
        .group_by(Promise.request_id)
    )
    return {rid: int(count) for rid, count in rows}


def case_refs(session: Session, request_ids: Iterable[int]) -> dict[int, list[tuple[int, str]]]:
    """Case (id, reference) per request, for lists."""
    ids = set(request_ids)
    if not ids:
        return {}
    found: dict[int, list[tuple[int, str]]] = {}
    rows = session.execute(
        select(RequestCase.request_id, Case.id, Case.reference)
        .join(Case, Case.id == RequestCase.case_id)
        .where(RequestCase.request_id.in_(ids))
        .order_by(Case.reference)
    )
    for rid, cid, ref in rows:
        found.setdefault(rid, []).append((cid, ref))
    return found


# ---- team queue ---------------------------------------------------------------------------------

QUEUE_FILTERS = ("overdue", "bounced", "waiting", "confidential")


@dataclass(frozen=True)
class QueueItem:
    request_id: int
    title: str
    state: str
    waiting_on: str | None
    priority: str
    confidential: bool
    owner: str
    owner_id: int
    next_update_due_at: datetime | None
    resolve_due_at: datetime | None
    next_due_at: datetime | None
    bounce_count: int
    open_promises: int


def team_offers(session: Session, actor: Actor, team_id: int, limit: int = 100) -> list[OfferItem]:
    """Open offers to the team (to anyone in it, or to one member), soonest due first."""
    where = (Offer.state == "open") & (Offer.to_team_id == team_id) & visibility_clause(actor)
    return _offer_items(session, where, limit)


def team_queue(
    session: Session,
    actor: Actor,
    team_id: int,
    now: datetime,
    filters: Sequence[str] = (),
    limit: int = 100,
) -> list[QueueItem]:
    """Open requests the team owns, what is due first at the top."""
    for name in filters:
        rules.require_one_of(name, QUEUE_FILTERS, "filter")
    next_due = _next_due().label("next_due")
    promises = (
        select(func.count())
        .where(Promise.request_id == Request.id, Promise.state == "open")
        .correlate(Request)
        .scalar_subquery()
    )
    query = (
        select(
            Request.id,
            Request.title,
            Request.state,
            Request.waiting_on,
            Request.priority,
            Request.confidential,
            Person.name,
            Request.owner_id,
            Request.next_update_due_at,
            Request.resolve_due_at,
            next_due,
            Request.bounce_count,
            promises,
        )
        .join(Person, Person.id == Request.owner_id)
        .where(Request.team_id == team_id, _open(), visibility_clause(actor))
    )
    if "overdue" in filters:
        query = query.where(or_(Request.next_update_due_at <= now, Request.resolve_due_at <= now))
    if "bounced" in filters:
        query = query.where(Request.bounce_count > 0)
    if "waiting" in filters:
        query = query.where(Request.state.in_(rules.PAUSED_STATES))
    if "confidential" in filters:
        query = query.where(Request.confidential.is_(True))
    query = query.order_by(next_due.is_(None), next_due, Request.id).limit(limit)
    return [
        QueueItem(
            request_id=r[0],
            title=r[1],
            state=r[2],
            waiting_on=r[3],
            priority=r[4],
            confidential=r[5],
            owner=r[6],
            owner_id=r[7],
            next_update_due_at=r[8],
            resolve_due_at=r[9],
            next_due_at=r[10],
            bounce_count=r[11],
            open_promises=int(r[12]),
        )
        for r in session.execute(query)
    ]


# ---- lead board ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberLoad:
    person_id: int
    name: str
    owned: int
    overdue: int
    open_promises: int


@dataclass(frozen=True)
class WeekAttainment:
    """One week of OLA attainment: how many of each, and how many within target."""

    starts_at: datetime
    accepted: int
    accepted_in_time: int
    resolved: int
    resolved_in_time: int
    # Resolutions with a target to be measured against: imported ones may have none.
    resolved_measured: int
    promises_kept: int
    promises_broken: int


@dataclass(frozen=True)
class EventItem:
    request_id: int
    title: str
    kind: str
    at: datetime
    person: str | None


@dataclass(frozen=True)
class LeadBoard:
    team_id: int
    team: str
    offers: list[OfferItem]
    escalations: list[EventItem]
    overdue_updates: list[QueueItem]
    broken_promises: list[EventItem]
    bounced: list[QueueItem]
    load: list[MemberLoad]
    attainment: list[WeekAttainment]


def _team(session: Session, team_id: int) -> Team:
    team = session.get(Team, team_id)
    if team is None:
        raise NotFound(f"team {team_id} does not exist", field="team_id")
    return team


def require_lead(actor: Actor, team_id: int) -> None:
    if team_id not in actor.lead_of and not actor.is_admin:
        raise NotAllowed("only the team's lead can see its board", field="team_id")


def _team_events(
    session: Session, actor: Actor, team_id: int, kinds: Sequence[str], since: datetime
) -> list[EventItem]:
    rows = session.execute(
        select(Event.request_id, Request.title, Event.kind, Event.at, Person.name)
        .join(Request, Request.id == Event.request_id)
        .outerjoin(Person, Person.id == Event.person_id)
        .where(
            Event.team_id == team_id,
            Event.kind.in_(kinds),
            Event.at >= since,
            visibility_clause(actor),
        )
        .order_by(Event.at.desc(), Event.id.desc())
        .limit(50)
    )
    return [EventItem(r[0] or 0, r[1], r[2], r[3], r[4]) for r in rows]


def member_load(session: Session, team_id: int, now: datetime) -> list[MemberLoad]:
    """Open requests owned, overdue, and open promises, per member of the team (lead included).

    Three small aggregates instead of one join of them: each is driven by its own index."""
    team = _team(session, team_id)
    overdue = or_(Request.next_update_due_at <= now, Request.resolve_due_at <= now)
    owned = {
        pid: (int(count), int(late or 0))
        for pid, count, late in session.execute(
            select(Request.owner_id, func.count(), func.sum(case((overdue, 1), else_=0)))
            .where(Request.team_id == team_id, _open())
            .group_by(Request.owner_id)
        )
    }
    promised = {
        pid: int(count)
        for pid, count in session.execute(
            select(Promise.made_by_id, func.count())
            .join(Request, Request.id == Promise.request_id)
            .where(Request.team_id == team_id, _open(), Promise.state == "open")
            .group_by(Promise.made_by_id)
        )
    }
    member_ids = set(
        session.scalars(select(Membership.person_id).where(Membership.team_id == team_id))
    )
    if team.lead_id is not None:
        member_ids.add(team.lead_id)
    names = {
        row.id: row.name
        for row in session.execute(
            select(Person.id, Person.name).where(Person.id.in_(member_ids | set(owned)))
        )
    }
    load = [
        MemberLoad(pid, name, *owned.get(pid, (0, 0)), promised.get(pid, 0))
        for pid, name in names.items()
    ]
    return sorted(load, key=lambda m: (-m.owned, m.name))


def attainment(
    session: Session, team_id: int, now: datetime, weeks: int = ATTAINMENT_WEEKS
) -> list[WeekAttainment]:
    """OLA attainment per week, oldest first: offers accepted in time, requests resolved within
    target, promises kept. Bucketed in SQL by a CASE over week boundaries (portable)."""
    if not 1 <= weeks <= 52:
        raise InvalidInput("weeks must be from 1 to 52", field="weeks")
    starts = [now - timedelta(weeks=i + 1) for i in range(weeks)]

    def bucket(column: Any) -> Any:
        return case(*[(column >= start, i) for i, start in enumerate(starts)], else_=None)

    oldest = starts[-1]
    accept_bucket = bucket(Offer.answered_at).label("bucket")
    accepted = session.execute(
        select(
            accept_bucket,
            func.count(),
            func.sum(case((Offer.answered_at <= Offer.due_at, 1), else_=0)),
        )
        .where(Offer.to_team_id == team_id, Offer.state == "accepted", Offer.answered_at >= oldest)
        .group_by(accept_bucket)
    ).all()
    event_bucket = bucket(Event.at).label("bucket")
    within = Event.payload[WITHIN_TARGET].as_boolean()
    resolved = Event.kind == EventKind.RESOLVED
    events = session.execute(
        select(
            event_bucket,
            func.sum(case((resolved, 1), else_=0)),
            func.sum(case((and_(resolved, within == True), 1), else_=0)),  # noqa: E712
            func.sum(case((and_(resolved, within.is_not(None)), 1), else_=0)),
            func.sum(case((Event.kind == EventKind.PROMISE_KEPT, 1), else_=0)),
            func.sum(case((Event.kind == EventKind.PROMISE_BROKEN, 1), else_=0)),
        )
        .where(
            Event.team_id == team_id,
            Event.kind.in_((EventKind.RESOLVED, EventKind.PROMISE_KEPT, EventKind.PROMISE_BROKEN)),
            Event.at >= oldest,
        )
        .group_by(event_bucket)
    ).all()
    table = {i: [0, 0, 0, 0, 0, 0, 0] for i in range(weeks)}
    for b, count, in_time in accepted:
        if b is not None:
            table[int(b)][0:2] = [int(count), int(in_time or 0)]
    for b, handled, in_time, measured, kept, broken in events:
        if b is not None:
            table[int(b)][2:7] = [
                int(handled or 0),
                int(in_time or 0),
                int(measured or 0),
                int(kept or 0),
                int(broken or 0),
            ]
    return [WeekAttainment(starts[i], *table[i]) for i in reversed(range(weeks))]


def lead_board(session: Session, actor: Actor, team_id: int, now: datetime) -> LeadBoard:
    require_lead(actor, team_id)
    team = _team(session, team_id)
    since = now - RECENT
    queue = team_queue(session, actor, team_id, now, limit=200)
    return LeadBoard(
        team_id=team.id,
        team=team.name,
        offers=team_offers(session, actor, team_id),
        escalations=_team_events(session, actor, team_id, ESCALATION_KINDS, since),
        overdue_updates=[
            q for q in queue if q.next_update_due_at is not None and q.next_update_due_at <= now
        ],
        broken_promises=_team_events(session, actor, team_id, (EventKind.PROMISE_BROKEN,), since),
        bounced=[q for q in queue if q.bounce_count > 0],
        load=member_load(session, team_id, now),
        attainment=attainment(session, team_id, now),
    )


def teams_of(session: Session, actor: Actor) -> list[tuple[int, str]]:
    """The viewer's teams (member or lead), by name; admins see every team."""
    query = select(Team.id, Team.name).order_by(Team.name)
    if not actor.is_admin:
        query = query.where(Team.id.in_(_teams(actor)) if actor.team_ids else false())
    return [(r[0], r[1]) for r in session.execute(query)]
