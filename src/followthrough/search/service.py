"""Finding requests, cases and people from the search box; saved views.

Requests are found through each database's full-text index of their search documents
(`search.models.RequestSearch`, kept by triggers): SQLite's FTS5, PostgreSQL's GIN-indexed
tsvector. Up to `rules.COUNT_LIMIT` matches are counted exactly and ranked by one rule for both
(`rules.relevance_order`); beyond, the count says there are more and they come newest first.
Each document also holds scope tokens that encode the one authorisation rule
(`requests.access.visibility_clause`) for its request, and the index is asked only for documents
holding one of the viewer's tokens (`scope_tokens`): the narrowing happens inside the index, so
a search costs what the viewer may read, not what the whole desk holds, and a request the
viewer may not read is never counted. The results shown are read through `visibility_clause`
itself as well. On PostgreSQL a search whose matches are dense among the newest documents (a
common word, above all for an admin) reads those documents newest first with the same query,
instead of the index gathering every match across the desk (`_pg_matches`). Cases (reference and customer) are matched by substring through a trigram
index; people (a small table) word by word.
"""

from __future__ import annotations

import time
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
    Text,
    and_,
    cast,
    column,
    func,
    literal,
    literal_column,
    or_,
    select,
    table,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from followthrough.cases.models import Case
from followthrough.errors import Conflict, InvalidInput, NotFound
from followthrough.org.actors import Actor
from followthrough.org.models import Membership, Person, Team
from followthrough.requests.access import may_read, visibility_clause
from followthrough.requests.models import Request
from followthrough.search import rules
from followthrough.search.models import RequestSearch, SavedView

T = TypeVar("T")

# SQLite's FTS5 table over the search documents (built by the migration, not a model).
_FTS = table("search_fts_request", column("rowid", Integer))
_FTS_TABLE: ColumnClause[Any] = literal_column("search_fts_request")
# SQLite's trigram FTS5 table over cases' references and customers.
_FTS_CASE = table("search_fts_case", column("rowid", Integer))
_FTS_CASE_TABLE: ColumnClause[Any] = literal_column("search_fts_case")
# The trigram indexes find substrings of three characters or more.
TRIGRAM = 3
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
    # Counting stopped at `total` (rules.COUNT_LIMIT): there are more, shown newest first.
    capped: bool = False

    @property
    def next_offset(self) -> int | None:
        following = self.offset + self.limit
        if self.capped:
            # Past the count there are more pages for as long as a page comes back full.
            return following if len(self.items) == self.limit else None
        return following if following < self.total else None

    @property
    def shown_total(self) -> str:
        return rules.shown_count(self.total, self.capped)


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


def _tsquery(
    query: rules.SearchQuery, typed_as: ColumnElement[Any] | None = None
) -> ColumnElement[Any]:
    """PostgreSQL's query: `websearch_to_tsquery` for the typed words and phrases (built again
    from the parsed words), `to_tsquery` with `:*` for the word being typed. A part that holds
    only stop words ("the") is empty, and an empty part drops out of `tsquery_and`/`_or`.

    `typed_as` stands for the word being typed: given some of the words it begins, the query
    finds some of what it finds without (the word is a positive term), never anything more."""
    groups, excluded = rules.ts_groups(query)
    alternatives: list[ColumnElement[Any]] = []
    for group in groups:
        parts: list[ColumnElement[Any]] = []
        if group.websearch:
            parts.append(func.websearch_to_tsquery(TS_CONFIG, group.websearch))
        if group.prefix is not None:
            typed = func.to_tsquery(TS_CONFIG, rules.prefix_tsquery(group.prefix))
            parts.append(typed if typed_as is None else typed_as)
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


