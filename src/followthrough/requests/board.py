"""The read model for the web pages: what needs a person now, a team's queue and its lead's board.

It only reads: it imports models, the access rule and pure rules, never a service, and no service
imports it (import-linter contracts in pyproject.toml), so a page's read can neither change a
request nor be changed by a service's bookkeeping. Every query goes through `visibility_clause`,
the same authorisation the API uses, and aggregates in SQL. Attainment reads the history
(events) and the answered offers.

Every list a page shows is a `Listed`: one page of rows and the COUNT of the whole list, taken
with the same conditions, so the number beside a list is never its cap. The lists of Home and of
the lead board are named kinds (`HOME_LISTS`, `BOARD_LISTS`): the page shows the first few of
each, and "see all" pages through the same query.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property, partial
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
)
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
from followthrough.requests.models import Offer, Pause, Request
from followthrough.requests.vocabulary import Priority, RequestState, WaitReason

ESCALATION_KINDS = (EventKind.ESCALATED, EventKind.UPDATE_ESCALATED)
RECENT = timedelta(days=7)
FEEDBACK_DAYS = 30
ATTAINMENT_WEEKS = 8
# Read in SQL; checked against the typed payload when this module loads.
WITHIN_TARGET = Resolved.key("within_target")
# How many of each list Home and the lead board show before "see all", and a page of a full list.
HOME_PREVIEW = 5
BOARD_PREVIEW = 10
PAGE_SIZE = 25
# Most urgent first: the team queue and its offers are ordered by this, then by what is due.
PRIORITY_ORDER = (Priority.URGENT, Priority.HIGH, Priority.NORMAL, Priority.LOW)

T = TypeVar("T")


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


def _latest_missed_first(next_due: ColumnElement[Any]) -> tuple[ColumnElement[Any], ...]:
    """How escalations raised at the same moment are ordered, after the newest moment first.

    One sweep that catches up (after a weekend, or a sweeper that was down) raises many at
    once; the one whose due time passed most recently comes first, as if each had been raised
    when it fell due. So the escalation of a request that just went wrong is at the top, not
    behind dozens that have been overdue for days (which the lead already had in front of
    them, and which "Overdue updates" lists longest overdue first)."""
    return (next_due.is_(None), next_due.desc())


def _priority_rank() -> ColumnElement[int]:
    """0 for urgent … 3 for low; anything else after them."""
    return case(
        {str(p): rank for rank, p in enumerate(PRIORITY_ORDER)},
        value=Request.priority,
        else_=len(PRIORITY_ORDER),
    )


def _count(query: Select[Any]) -> ColumnElement[int]:
    """How many rows a FROM … WHERE holds, as a scalar subquery (many are asked in one trip)."""
    return query.with_only_columns(func.count(), maintain_column_froms=True).scalar_subquery()


# ---- lists with their true length -------------------------------------------------------------


@dataclass(frozen=True)
class Listed(Generic[T]):
    """One page of a list and how many the whole list holds (a COUNT, never the page's length).

    `offset` is where the page starts in the list and `size` how many a page holds."""

    items: list[T]
    total: int
    offset: int = 0
    size: int = PAGE_SIZE

    @property
    def first(self) -> int:
        """The position of the page's first row, counting from 1 (0 when the page is empty)."""
        return self.offset + 1 if self.items else 0

    @property
    def last(self) -> int:
        return self.offset + len(self.items)

    @property
    def more(self) -> bool:
        """Rows after this page: what "see all" and "next" lead to."""
        return self.last < self.total

    @property
    def page(self) -> int:
        return self.offset // self.size + 1

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))


def page_offset(page: int, size: int = PAGE_SIZE) -> int:
    """Where page `page` (from 1) starts."""
    if page < 1:
        raise InvalidInput("page must be 1 or more", field="page")
    return (page - 1) * size


def _listed(
    total: int, rows: Callable[[int, int], list[T]], limit: int, offset: int = 0
) -> Listed[T]:
    """The page at `offset` of a list of `total` rows; a page past the end shows the last one
    (a list that shrank while the person paged), and an empty list asks for no rows at all."""
    if total == 0:
        return Listed([], 0, 0, limit)
    if offset >= total:
        offset = (total - 1) // limit * limit
    return Listed(rows(limit, offset), total, offset, limit)


