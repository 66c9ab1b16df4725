"""Work pages: the back office's queue (offers and owned requests), the lead's board, and the
full lists behind Home's and the board's "see all", a page at a time."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from followthrough.errors import DomainError, NotAllowed, OfferNotOpen
from followthrough.fields import MAX_ID, Id, Text, form_id
from followthrough.requests import board, service
from followthrough.requests import schemas as s
from followthrough.requests.models import Request as RequestRow
from followthrough.requests.web import declined_message
from followthrough.web.deps import UnitOfWorkRoute
from followthrough.web.pages import ChangePage, FormErrors, Page, ReadPage, model_from_form

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)

PageNumber = Annotated[int, Query(ge=1, le=MAX_ID)]
"""Which page of a list, from 1."""
ListPage = Annotated[int, Query(ge=1, le=MAX_ID, alias="page")]
"""`?page=` of a full list (the name `page` is the route's Page)."""


def _chosen_team(page: Page, team_id: int | None, teams: list[tuple[int, str]]) -> int | None:
    if team_id is not None:
        return team_id
    own = [t for t in teams if t[0] in page.actor.team_ids] or teams
    return own[0][0] if own else None


def _queue_page(
    page: Page,
    team_id: int | None,
    filters: list[str],
    errors: FormErrors | None = None,
    *,
    offers_page: int = 1,
    queue_page: int = 1,
) -> Response:
    teams = board.teams_of(page.session, page.actor)
    chosen = _chosen_team(page, team_id, teams)
    if chosen is None:
        return page.render(
            "queue.html",
            teams=teams,
            team=None,
            offers=None,
            queue=None,
            filters=filters,
            errors=errors,
        )
    name = next((n for tid, n in teams if tid == chosen), None)
    if name is None:
        raise NotAllowed("you are not a member of that team", field="team_id")
    return page.render(
        "queue.html",
        status=200 if errors is None else errors.status,
        teams=teams,
        team=(chosen, name),
        offers=board.team_offers(page.session, page.actor, chosen, offers_page),
        queue=board.team_queue(page.session, page.actor, chosen, page.now, filters, queue_page),
        filters=filters,
        all_filters=board.QUEUE_FILTERS,
        is_lead=chosen in page.actor.lead_of or page.actor.is_admin,
        errors=errors,
    )


@router.get("/team")
def queue(
    page: ReadPage,
    team_id: Id | None = None,
    filter: list[str] = Query(default=[]),
    offers_page: PageNumber = 1,
    queue_page: PageNumber = 1,
) -> Response:
    return _queue_page(
        page,
        team_id,
        [f for f in filter if f in board.QUEUE_FILTERS],
        offers_page=offers_page,
        queue_page=queue_page,
    )


def _back(team_id: int) -> str:
    return f"/team?team_id={team_id}"


@router.post("/team/{team_id}/offers/{request_id}/{offer_id}/accept")
def accept(team_id: Id, request_id: Id, offer_id: Id, page: ChangePage) -> Response:
    errors = page.attempt(
        f"offer-{offer_id}",
        lambda: service.accept_offer(page.session, page.actor, request_id, offer_id, page.now),
    )
    if errors:
        return _queue_page(page, team_id, [], errors)
    return page.redirect(f"/requests/{request_id}", "Accepted. You are now the owner.")


@router.post("/team/{team_id}/offers/{request_id}/{offer_id}/decline")
def decline(team_id: Id, request_id: Id, offer_id: Id, page: ChangePage) -> Response:
    declined: list[RequestRow] = []

    def act() -> None:
        body = model_from_form(s.DeclineIn, page.form)
        declined.append(
            service.decline_offer(
                page.session, page.actor, request_id, offer_id, body.reason, page.now
            )
        )

    errors = page.attempt(f"decline-{offer_id}", act)
    if errors:
        return _queue_page(page, team_id, [], errors)
    return page.redirect(_back(team_id), declined_message(page.session, declined[0]))


@router.post("/team/{team_id}/accept")
def bulk_accept(team_id: Id, page: ChangePage) -> Response:
    """A lead accepts several offers at once; each is its own savepoint, so one that was
    answered meanwhile does not stop the others."""
    if team_id not in page.actor.lead_of and not page.actor.is_admin:
        return _queue_page(
            page,
            team_id,
            [],
            FormErrors("bulk", message="Only the team's lead can accept in bulk.", status=403),
        )
    picked = [[form_id(n) for n in v.split(":")] for v in page.form.getlist("offer")]
    pairs = [(a, b) for a, b in (p for p in picked if len(p) == 2) if a and b]
    if not pairs:
        return _queue_page(
            page, team_id, [], FormErrors("bulk", message="Tick the offers to accept first.")
        )
    accepted, failed = 0, []
    for request_id, offer_id in pairs:
        try:
            with page.session.begin_nested():
                service.accept_offer(page.session, page.actor, request_id, offer_id, page.now)
            accepted += 1
        except (DomainError, OfferNotOpen) as exc:
            failed.append(f"#{request_id}: {exc.detail}")
    message = f"Accepted {accepted} offer{'s' if accepted != 1 else ''}."
    if failed:
        message += " Not accepted: " + "; ".join(failed)
    return page.redirect(_back(team_id), message)


def _lead_teams(page: Page) -> list[tuple[int, str]]:
    return [
        t
        for t in board.teams_of(page.session, page.actor)
        if t[0] in page.actor.lead_of or page.actor.is_admin
    ]


@router.get("/board")
def lead_board(page: ReadPage, team_id: Id | None = None) -> Response:
    teams = _lead_teams(page)
    chosen = team_id if team_id is not None else (teams[0][0] if teams else None)
    if chosen is None:
        raise NotAllowed("the lead board is for team leads")
    data = board.lead_board(page.session, page.actor, chosen, page.now)
    return page.render("board.html", teams=teams, b=data, kinds=board.BOARD_LISTS)


@router.get("/board/list")
def lead_board_list(
    page: ReadPage, show: Text, team_id: Id | None = None, number: ListPage = 1
) -> Response:
    """One of the board's lists in full, a page at a time."""
    teams = _lead_teams(page)
    chosen = team_id if team_id is not None else (teams[0][0] if teams else None)
    if chosen is None:
        raise NotAllowed("the lead board is for team leads")
    listed = board.board_list(page.session, page.actor, chosen, page.now, show, number)
    team = next((name for tid, name in teams if tid == chosen), "")
    return page.render(
        "full_list.html",
        kind=board.BOARD_LISTS[show],
        listed=listed,
        back=(f"/board?team_id={chosen}", f"Lead board: {team}"),
        here=f"/board/list?team_id={chosen}&show={show}",
        heading=f"{board.BOARD_LISTS[show].title}: {team}",
        where="board",
    )


@router.get("/home/list")
def home_list(page: ReadPage, show: Text, number: ListPage = 1) -> Response:
    """One of Home's lists in full, a page at a time."""
    listed = board.home_list(
        page.session, page.actor, page.now, show, number, today_ends=page.today_ends
    )
    return page.render(
        "full_list.html",
        kind=board.HOME_LISTS[show],
        listed=listed,
        back=("/", "Home"),
        here=f"/home/list?show={show}",
        heading=board.HOME_LISTS[show].title,
        where="home",
    )