def scope_tokens(viewer: Actor) -> tuple[str, ...]:
    """The scope tokens (migration `b3f81d6c2e47`) any of which lets `viewer` read a request.

    A document's tokens encode `requests.access.visibility_clause` for its request: `t<team>`
    for the team holding it (and, when confidential, the team owning its service), `p<person>`
    for its requester, owner, participants (not when confidential) and whoever an open offer
    names, `public` when it is not confidential. So a viewer reads a request exactly when its
    document holds one of their teams, themselves, or (an admin) `public`; test_scope.py holds
    this equal to the rule for many viewers.
    """
    tokens = [f"t{team}" for team in sorted(viewer.team_ids)]
    tokens.append(f"p{viewer.person_id}")
    if viewer.is_admin:
        tokens.append("public")
    return tuple(tokens)


def _fts5_scoped(query: rules.SearchQuery, viewer: Actor) -> str:
    """The FTS5 expression: the words in the text columns, and one of the viewer's tokens in
    the scope column (tokens are letters and digits only, quoted all the same)."""
    scope = " OR ".join(f'"{token}"' for token in scope_tokens(viewer))
    return f"{{title body cases}} : ({rules.fts5_match(query)}) AND scope : ({scope})"


def _pg_scope(viewer: Actor) -> ColumnElement[Any]:
    """The viewer's tokens as a tsquery of the `~`-prefixed lexemes the documents hold."""
    text = " | ".join(f"'~{token}'" for token in scope_tokens(viewer))
    return cast(literal(text), TSQUERY)


@dataclass(frozen=True)
class _Matches:
    """One page of matching request ids, how many match, and whether counting stopped."""

    ids: list[int]
    total: int
    capped: bool


def _matching_requests(
    session: Session,
    viewer: Actor,
    query: rules.SearchQuery,
    leave_out: Sequence[int],
    limit: int,
    offset: int,
) -> _Matches:
    """One page of the ids of readable requests whose words match, and how many there are.

    The index narrows to what the viewer may read (scope tokens), so the work grows with the
    viewer's matches, not the desk's. Counting stops past `rules.COUNT_LIMIT`: up to there the
    matches are counted exactly and ranked best first; beyond, ranking every match would cost
    more than a person waits, so they come newest first (highest number) and the count says
    there are more."""
    if _is_postgresql(session):
        return _pg_matches(session, viewer, query, leave_out, limit, offset)
    return _sqlite_matches(session, viewer, query, leave_out, limit, offset)


def _sqlite_matches(
    session: Session,
    viewer: Actor,
    query: rules.SearchQuery,
    leave_out: Sequence[int],
    limit: int,
    offset: int,
) -> _Matches:
    """FTS5 answers from the index, newest first (it walks its lists backwards) and stops at
    the limit. BM25 is not used: for its IDF it walks every document of every phrase in the
    whole index, the scope tokens too (`public` is most of the desk): tens of ms at 1M."""
    where = [_FTS_TABLE.op("MATCH")(_fts5_scoped(query, viewer))]
    if leave_out:
        where.append(_FTS.c.rowid.not_in(leave_out))
    newest = select(_FTS.c.rowid).where(*where).order_by(_FTS.c.rowid.desc())
    candidates = list(session.scalars(newest.limit(rules.COUNT_LIMIT + 1)))
    if len(candidates) <= rules.COUNT_LIMIT:
        # Only now the words of each, to rank by (past the limit none are read).
        documents = session.execute(
            select(RequestSearch.request_id, RequestSearch.title, RequestSearch.cases).where(
                RequestSearch.request_id.in_(candidates)
            )
        ).all()
        ordered = rules.relevance_order(documents, query)
        return _Matches(ordered[offset : offset + limit], len(candidates), False)
    if offset + limit <= rules.COUNT_LIMIT:
        page = candidates[offset : offset + limit]
    else:
        page = list(session.scalars(newest.limit(limit).offset(offset)))
    return _Matches(page, rules.COUNT_LIMIT, True)


# PostgreSQL reads the newest documents one by one, testing each against the query (about
# 0.3 µs of server CPU a document at a million requests), when matches are dense among them:
# first a sample, then, if the sample promises enough (`rules.worth_reading_newest`), up to a
# budget. Tests shrink these to walk every path on a small desk.
NEWEST_SAMPLE = 2_000
NEWEST_BUDGET = 30_000