@dataclass(frozen=True)
class Scope:
    """Whose lists: the viewer, the time, and for the lead board the team."""

    actor: Actor
    now: datetime
    team_id: int = 0

    @cached_property
    def visible(self) -> ColumnElement[bool]:
        """The access rule's clause (requests.access) for the viewer, built once for all the
        lists of a page: building it is most of a small query's cost in Python."""
        return _visible(self.actor)

    # When the viewer's today ends on their own clock; None: the next UTC midnight.
    today_ends: datetime | None = None

    @property
    def due_by(self) -> datetime:
        """What is due 'today' is due before this."""
        return self.today_ends if self.today_ends is not None else end_of_day(self.now)


@dataclass(frozen=True)
class ListKind:
    """A list a page shows: its name in links, its heading, its COUNT and its rows in order.

    `count` and `rows` are built from the same conditions, so the count is the list's length."""

    name: str
    title: str
    count: Callable[[Scope], ColumnElement[int]]
    rows: Callable[[Session, Scope, int, int], list[Any]]


def _counts(session: Session, scope: Scope, kinds: Iterable[ListKind]) -> dict[str, int]:
    """The COUNT of each kind of list, in one round trip."""
    chosen = list(kinds)
    row = session.execute(select(*[kind.count(scope) for kind in chosen])).one()
    return {kind.name: int(value or 0) for kind, value in zip(chosen, row, strict=True)}


def _lists(
    session: Session, scope: Scope, kinds: Sequence[ListKind], preview: int
) -> dict[str, Listed[Any]]:
    """The first `preview` rows of each kind of list, with its true length."""
    totals = _counts(session, scope, kinds)
    return {
        kind.name: _listed(totals[kind.name], partial(kind.rows, session, scope), preview)
        for kind in kinds
    }


def _one_list(session: Session, scope: Scope, kind: ListKind, page: int, size: int) -> Listed[Any]:
    offset = page_offset(page, size)
    total = _counts(session, scope, [kind])[kind.name]
    return _listed(total, partial(kind.rows, session, scope), size, offset)


# ---- the rows of each list --------------------------------------------------------------------


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
    made_by: str = ""


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
    owner: str = ""
    next_due_at: datetime | None = None


@dataclass(frozen=True)
class QuestionItem:
    """A question the team working a request asked its requester, not yet answered."""

    request_id: int
    title: str
    question: str
    asked_at: datetime
    asked_by: str
    team: str


@dataclass(frozen=True)
class RaisedItem:
    """A request the person raised that is still open: who has it and when they hear next."""

    request_id: int
    title: str
    state: str
    waiting_on: str | None
    owner: str
    team: str
    next_update_due_at: datetime | None
    resolve_due_at: datetime | None
    confidential: bool


@dataclass(frozen=True)
class FeedbackItem:
    kind: str
    at: datetime
    request_id: int | None
    title: str
    text: str
    scores: tuple[int, int, int, int] | None


def _offer_rows(
    session: Session,
    where: ColumnElement[bool],
    order: Sequence[Any],
    limit: int,
    offset: int = 0,
) -> list[OfferItem]:
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
        .order_by(*order, Offer.id)
        .limit(limit)
        .offset(offset)
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


def _promise_rows(
    session: Session, where: ColumnElement[bool], limit: int, offset: int = 0
) -> list[PromiseItem]:
    rows = session.execute(
        select(
            Promise.id,
            Promise.request_id,
            Request.title,
            Promise.what,
            Promise.due_at,
            Promise.state,
            Person.name,
        )
        .join(Request, Request.id == Promise.request_id)
        .join(Person, Person.id == Promise.made_by_id)
        .where(where)
        .order_by(Promise.due_at, Promise.id)
        .limit(limit)
        .offset(offset)
    )
    return [PromiseItem(*r) for r in rows]


def _promises(where: ColumnElement[bool]) -> Select[Any]:
    return select(Promise.id).join(Request, Request.id == Promise.request_id).where(where)


# ---- Home: what needs me now ------------------------------------------------------------------


def _visible(actor: Actor) -> ColumnElement[bool]:
    """The access rule's clause (requests.access), typed for the queries here."""
    clause: ColumnElement[bool] = visibility_clause(actor)
    return clause


def _offers_to_me(scope: Scope) -> ColumnElement[bool]:
    # Every request an open offer names the person or their teams on is readable by the access
    # rule (visibility_clause's `offered_to_me`); with the clause PostgreSQL scanned every
    # request at a million (1 s on Home).
    return _offers_waiting(scope.actor)


