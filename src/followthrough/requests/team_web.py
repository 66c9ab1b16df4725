"""Team pages: the back office's queue (offers and owned requests) and the lead's board."""

from __future__ import annotations

from fastapi import APIRouter, Query
from fastapi.responses import Response

from followthrough.errors import DomainError, NotAllowed, OfferNotOpen
from followthrough.fields import Id
from followthrough.requests import board, service
from followthrough.requests import schemas as s
from followthrough.requests.models import Request as RequestRow
from followthrough.requests.web import declined_message
from followthrough.web.deps import UnitOfWorkRoute
from followthrough.web.pages import ChangePage, FormErrors, Page, ReadPage, model_from_form

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)


def _chosen_team(page: Page, team_id: int | None, teams: list[tuple[int, str]]) -> int | None:
    if team_id is not None:
        return team_id
    own = [t for t in teams if t[0] in page.actor.team_ids] or teams
    return own[0][0] if own else None


def _queue_page(
    page: Page, team_id: int | None, filters: list[str], errors: FormErrors | None = None
) -> Response:
    teams = board.teams_of(page.session, page.actor)
    chosen = _chosen_team(page, team_id, teams)
    if chosen is None:
        return page.render(
            "queue.html",
            teams=teams,
            team=None,
            offers=[],
            queue=[],
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
        offers=board.team_offers(page.session, page.actor, chosen),
        queue=board.team_queue(page.session, page.actor, chosen, page.now, filters),
        filters=filters,
        all_filters=board.QUEUE_FILTERS,
        is_lead=chosen in page.actor.lead_of or page.actor.is_admin,
        errors=errors,
    )


@router.get("/team")
def queue(
    page: ReadPage, team_id: Id | None = None, filter: list[str] = Query(default=[])
) -> Response:
    return _queue_page(page, team_id, [f for f in filter if f in board.QUEUE_FILTERS])


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
    picked = [v.split(":") for v in page.form.getlist("offer")]
    pairs = [
        (int(a), int(b))
        for a, b in (p for p in picked if len(p) == 2)
        if a.isdigit() and b.isdigit()
    ]
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


@router.get("/board")
def lead_board(page: ReadPage, team_id: Id | None = None) -> Response:
    teams = [
        t
        for t in board.teams_of(page.session, page.actor)
        if t[0] in page.actor.lead_of or page.actor.is_admin
    ]

    chosen = team_id if team_id is not None else (teams[0][0] if teams else None)
    if chosen is None:
        raise NotAllowed("the lead board is for team leads")
    data = board.lead_board(page.session, page.actor, chosen, page.now)
    return page.render("board.html", teams=teams, b=data)
