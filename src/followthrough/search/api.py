"""HTTP API for search and saved views."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Generic, TypeVar

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from followthrough.errors import InvalidInput
from followthrough.fields import Id, Text, form_whole
from followthrough.search import rules, service
from followthrough.search.models import SavedView
from followthrough.search.service import Kind
from followthrough.web.deps import CurrentActor, DbSession, Now, UnitOfWorkRoute
from followthrough.web.schemas import Input

router = APIRouter(route_class=UnitOfWorkRoute, tags=["search"])

MAX_LIMIT = 100
Item = TypeVar("Item")


class RequestResult(BaseModel):
    id: int
    title: str
    state: str
    waiting_on: str | None
    confidential: bool
    team: str
    owner: str
    opened_at: datetime
    snippet: str = Field(description="Some of the request's text around the first match")
    title_highlights: list[tuple[int, int]] = Field(
        description="[start, end) of each matching word in the title"
    )
    snippet_highlights: list[tuple[int, int]]
    by_number: bool = Field(description="Found by its number (#123) rather than by its words")


class CaseResult(BaseModel):
    id: int
    reference: str
    customer: str


class PersonResult(BaseModel):
    id: int
    name: str
    handle: str
    email: str
    teams: list[str]


class Section(BaseModel, Generic[Item]):
    total: int = Field(
        description="How many there are in all (only what you may read); when `more` is true,"
        " counting stopped here and there are more"
    )
    more: bool = Field(
        default=False,
        description="More match than `total` (counting stops at 1,000): they come newest"
        " first, and a narrower search ranks them by relevance",
    )
    items: list[Item]
    next_cursor: str | None = Field(
        description="Pass as `cursor` (with this section's `kind`) for the next page"
    )


class SearchOut(BaseModel):
    q: str
    requests: Section[RequestResult] | None = Field(
        default=None, description="Absent (null) when `kind` asks for another"
    )
    cases: Section[CaseResult] | None = None
    people: Section[PersonResult] | None = None


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The offset an opaque cursor stands for; a cursor this API did not give is refused."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raw = ""
    prefix, _, number = raw.partition(":")
    offset = form_whole(number) if prefix == "o" else None
    if offset is None:
        raise InvalidInput("is not a cursor this search gave", field="cursor")
    return offset


def _section(found: service.Found[Item]) -> Section[Item]:
    following = found.next_offset
    return Section[Item](
        total=found.total,
        more=found.capped,
        items=found.items,
        next_cursor=None if following is None else encode_cursor(following),
    )


@router.get("/search", response_model=SearchOut)
def search(
    session: DbSession,
    actor: CurrentActor,
    q: Annotated[Text, Query(max_length=rules.MAX_QUERY_LENGTH)] = "",
    kind: Kind = Kind.ALL,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
    cursor: Annotated[Text | None, Query(max_length=40)] = None,
) -> SearchOut:
    """Requests (title, need, updates, questions and answers, number, case reference), cases
    (reference, customer) and people (name, handle, email). Words, "quoted phrases", -excluded
    words and OR; the last word also matches the start of longer words. Requests are ranked
    best first (the words in the title, then in a case, then in the text; the most recently
    opened first within each); only requests you may read are found or counted. Counting stops
    at 1,000 (`more` says there are more): those come newest first. A `cursor` pages one kind (`kind` other than `all`)."""
    if cursor is not None and kind == Kind.ALL:
        raise InvalidInput("choose one kind (requests, cases or people) to page", field="kind")
    offset = 0 if cursor is None else decode_cursor(cursor)
    query = rules.parse(q)
    out = SearchOut(q=q)
    if kind in (Kind.ALL, Kind.REQUESTS):
        found = service.search_requests(session, actor, query, limit, offset)
        out.requests = _section(
            service.Found(
                [
                    RequestResult(
                        id=h.id,
                        title=h.title,
                        state=h.state,
                        waiting_on=h.waiting_on,
                        confidential=h.confidential,
                        team=h.team,
                        owner=h.owner,
                        opened_at=h.opened_at,
                        snippet=h.snippet,
                        title_highlights=h.title_marks,
                        snippet_highlights=h.snippet_marks,
                        by_number=h.by_number,
                    )
                    for h in found.items
                ],
                found.total,
                found.offset,
                found.limit,
                found.capped,
            )
        )
    if kind in (Kind.ALL, Kind.CASES):
        cases = service.search_cases(session, query, limit, offset)
        out.cases = _section(
            service.Found(
                [
                    CaseResult(id=c.id, reference=c.reference, customer=c.customer)
                    for c in cases.items
                ],
                cases.total,
                cases.offset,
                cases.limit,
                cases.capped,
            )
        )
    if kind in (Kind.ALL, Kind.PEOPLE):
        people = service.search_people(session, query, limit, offset)
        out.people = _section(
            service.Found(
                [
                    PersonResult(
                        id=p.id, name=p.name, handle=p.handle, email=p.email, teams=p.teams
                    )
                    for p in people.items
                ],
                people.total,
                people.offset,
                people.limit,
            )
        )
    return out


# ---- saved views -----------------------------------------------------------------------------


class ViewIn(Input):
    name: str = Field(min_length=1, max_length=service.MAX_VIEW_NAME)
    page: str = Field(description="team, requests, board or search", max_length=16)
    query: str = Field(default="", max_length=service.MAX_VIEW_QUERY)


class ViewPatch(Input):
    name: str = Field(min_length=1, max_length=service.MAX_VIEW_NAME)


class ViewOut(BaseModel):
    id: int
    name: str
    page: str
    query: str
    url: str = Field(description="The page with the saved filters")
    created_at: datetime


def _view_out(view: SavedView) -> ViewOut:
    return ViewOut(
        id=view.id,
        name=view.name,
        page=view.page,
        query=view.query,
        url=service.view_url(view),
        created_at=view.created_at,
    )


@router.get("/views", response_model=list[ViewOut], tags=["saved views"])
def list_views(session: DbSession, actor: CurrentActor) -> list[ViewOut]:
    """Your saved views (nobody else's), by name."""
    return [_view_out(v) for v in service.saved_views(session, actor)]


@router.post("/views", status_code=201, response_model=ViewOut, tags=["saved views"])
def add_view(body: ViewIn, session: DbSession, actor: CurrentActor, now: Now) -> ViewOut:
    """Save a list page's filters under a name; only the page's own filters are kept."""
    return _view_out(service.save_view(session, actor, body.name, body.page, body.query, now))


@router.patch("/views/{view_id}", response_model=ViewOut, tags=["saved views"])
def rename_view(view_id: Id, body: ViewPatch, session: DbSession, actor: CurrentActor) -> ViewOut:
    return _view_out(service.rename_view(session, actor, view_id, body.name))


@router.delete("/views/{view_id}", status_code=204, tags=["saved views"])
def delete_view(view_id: Id, session: DbSession, actor: CurrentActor) -> Response:
    service.delete_view(session, actor, view_id)
    return Response(status_code=204)