def _count_offers_to_me(scope: Scope) -> ColumnElement[int]:
    # Two counts, each driven by one offer index; an OR across columns here makes the planner
    # walk every visible request instead. The two never overlap (to a person, or to nobody).
    # The access rule lets a person read every request with an open offer to them or their
    # teams (visibility_clause's `offered_to_me`, in every branch), so its clause adds nothing
    # here, and with it PostgreSQL scanned every request at a million (2 s on each page's badge).
    actor = scope.actor

    def offers(where: ColumnElement[bool]) -> ColumnElement[int]:
        return _count(select(Offer.id).where(Offer.state == "open", where))

    to_me = offers(Offer.to_person_id == actor.person_id)
    to_my_teams = offers(Offer.to_team_id.in_(_teams(actor)) & Offer.to_person_id.is_(None))
    return to_me + to_my_teams


def _questions_to_me(scope: Scope) -> ColumnElement[bool]:
    return and_(
        Request.requester_id == scope.actor.person_id,
        Request.state == RequestState.NEEDS_CLARIFICATION,
        Pause.reason == WaitReason.CLARIFICATION,
        Pause.ended_at.is_(None),
        scope.visible,
    )


def _question_rows(session: Session, scope: Scope, limit: int, offset: int) -> list[QuestionItem]:
    rows = session.execute(
        select(
            Pause.request_id, Request.title, Pause.note, Pause.started_at, Person.name, Team.name
        )
        .join(Request, Request.id == Pause.request_id)
        .join(Person, Person.id == Pause.started_by_id)
        .join(Team, Team.id == Request.team_id)
        .where(_questions_to_me(scope))
        # The question waiting longest first: the clock stands still until it is answered.
        .order_by(Pause.started_at, Pause.id)
        .limit(limit)
        .offset(offset)
    )
    return [QuestionItem(*r) for r in rows]


def _my_promises_due(scope: Scope) -> ColumnElement[bool]:
    return and_(
        Promise.made_by_id == scope.actor.person_id,
        Promise.state == "open",
        Promise.due_at < scope.due_by,
        scope.visible,
    )


def _my_promises_broken(scope: Scope) -> ColumnElement[bool]:
    return and_(
        Promise.made_by_id == scope.actor.person_id,
        Promise.state == "broken",
        Promise.due_at >= scope.now - RECENT,
        scope.visible,
    )


def _promises_to_me(scope: Scope) -> ColumnElement[bool]:
    """Open promises on requests the person raised: what they were told to expect, and when."""
    return and_(
        Request.requester_id == scope.actor.person_id,
        Promise.state == "open",
        scope.visible,
    )


def _updates_i_owe(scope: Scope) -> ColumnElement[bool]:
    return and_(
        Request.owner_id == scope.actor.person_id,
        _open(),
        Request.next_update_due_at < scope.due_by,
        scope.visible,
    )


def _update_rows(session: Session, scope: Scope, limit: int, offset: int) -> list[DueItem]:
    rows = session.execute(
        select(Request.id, Request.title, Request.state, Request.next_update_due_at, Team.name)
        .join(Team, Team.id == Request.team_id)
        .where(_updates_i_owe(scope))
        .order_by(Request.next_update_due_at, Request.id)
        .limit(limit)
        .offset(offset)
    )
    return [DueItem(*r) for r in rows]


def _escalations_to_me(scope: Scope) -> ColumnElement[bool]:
    return and_(
        Event.person_id == scope.actor.person_id,
        Event.kind.in_(ESCALATION_KINDS),
        Event.at >= scope.now - RECENT,
        _open(),
        scope.visible,
    )


def _count_escalations_to_me(scope: Scope) -> ColumnElement[int]:
    # One per request, however often it was escalated this week: the badge counts requests.
    return (
        select(func.count(func.distinct(Event.request_id)))
        .select_from(Event)
        .join(Request, Request.id == Event.request_id)
        .where(_escalations_to_me(scope))
        .scalar_subquery()
    )


