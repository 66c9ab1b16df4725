"""Finding requests, cases and people from the search box; saved views.

Requests are found through each database's full-text index of their search documents
(`search.models.RequestSearch`, kept by triggers): SQLite's FTS5 ranked by BM25, PostgreSQL's
GIN-indexed tsvector ranked by `ts_rank`; then the most recently opened first. Every request
result, the total included, is filtered by the one authorisation rule
(`requests.access.visibility_clause`): a request the viewer may not read is never counted.
Cases (reference and customer) and people (name, handle, email) are small tables, matched word
by word.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import (
    ColumnClause,
    ColumnElement,
    Integer,
    Select,
    and_,
    column,
    func,
    literal_column,
    or_,
    select,
    table,
    true,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from followthrough.cases.models import Case
from followthrough.errors import Conflict, InvalidInput, NotFound
from followthrough.org.actors import Actor
from followthrough.org.models import Membership, Person, Team
from followthrough.requests.access import readable_requests, visibility_clause
from followthrough.requests.models import Request
from followthrough.search import rules
from followthrough.search.models import RequestSearch, SavedView

T = TypeVar("T")

# SQLite's FTS5 table over the search documents (built by the migration, not a model).
_FTS = table("search_fts_request", column("rowid", Integer))
_FTS_TABLE: ColumnClause[Any] = literal_column("search_fts_request")
# BM25 weights of the FTS5 columns: title, text, cases. A word in the title or a case reference
# says more about a request than the same word somewhere in its conversation.
_BM25_WEIGHTS = (10.0, 1.0, 5.0)
TS_CONFIG = "english"


class Kind(StrEnum):
    """What the search box finds."""

    ALL = "all"
    REQUESTS = "requests"
    CASES = "cases"
    PEOPLE = "people"


@dataclass(frozen=True)
class Found(Generic[T]):
    """One page of results and how many there are in all."""

    items: list[T]
    total: int
    offset: int
    limit: int

    @property
    def next_offset(self) -> int | None:
        return self.offset + self.limit if self.offset + self.limit < self.total else None


@dataclass(frozen=True)
class RequestHit:
    id: int
    title: str
    state: str
    waiting_on: str | None
    confidential: bool
    team: str
    owner: str
    opened_at: datetime
    snippet: str
    title_marks: list[rules.Span]
    snippet_marks: list[rules.Span]
    by_number: bool  # found by its number ("#123"), not by its words


@dataclass(frozen=True)
class CaseHit:
    id: int
    reference: str
    customer: str
    reference_marks: list[rules.Span]
    customer_marks: list[rules.Span]


@dataclass(frozen=True)
class PersonHit:
    id: int
    name: str
    handle: str
    email: str
    teams: list[str]
    name_marks: list[rules.Span]


def _is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _tsquery(query: rules.SearchQuery) -> ColumnElement[Any]:
    """PostgreSQL's query: `websearch_to_tsquery` for the typed words and phrases (built again
    from the parsed words), `to_tsquery` with `:*` for the word being typed. A part that holds
    only stop words ("the") is empty, and an empty part drops out of `tsquery_and`/`_or`."""
    groups, excluded = rules.ts_groups(query)
    alternatives: list[ColumnElement[Any]] = []
    for group in groups:
        parts: list[ColumnElement[Any]] = []
        if group.websearch:
            parts.append(func.websearch_to_tsquery(TS_CONFIG, group.websearch))
        if group.prefix is not None:
            parts.append(func.to_tsquery(TS_CONFIG, rules.prefix_tsquery(group.prefix)))
        combined = parts[0]
        for part in parts[1:]:
            combined = func.tsquery_and(combined, part)
        alternatives.append(combined)
    expression = alternatives[0]
    for alternative in alternatives[1:]:
        expression = func.tsquery_or(expression, alternative)
    if excluded:
        expression = func.tsquery_and(
            expression, func.tsquery_not(func.websearch_to_tsquery(TS_CONFIG, excluded))
        )
    return expression


def _text_matches(
    session: Session, query: rules.SearchQuery
) -> tuple[Select[Any], ColumnElement[Any], bool]:
    """The requests whose documents match (ids only, no access rule yet), the score column, and
    whether a smaller score ranks first."""
    if _is_postgresql(session):
        tsquery = _tsquery(query)
        score = func.ts_rank(RequestSearch.vector, tsquery)
        matches = select(RequestSearch.request_id.label("request_id"), score.label("score")).where(
            RequestSearch.vector.op("@@")(tsquery)
        )
        return matches, score, False
    score = func.bm25(_FTS_TABLE, *_BM25_WEIGHTS)
    matches = select(_FTS.c.rowid.label("request_id"), score.label("score")).where(
        _FTS_TABLE.op("MATCH")(rules.fts5_match(query))
    )
    return matches, score, True


def search_requests(
    session: Session, viewer: Actor, query: rules.SearchQuery, limit: int, offset: int = 0
) -> Found[RequestHit]:
    """The requests the viewer may read that match, best first; the one with the number typed
    ("#123") leads the first page when the viewer may read it."""
    by_number: list[int] = []
    if query.request_id is not None:
        by_number = list(
            session.scalars(
                readable_requests(viewer)
                .with_only_columns(Request.id)
                .where(Request.id == query.request_id)
            )
        )
    ranked: list[tuple[int, bool]] = []
    total = len(by_number)
    if offset < len(by_number):
        ranked = [(request_id, True) for request_id in by_number]
    text_offset = max(0, offset - len(by_number))
    text_limit = limit - len(ranked)
    if query.groups:
        matches, _, ascending = _text_matches(session, query)
        found = matches.subquery("found")
        page = (
            select(Request.id, func.count().over().label("total"))
            .join(found, found.c.request_id == Request.id)
            .where(visibility_clause(viewer))
        )
        if by_number:
            page = page.where(Request.id.not_in(by_number))
        order = found.c.score.asc() if ascending else found.c.score.desc()
        page = page.order_by(order, Request.opened_at.desc(), Request.id.desc())
        rows = session.execute(page.limit(text_limit).offset(text_offset)).all()
        if rows:
            total += rows[0].total
        else:
            counted = (
                select(func.count())
                .select_from(Request)
                .join(found, found.c.request_id == Request.id)
                .where(visibility_clause(viewer))
            )
            if by_number:
                counted = counted.where(Request.id.not_in(by_number))
            total += session.scalar(counted) or 0
        ranked += [(row.id, False) for row in rows]
    return Found(_request_hits(session, query, ranked), total, offset, limit)


def _request_hits(
    session: Session, query: rules.SearchQuery, ranked: Sequence[tuple[int, bool]]
) -> list[RequestHit]:
    """What a result shows, for the ids in their ranked order."""
    if not ranked:
        return []
    ids = [request_id for request_id, _ in ranked]
    rows = session.execute(
        select(
            Request.id,
            Request.title,
            Request.state,
            Request.waiting_on,
            Request.confidential,
            Request.opened_at,
            Team.name.label("team"),
            Person.name.label("owner"),
            RequestSearch.body,
            RequestSearch.cases,
        )
        .join(Team, Team.id == Request.team_id)
        .join(Person, Person.id == Request.owner_id)
        .outerjoin(RequestSearch, RequestSearch.request_id == Request.id)
        .where(Request.id.in_(ids))
    ).all()
    by_id = {row.id: row for row in rows}
    hits = []
    for request_id, numbered in ranked:
        row = by_id.get(request_id)
        if row is None:
            continue
        body = row.body or ""
        # Where a case reference matched, the case says more than the text.
        text = row.cases if rules.highlights(row.cases or "", query) else body
        shown = rules.snippet(text, query)
        hits.append(
            RequestHit(
                id=row.id,
                title=row.title,
                state=row.state,
                waiting_on=row.waiting_on,
                confidential=row.confidential,
                team=row.team,
                owner=row.owner,
                opened_at=row.opened_at,
                snippet=shown,
                title_marks=rules.highlights(row.title, query),
                snippet_marks=rules.highlights(shown, query),
                by_number=numbered,
            )
        )
    return hits


def _all_words_in(columns: Sequence[Any], words: Sequence[str]) -> Any:
    """Every word appears in one of the columns (case-insensitive; `%` and `_` typed are
    literal)."""
    return and_(
        true(), *(or_(*(c.icontains(word, autoescape=True) for c in columns)) for word in words)
    )


def search_cases(
    session: Session, query: rules.SearchQuery, limit: int, offset: int = 0
) -> Found[CaseHit]:
    """Customer cases whose reference or customer holds every word typed; newest first. Any
    signed-in person may see a case's reference and customer (its requests are filtered on
    the case page)."""
    words = query.words
    if not words:
        return Found([], 0, offset, limit)
    where = _all_words_in((Case.reference, Case.customer), words)
    total = session.scalar(select(func.count()).select_from(Case).where(where)) or 0
    cases = session.scalars(
        select(Case).where(where).order_by(Case.id.desc()).limit(limit).offset(offset)
    )
    hits = [
        CaseHit(
            id=c.id,
            reference=c.reference,
            customer=c.customer,
            reference_marks=rules.highlights(c.reference, query),
            customer_marks=rules.highlights(c.customer, query),
        )
        for c in cases
    ]
    return Found(hits, total, offset, limit)


def search_people(
    session: Session, query: rules.SearchQuery, limit: int, offset: int = 0
) -> Found[PersonHit]:
    """Active people whose name, handle or email holds every word typed, by name (the
    organisation's directory, which any signed-in person may read)."""
    words = query.words
    if not words:
        return Found([], 0, offset, limit)
    where = and_(
        Person.active.is_(True), _all_words_in((Person.name, Person.handle, Person.email), words)
    )
    total = session.scalar(select(func.count()).select_from(Person).where(where)) or 0
    people = list(
        session.scalars(
            select(Person).where(where).order_by(Person.name, Person.id).limit(limit).offset(offset)
        )
    )
    teams: dict[int, list[str]] = {}
    if people:
        for person_id, team in session.execute(
            select(Membership.person_id, Team.name)
            .join(Team, Team.id == Membership.team_id)
            .where(Membership.person_id.in_([p.id for p in people]))
            .order_by(Team.name)
        ):
            teams.setdefault(person_id, []).append(team)
    hits = [
        PersonHit(
            id=p.id,
            name=p.name,
            handle=p.handle,
            email=p.email,
            teams=teams.get(p.id, []),
            name_marks=rules.highlights(p.name, query),
        )
        for p in people
    ]
    return Found(hits, total, offset, limit)


# ---- saved views -----------------------------------------------------------------------------


class ViewPage(StrEnum):
    """The list pages whose filters can be saved, and where each one lives."""

    TEAM = "team"
    MY_REQUESTS = "requests"
    BOARD = "board"
    SEARCH = "search"

    @property
    def path(self) -> str:
        return {"team": "/team", "requests": "/requests", "board": "/board", "search": "/search"}[
            self.value
        ]

    @property
    def label(self) -> str:
        return {
            "team": "Team queue",
            "requests": "My requests",
            "board": "Lead board",
            "search": "Search",
        }[self.value]


# The filters each page takes; anything else in a saved query string is dropped, so a view
# holds only what the page would read.
VIEW_FILTERS: dict[ViewPage, frozenset[str]] = {
    ViewPage.TEAM: frozenset({"team_id", "filter"}),
    ViewPage.MY_REQUESTS: frozenset({"show"}),
    ViewPage.BOARD: frozenset({"team_id"}),
    ViewPage.SEARCH: frozenset({"q", "kind"}),
}
MAX_VIEW_NAME = 80
MAX_VIEW_QUERY = 1000
MAX_VIEWS = 100


def view_page(value: str) -> ViewPage:
    try:
        return ViewPage(value)
    except ValueError:
        raise InvalidInput("choose one of the list pages", field="page") from None


def view_query(page: ViewPage, query: str) -> str:
    """The page's own filters from a query string, in a stable order; the rest dropped."""
    kept = sorted(
        (key, value[:MAX_VIEW_QUERY])
        for key, value in parse_qsl(query, keep_blank_values=False)
        if key in VIEW_FILTERS[page] and "\x00" not in value
    )
    encoded = urlencode(kept)
    if len(encoded) > MAX_VIEW_QUERY:
        raise InvalidInput("these filters are too long to save", field="query")
    return encoded


def _view_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise InvalidInput("give the view a name", field="name")
    if len(name) > MAX_VIEW_NAME:
        raise InvalidInput(f"keep the name to {MAX_VIEW_NAME} characters", field="name")
    return name


def saved_views(session: Session, viewer: Actor) -> list[SavedView]:
    """The viewer's own views, by name; nobody else's."""
    return list(
        session.scalars(
            select(SavedView)
            .where(SavedView.person_id == viewer.person_id)
            .order_by(SavedView.name, SavedView.id)
        )
    )


def get_saved_view(session: Session, viewer: Actor, view_id: int) -> SavedView:
    """The viewer's view, or NotFound (someone else's view does not exist for them)."""
    view = session.get(SavedView, view_id)
    if view is None or view.person_id != viewer.person_id:
        raise NotFound(f"saved view {view_id} does not exist", field="view_id")
    return view


def _name_taken(session: Session, viewer: Actor, name: str, other_than: int | None) -> bool:
    query = select(SavedView.id).where(
        SavedView.person_id == viewer.person_id, SavedView.name == name
    )
    if other_than is not None:
        query = query.where(SavedView.id != other_than)
    return session.scalar(query.limit(1)) is not None


def save_view(
    session: Session, viewer: Actor, name: str, page: str, query: str, now: datetime
) -> SavedView:
    """Save a page's filters under a name of the viewer's (unique among their views)."""
    chosen = view_page(page)
    name = _view_name(name)
    kept = view_query(chosen, query)
    if _name_taken(session, viewer, name, None):
        raise Conflict(f"you already have a view called “{name}”", field="name")
    count = session.scalar(
        select(func.count()).select_from(SavedView).where(SavedView.person_id == viewer.person_id)
    )
    if (count or 0) >= MAX_VIEWS:
        raise InvalidInput(f"you can keep up to {MAX_VIEWS} views; delete one first", field="name")
    view = SavedView(
        person_id=viewer.person_id, name=name, page=chosen.value, query=kept, created_at=now
    )
    session.add(view)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        # Saved twice at once under the same name: the unique constraint decided.
        raise Conflict(f"you already have a view called “{name}”", field="name") from None
    return view


def rename_view(session: Session, viewer: Actor, view_id: int, name: str) -> SavedView:
    view = get_saved_view(session, viewer, view_id)
    name = _view_name(name)
    if _name_taken(session, viewer, name, view.id):
        raise Conflict(f"you already have a view called “{name}”", field="name")
    view.name = name
    session.flush()
    return view


def delete_view(session: Session, viewer: Actor, view_id: int) -> None:
    session.delete(get_saved_view(session, viewer, view_id))
    session.flush()


def view_url(view: SavedView) -> str:
    """Where a saved view opens: its page with its filters."""
    path = ViewPage(view.page).path
    return f"{path}?{view.query}" if view.query else path