# A word being typed is first tried as itself and up to this many more of the desk's common
# words it begins (PostgreSQL's statistics of the documents, read again after _STATISTICS_SECONDS).
COMMON_WORDS_TRIED = 24
_STATISTICS_SECONDS = 600.0


@dataclass(frozen=True)
class _Statistics:
    """What PostgreSQL's statistics (kept by ANALYZE) say of the search documents: about how
    many there are (0 or less: not known) and the lexemes most of them hold, most frequent
    first. Only which path a search takes depends on them, never what it finds."""

    documents: float
    common: tuple[str, ...]


_statistics_read: dict[str, tuple[float, _Statistics]] = {}  # by database: (when, what)


def _statistics(session: Session) -> _Statistics:
    """The statistics of the search documents, read at most every _STATISTICS_SECONDS."""
    key = str(session.get_bind().engine.url)
    now = time.monotonic()
    cached = _statistics_read.get(key)
    if cached is None or now - cached[0] > _STATISTICS_SECONDS:
        row = session.execute(
            text(
                "SELECT c.reltuples, s.most_common_elems::text::text[], s.most_common_elem_freqs"
                " FROM pg_class c LEFT JOIN pg_stats s ON s.schemaname = current_schema()"
                " AND s.tablename = 'request_search' AND s.attname = 'vector'"
                " WHERE c.oid = to_regclass('request_search')"
            )
        ).first()
        documents, common = 0.0, ()
        if row is not None:
            documents = float(row[0])
            if row[1] is not None:
                by_frequency = sorted(zip(row[2], row[1], strict=False), reverse=True)
                common = tuple(word for _, word in by_frequency)
        cached = (now, _Statistics(documents, common))
        _statistics_read[key] = cached
    return cached[1]


def _common_words_typed(
    session: Session, query: rules.SearchQuery, common: Sequence[str]
) -> ColumnElement[Any] | None:
    """The word being typed as itself or a common word it begins (a tsquery of lexemes), or
    None when nothing is being typed or it is a stop word."""
    typed = next((g.prefix for g in rules.ts_groups(query)[0] if g.prefix is not None), None)
    if typed is None:
        return None
    as_text = session.scalar(
        select(cast(func.to_tsquery(TS_CONFIG, rules.prefix_tsquery(typed)), Text))
    )
    lexeme = rules.prefix_lexeme(as_text or "")
    if lexeme is None:
        return None
    words = rules.words_beginning(lexeme, common, COMMON_WORDS_TRIED + 1)
    if not words:
        return None
    return cast(literal(rules.any_of_tsquery(words)), TSQUERY)


def _pg_newest(
    session: Session,
    matches: ColumnElement[Any],
    leave_out: Sequence[int],
    wanted: int,
    documents: int,
) -> list[tuple[int, str, str]]:
    """Up to `wanted` matches among the newest `documents` search documents, newest first:
    the primary key read backwards, each document tested, stopping at `wanted` (no index of
    the words is read, so nothing is gathered beyond what is returned)."""
    newest = (
        select(
            RequestSearch.request_id,
            RequestSearch.title,
            RequestSearch.cases,
            RequestSearch.vector,
        )
        .order_by(RequestSearch.request_id.desc())
        .limit(documents)
        .subquery("newest")
    )
    where = [newest.c.vector.op("@@")(matches)]
    if leave_out:
        where.append(newest.c.request_id.not_in(leave_out))
    rows = session.execute(
        select(newest.c.request_id, newest.c.title, newest.c.cases)
        .where(*where)
        .order_by(newest.c.request_id.desc())
        .limit(wanted)
    )
    return [(row.request_id, row.title, row.cases) for row in rows]