def _escalation_rows(
    session: Session, scope: Scope, limit: int, offset: int
) -> list[EscalationItem]:
    """One row per request: its latest escalation to the person this week."""
    ranked = (
        select(
            Event.request_id,
            Event.kind,
            Event.at,
            func.row_number()
            .over(partition_by=Event.request_id, order_by=(Event.at.desc(), Event.id.desc()))
            .label("n"),
        )
        .join(Request, Request.id == Event.request_id)
        .where(_escalations_to_me(scope))
        .subquery()
    )
    next_due = _next_due()
    rows = session.execute(
        select(
            ranked.c.request_id,
            Request.title,
            ranked.c.kind,
            ranked.c.at,
            Team.name,
            Person.name,
            next_due,
        )
        .join(Request, Request.id == ranked.c.request_id)
        .join(Team, Team.id == Request.team_id)
        .join(Person, Person.id == Request.owner_id)
        .where(ranked.c.n == 1)
        .order_by(ranked.c.at.desc(), *_latest_missed_first(next_due), ranked.c.request_id)
        .limit(limit)
        .offset(offset)
    )
    return [EscalationItem(*r) for r in rows]


def _raised_by_me(scope: Scope) -> ColumnElement[bool]:
    return and_(Request.requester_id == scope.actor.person_id, _open(), scope.visible)


def _raised_rows(session: Session, scope: Scope, limit: int, offset: int) -> list[RaisedItem]:
    rows = session.execute(
        select(
            Request.id,
            Request.title,
            Request.state,
            Request.waiting_on,
            Person.name,
            Team.name,
            Request.next_update_due_at,
            Request.resolve_due_at,
            Request.confidential,
        )
        .join(Person, Person.id == Request.owner_id)
        .join(Team, Team.id == Request.team_id)
        .where(_raised_by_me(scope))
        # When I hear next, soonest first; a request owing no update (paused on me) after them.
        .order_by(Request.next_update_due_at.is_(None), Request.next_update_due_at, Request.id)
        .limit(limit)
        .offset(offset)
    )
    return [RaisedItem(*r) for r in rows]


def _feedback_since(scope: Scope) -> datetime:
    return scope.now - timedelta(days=FEEDBACK_DAYS)


def _ratings_of_mine(scope: Scope) -> ColumnElement[bool]:
    return and_(
        Request.owner_id == scope.actor.person_id, Rating.rated_at >= _feedback_since(scope)
    )


def _colleague_feedback_to_me(scope: Scope) -> ColumnElement[bool]:
    return and_(
        ColleagueFeedback.to_person_id == scope.actor.person_id,
        ColleagueFeedback.given_at >= _feedback_since(scope),
    )


def _count_feedback(scope: Scope) -> ColumnElement[int]:
    ratings = _count(
        select(Rating.id)
        .join(Request, Request.id == Rating.request_id)
        .where(_ratings_of_mine(scope))
    )
    colleague = _count(select(ColleagueFeedback.id).where(_colleague_feedback_to_me(scope)))
    return ratings + colleague


def _feedback_rows(session: Session, scope: Scope, limit: int, offset: int) -> list[FeedbackItem]:
    """Ratings of requests the person owns and colleague feedback to them, newest first."""
    score = cast(null(), Integer)
    ratings = (
        select(
            Rating.rated_at.label("at"),
            literal("rating").label("kind"),
            Rating.request_id.label("request_id"),
            Request.title.label("title"),
            Rating.comment.label("text"),
            Rating.understand.label("understand"),
            Rating.own.label("own"),
            Rating.serve.label("serve"),
            Rating.communicate.label("communicate"),
            Rating.id.label("id"),
        )
        .join(Request, Request.id == Rating.request_id)
        .where(_ratings_of_mine(scope))
    )
    colleague = (
        select(
            ColleagueFeedback.given_at,
            ColleagueFeedback.kind,
            ColleagueFeedback.request_id,
            Person.name,
            ColleagueFeedback.behaviour,
            score,
            score,
            score,
            score,
            ColleagueFeedback.id,
        )
        .join(Person, Person.id == ColleagueFeedback.from_person_id)
        .where(_colleague_feedback_to_me(scope))
    )
    both = union_all(ratings, colleague).subquery()
    rows = session.execute(
        select(both)
        .order_by(both.c.at.desc(), both.c.kind, both.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [
        FeedbackItem(
            kind=r.kind,
            at=r.at,
            request_id=r.request_id,
            title=r.title if r.kind == "rating" else f"From {r.title}",
            text=r.text,
            scores=None if r.understand is None else (r.understand, r.own, r.serve, r.communicate),
        )
        for r in rows
    ]


HOME_LISTS: dict[str, ListKind] = {
    kind.name: kind
    for kind in (
        ListKind(
            "offers",
            "Offers waiting for you",
            _count_offers_to_me,
            lambda session, scope, limit, offset: _offer_rows(
                session, _offers_to_me(scope), (Offer.due_at,), limit, offset
            ),
        ),
        ListKind(
            "questions",
            "Questions asked to you",
            lambda scope: _count(
                select(Pause.id)
                .join(Request, Request.id == Pause.request_id)
                .where(_questions_to_me(scope))
            ),
            _question_rows,
        ),
        ListKind(
            "promises_due",
            "Your promises due today",
            lambda scope: _count(_promises(_my_promises_due(scope))),
            lambda session, scope, limit, offset: _promise_rows(
                session, _my_promises_due(scope), limit, offset
            ),
        ),
        ListKind(
            "promises_broken",
            "Your promises broken this week",
            lambda scope: _count(_promises(_my_promises_broken(scope))),
            lambda session, scope, limit, offset: _promise_rows(
                session, _my_promises_broken(scope), limit, offset
            ),
        ),
        ListKind(
            "updates_due",
            "Updates due",
            lambda scope: _count(select(Request.id).where(_updates_i_owe(scope))),
            _update_rows,
        ),
        ListKind(
            "escalations",
            "Escalated to you",
            _count_escalations_to_me,
            _escalation_rows,
        ),
        ListKind(
            "my_requests",
            "Your open requests",
            lambda scope: _count(select(Request.id).where(_raised_by_me(scope))),
            _raised_rows,
        ),
        ListKind(
            "promises_to_me",
            "Promises made to you",
            lambda scope: _count(_promises(_promises_to_me(scope))),
            lambda session, scope, limit, offset: _promise_rows(
                session, _promises_to_me(scope), limit, offset
            ),
        ),
        ListKind("feedback", "Feedback you received", _count_feedback, _feedback_rows),
    )
}
# What the badge beside Home counts: what the person can act on now.
NEEDS_ME = ("offers", "questions", "promises_due", "updates_due", "escalations")


@dataclass(frozen=True)
class NavCounts:
    needs_me: int
    queue: int


def nav_counts(
    session: Session, actor: Actor, now: datetime, today_ends: datetime | None = None
) -> NavCounts:
    """The badges in the navigation, in one round trip: the sum of Home's lists that need the
    person now (the same COUNTs Home shows) and the open offers to their teams. `today_ends`:
    the end of the viewer's day on their clock (default: the next UTC midnight)."""
    scope = Scope(actor, now, today_ends=today_ends)
    # Readable by the access rule's `offered_to_me` arm, as in _count_offers_to_me.
    team_offers = _count(
        select(Offer.id).where(Offer.state == "open", Offer.to_team_id.in_(_teams(actor)))
    )
    row = session.execute(
        select(*[HOME_LISTS[name].count(scope) for name in NEEDS_ME], team_offers)
    ).one()
    return NavCounts(needs_me=int(sum(row[:-1])), queue=int(row[-1]))


@dataclass(frozen=True)
class NeedsMe:
    """Home: each kind of list (named as in HOME_LISTS) with its first rows and true length."""

    offers: Listed[OfferItem]
    questions: Listed[QuestionItem]
    promises_due: Listed[PromiseItem]
    promises_broken: Listed[PromiseItem]
    updates_due: Listed[DueItem]
    escalations: Listed[EscalationItem]
    my_requests: Listed[RaisedItem]
    promises_to_me: Listed[PromiseItem]
    feedback: Listed[FeedbackItem]

    @property
    def needs_me(self) -> int:
        """What the badge shows: the lists the person can act on now."""
        return sum(getattr(self, name).total for name in NEEDS_ME)


def needs_me(
    session: Session,
    actor: Actor,
    now: datetime,
    preview: int = HOME_PREVIEW,
    today_ends: datetime | None = None,
) -> NeedsMe:
    """Home: offers to answer, questions to me, promises due today or broken, updates due,
    escalations, my open requests and the promises made to me, feedback — the first `preview`
    of each, what is due first, and how many each holds in all."""
    scope = Scope(actor, now, today_ends=today_ends)
    return NeedsMe(**_lists(session, scope, list(HOME_LISTS.values()), preview))


def home_list(
    session: Session,
    actor: Actor,
    now: datetime,
    name: str,
    page: int = 1,
    size: int = PAGE_SIZE,
    today_ends: datetime | None = None,
) -> Listed[Any]:
    """One of Home's lists, a page at a time (its "see all")."""
    rules.require_one_of(name, tuple(HOME_LISTS), "show")
    scope = Scope(actor, now, today_ends=today_ends)
    return _one_list(session, scope, HOME_LISTS[name], page, size)


def feedback_received(
    session: Session, actor: Actor, now: datetime, limit: int = 10
) -> list[FeedbackItem]:
    """Ratings of requests the person owned and colleague feedback to them, last 30 days."""
    return _feedback_rows(session, Scope(actor, now), limit, 0)


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
QUEUE_PAGE = 50
OFFERS_PAGE = 20


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


def _team_offers(team_id: int, actor: Actor, visible: ColumnElement[bool]) -> ColumnElement[bool]:
    offered = (Offer.state == "open") & (Offer.to_team_id == team_id)
    if team_id in actor.team_ids:
        # The access rule lets a person read what an open offer to their team names
        # (visibility_clause's `offered_to_me`); with the clause PostgreSQL scanned every
        # request at a million (1-2 s on the team queue and the lead board).
        return offered
    return offered & visible


def team_offers(
    session: Session, actor: Actor, team_id: int, page: int = 1, size: int = OFFERS_PAGE
) -> Listed[OfferItem]:
    """Open offers to the team (to anyone in it, or to one member): the most urgent first, then
    the one to accept soonest; a page at a time, with how many there are in all."""
    where = _team_offers(team_id, actor, _visible(actor))
    total = int(
        session.scalar(
            select(func.count())
            .select_from(Offer)
            .join(Request, Request.id == Offer.request_id)
            .where(where)
        )
        or 0
    )
    return _listed(
        total,
        lambda limit, offset: _offer_rows(
            session, where, (_priority_rank(), Offer.due_at), limit, offset
        ),
        size,
        page_offset(page, size),
    )


def _queue_rows(
    session: Session,
    where: ColumnElement[bool],
    order: Sequence[Any],
    limit: int,
    offset: int = 0,
) -> list[QueueItem]:
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
        .where(where)
        .order_by(*order, Request.id)
        .limit(limit)
        .offset(offset)
    )
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


def _by_due() -> tuple[ColumnElement[Any], ...]:
    """What is due first (the earlier of the next update and the resolve target); nothing due last."""
    next_due = _next_due()
    return (next_due.is_(None), next_due)


def team_queue(
    session: Session,
    actor: Actor,
    team_id: int,
    now: datetime,
    filters: Sequence[str] = (),
    page: int = 1,
    size: int = QUEUE_PAGE,
) -> Listed[QueueItem]:
    """Open requests the team owns: the most urgent first, within each priority what is due
    first; a page at a time, with how many match in all."""
    for name in filters:
        rules.require_one_of(name, QUEUE_FILTERS, "filter")
    conditions = [Request.team_id == team_id, _open(), _visible(actor)]
    if "overdue" in filters:
        conditions.append(or_(Request.next_update_due_at <= now, Request.resolve_due_at <= now))
    if "bounced" in filters:
        conditions.append(Request.bounce_count > 0)
    if "waiting" in filters:
        conditions.append(Request.state.in_(rules.PAUSED_STATES))
    if "confidential" in filters:
        conditions.append(Request.confidential.is_(True))
    where = and_(*conditions)
    total = int(session.scalar(select(func.count()).select_from(Request).where(where)) or 0)
    return _listed(
        total,
        lambda limit, offset: _queue_rows(
            session, where, (_priority_rank(), *_by_due()), limit, offset
        ),
        size,
        page_offset(page, size),
    )


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
    """The lead's board: each kind of list (named as in BOARD_LISTS) with its first rows and
    true length, the load per member and the weekly attainment."""

    team_id: int
    team: str
    offers: Listed[OfferItem]
    escalations: Listed[EventItem]
    overdue_updates: Listed[QueueItem]
    broken_promises: Listed[EventItem]
    bounced: Listed[QueueItem]
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


def _team_events(scope: Scope, kinds: Sequence[str]) -> ColumnElement[bool]:
    return and_(
        Event.team_id == scope.team_id,
        Event.kind.in_(kinds),
        Event.at >= scope.now - RECENT,
        scope.visible,
    )


def _count_team_events(scope: Scope, kinds: Sequence[str]) -> ColumnElement[int]:
    return _count(
        select(Event.id)
        .join(Request, Request.id == Event.request_id)
        .where(_team_events(scope, kinds))
    )


def _team_event_rows(
    session: Session, scope: Scope, kinds: Sequence[str], limit: int, offset: int
) -> list[EventItem]:
    next_due = _next_due()
    rows = session.execute(
        select(Event.request_id, Request.title, Event.kind, Event.at, Person.name)
        .join(Request, Request.id == Event.request_id)
        .outerjoin(Person, Person.id == Event.person_id)
        .where(_team_events(scope, kinds))
        .order_by(Event.at.desc(), *_latest_missed_first(next_due), Event.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [EventItem(r[0] or 0, r[1], r[2], r[3], r[4]) for r in rows]


def _team_requests(scope: Scope, condition: ColumnElement[bool]) -> ColumnElement[bool]:
    return and_(Request.team_id == scope.team_id, _open(), condition, scope.visible)


def _overdue_update(scope: Scope) -> ColumnElement[bool]:
    return _team_requests(scope, Request.next_update_due_at <= scope.now)


def _bounced(scope: Scope) -> ColumnElement[bool]:
    return _team_requests(scope, Request.bounce_count > 0)


BOARD_LISTS: dict[str, ListKind] = {
    kind.name: kind
    for kind in (
        ListKind(
            "offers",
            "Unaccepted offers",
            lambda scope: _count(
                select(Offer.id)
                .join(Request, Request.id == Offer.request_id)
                .where(_team_offers(scope.team_id, scope.actor, scope.visible))
            ),
            # The longest past its accept target first.
            lambda session, scope, limit, offset: _offer_rows(
                session,
                _team_offers(scope.team_id, scope.actor, scope.visible),
                (Offer.due_at,),
                limit,
                offset,
            ),
        ),
        ListKind(
            "escalations",
            "Escalations this week",
            lambda scope: _count_team_events(scope, ESCALATION_KINDS),
            lambda session, scope, limit, offset: _team_event_rows(
                session, scope, ESCALATION_KINDS, limit, offset
            ),
        ),
        ListKind(
            "overdue_updates",
            "Overdue updates",
            lambda scope: _count(select(Request.id).where(_overdue_update(scope))),
            # The longest overdue first.
            lambda session, scope, limit, offset: _queue_rows(
                session, _overdue_update(scope), (Request.next_update_due_at,), limit, offset
            ),
        ),
        ListKind(
            "broken_promises",
            "Broken promises this week",
            lambda scope: _count_team_events(scope, (EventKind.PROMISE_BROKEN,)),
            lambda session, scope, limit, offset: _team_event_rows(
                session, scope, (EventKind.PROMISE_BROKEN,), limit, offset
            ),
        ),
        ListKind(
            "bounced",
            "Requests that bounced",
            lambda scope: _count(select(Request.id).where(_bounced(scope))),
            lambda session, scope, limit, offset: _queue_rows(
                session, _bounced(scope), _by_due(), limit, offset
            ),
        ),
    )
}


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


def lead_board(
    session: Session, actor: Actor, team_id: int, now: datetime, preview: int = BOARD_PREVIEW
) -> LeadBoard:
    """The team's board for its lead: the first `preview` of each list with its true length."""
    require_lead(actor, team_id)
    team = _team(session, team_id)
    lists = _lists(session, Scope(actor, now, team_id), list(BOARD_LISTS.values()), preview)
    return LeadBoard(
        team_id=team.id,
        team=team.name,
        **lists,
        load=member_load(session, team_id, now),
        attainment=attainment(session, team_id, now),
    )


def board_list(
    session: Session,
    actor: Actor,
    team_id: int,
    now: datetime,
    name: str,
    page: int = 1,
    size: int = PAGE_SIZE,
) -> Listed[Any]:
    """One of the lead board's lists, a page at a time (its "see all")."""
    require_lead(actor, team_id)
    _team(session, team_id)
    rules.require_one_of(name, tuple(BOARD_LISTS), "show")
    return _one_list(session, Scope(actor, now, team_id), BOARD_LISTS[name], page, size)


def teams_of(session: Session, actor: Actor) -> list[tuple[int, str]]:
    """The viewer's teams (member or lead), by name; admins see every team."""
    query = select(Team.id, Team.name).order_by(Team.name)
    if not actor.is_admin:
        query = query.where(Team.id.in_(_teams(actor)) if actor.team_ids else false())
    return [(r[0], r[1]) for r in session.execute(query)]