def _pg_matches(
    session: Session,
    viewer: Actor,
    query: rules.SearchQuery,
    leave_out: Sequence[int],
    limit: int,
    offset: int,
) -> _Matches:
    """Matches are looked for among the newest documents first, then in the GIN index.

    A GIN search gathers every match of its words and the viewer's scope tokens across the
    desk into a bitmap before anything can stop it: for a common word or the word being typed
    as an admin (whose `public` token is most of the desk), hundreds of thousands of entries,
    tens of ms, however few are then read. When the newest documents hold more than
    `rules.COUNT_LIMIT` matches within `NEWEST_BUDGET`, they are the answer (more than the
    limit, newest first) and the index is not asked. Otherwise the index finds the matches and
    PostgreSQL reads each one's table row (to check it is visible to the transaction), so the
    count stops past the limit; up to it they are ranked. Either way the query holds the
    viewer's scope tokens, so only readable requests are found and counted."""
    matches = func.tsquery_and(_tsquery(query), _pg_scope(viewer))
    over = rules.COUNT_LIMIT + 1
    newest = _pg_newest(session, matches, leave_out, over, NEWEST_SAMPLE)
    in_sample = len(newest)
    if in_sample < over and rules.worth_reading_newest(
        in_sample, NEWEST_SAMPLE, NEWEST_BUDGET, over
    ):
        newest = _pg_newest(session, matches, leave_out, over, NEWEST_BUDGET)
    where = [RequestSearch.vector.op("@@")(matches)]
    if leave_out:
        where.append(RequestSearch.request_id.not_in(leave_out))
    capped = len(newest) == over
    typed_as = None
    if not capped and query.prefixes:
        statistics = _statistics(session)
        if rules.may_be_over_limit(in_sample, NEWEST_SAMPLE, statistics.documents):
            typed_as = _common_words_typed(session, query, statistics.common)
    if typed_as is not None:
        # The word being typed as the whole word or a common word it begins finds some of the
        # matches, and GIN skips through whole words' entries by the scope's, where a prefix
        # gathers every entry of every word it begins: when more than the limit hold one of
        # those words, more than the limit match.
        some = func.tsquery_and(_tsquery(query, typed_as), _pg_scope(viewer))
        held = select(RequestSearch.request_id).where(
            RequestSearch.vector.op("@@")(some), *where[1:]
        )
        capped = len(session.scalars(held.limit(over)).all()) == over
    if not capped:
        found = select(RequestSearch.request_id, RequestSearch.title, RequestSearch.cases)
        candidates = session.execute(found.where(*where).limit(over)).all()
        if len(candidates) < over:
            ordered = rules.relevance_order(candidates, query)
            return _Matches(ordered[offset : offset + limit], len(candidates), False)
    # More than the limit match: newest first.
    wanted = offset + limit
    if len(newest) < wanted <= over and rules.worth_reading_newest(
        in_sample, NEWEST_SAMPLE, NEWEST_BUDGET, wanted
    ):
        newest = _pg_newest(session, matches, leave_out, wanted, NEWEST_BUDGET)
    if len(newest) >= wanted:
        page = [request_id for request_id, _, _ in newest[offset:wanted]]
    else:
        # Past the first thousand, or sparse among the newest: the planner chooses.
        ids = select(RequestSearch.request_id).where(*where)
        ordered_ids = ids.order_by(RequestSearch.request_id.desc())
        page = list(session.scalars(ordered_ids.limit(limit).offset(offset)))
    return _Matches(page, rules.COUNT_LIMIT, True)


def search_requests(
    session: Session, viewer: Actor, query: rules.SearchQuery, limit: int, offset: int = 0
) -> Found[RequestHit]:
    """The requests the viewer may read that match, best first; the one with the number typed
    ("#123") leads the first page when the viewer may read it."""
    by_number: list[int] = []
    if query.request_id is not None:
        # One request: the rule's single-row form (cheapest facts first), not the set form.
        numbered = session.get(Request, query.request_id)
        if numbered is not None and may_read(session, viewer, numbered):
            by_number = [numbered.id]
    ranked: list[tuple[int, bool]] = []
    total = len(by_number)
    capped = False
    if offset < len(by_number):
        ranked = [(request_id, True) for request_id in by_number]
    text_offset = max(0, offset - len(by_number))
    text_limit = limit - len(ranked)
    if query.groups:
        matches = _matching_requests(session, viewer, query, by_number, text_limit, text_offset)
        total += matches.total
        capped = matches.capped
        ranked += [(request_id, False) for request_id in matches.ids]
    return Found(_request_hits(session, viewer, query, ranked), total, offset, limit, capped)


def _request_hits(
    session: Session, viewer: Actor, query: rules.SearchQuery, ranked: Sequence[tuple[int, bool]]
) -> list[RequestHit]:
    """What a result shows, for the ids in their ranked order; read through the access rule
    itself, so a result can never show a request the viewer may not read."""
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
        .where(Request.id.in_(ids), visibility_clause(viewer))
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


def _like_pattern(word: str) -> str:
    """`%word%` with PostgreSQL's LIKE escape (backslash) before anything LIKE reads."""
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _case_where(session: Session, words: Sequence[str]) -> tuple[Any, str | None]:
    """A filter on cases: every word is in the reference or customer (case-insensitive
    substring). On SQLite, also the trigram MATCH for the words of three characters or more
    (None when there are none): the index then answers alone when no shorter word remains."""
    if _is_postgresql(session):
        # pg_trgm's GIN indexes serve ILIKE directly.
        return and_(
            true(),
            *(
                or_(
                    Case.reference.op("ILIKE")(_like_pattern(w)),
                    Case.customer.op("ILIKE")(_like_pattern(w)),
                )
                for w in words
            ),
        ), None
    long_words = [w for w in words if len(w) >= TRIGRAM]
    short = _all_words_in(
        (Case.reference, Case.customer), [w for w in words if w not in long_words]
    )
    if not long_words:
        return short, None
    # A quoted string matches as a substring in a trigram table, in any column.
    return short, " AND ".join('"' + w.replace('"', '""') + '"' for w in long_words)


def search_cases(
    session: Session, query: rules.SearchQuery, limit: int, offset: int = 0
) -> Found[CaseHit]:
    """Customer cases whose reference or customer holds every word typed; newest first. Any
    signed-in person may see a case's reference and customer (its requests are filtered on
    the case page)."""
    words = query.words
    if not words:
        return Found([], 0, offset, limit)
    where, match = _case_where(session, words)
    if match is not None and len(words) == len([w for w in words if len(w) >= TRIGRAM]):
        # Every word is in the index: count and page there, without reading the cases.
        matched = _FTS_CASE_TABLE.op("MATCH")(match)
        total = _count_to_limit(session, select(_FTS_CASE.c.rowid).where(matched))
        ids = select(_FTS_CASE.c.rowid).where(matched).order_by(_FTS_CASE.c.rowid.desc())
        page = select(Case).where(
            Case.id.in_(list(session.scalars(ids.limit(limit).offset(offset))))
        )
    else:
        if match is not None:
            where = and_(
                Case.id.in_(select(_FTS_CASE.c.rowid).where(_FTS_CASE_TABLE.op("MATCH")(match))),
                where,
            )
        total = _count_to_limit(session, select(Case.id).where(where))
        page = select(Case).where(where).limit(limit).offset(offset)
    capped = total > rules.COUNT_LIMIT
    total = min(total, rules.COUNT_LIMIT)
    if total == 0 or (offset >= total and not capped):
        return Found([], total, offset, limit, capped)
    cases = session.scalars(page.order_by(Case.id.desc()))
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
    return Found(hits, total, offset, limit, capped)


def _count_to_limit(session: Session, ids: Select[Any]) -> int:
    """How many rows `ids` selects, counting no further than one past rules.COUNT_LIMIT."""
    limited = ids.limit(rules.COUNT_LIMIT + 1).subquery()
    return session.scalar(select(func.count()).select_from(limited)) or 0


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
