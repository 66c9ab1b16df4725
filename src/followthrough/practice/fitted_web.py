"""The what-if page: a lead tries a change on the simulation fitted to the desk's own history
(more people in a team, a faster acceptance target, fewer bounces) and sees each team's hours
to accept and to resolve with the change beside the current state, with 95% intervals.

Trying a change writes nothing, so it is a GET with the change in the address (it can be
bookmarked and shared). The page reads the history in one short read-only unit of work and
renders in another; the seconds of simulation run in neither, and in no request either: the
first look at a change starts it in the background (practice.fitted.cache) and the page looks
again every two seconds until the result, kept per version of the history, is there."""

from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams

from followthrough.errors import NotAllowed
from followthrough.fields import MAX_TARGET_HOURS, form_number
from followthrough.practice.fitted import cache
from followthrough.practice.fitted.fit import modelled_teams
from followthrough.practice.fitted.history import History, TeamHistory, read_history
from followthrough.practice.fitted.whatif import Change, WhatIf
from followthrough.programmes.effect import teams_joined
from followthrough.web.deps import UnitOfWorkRoute, run_in_unit_of_work
from followthrough.web.pages import (
    CHECK_FIELDS,
    FieldProblem,
    FormErrors,
    FormFields,
    Page,
    page_viewer,
)

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)

# The fit reads this many days of history up to the current hour.
HISTORY_DAYS = cache.HISTORY_DAYS
REPLICATIONS = 6
CALIBRATION_ROUNDS = cache.ROUNDS
# More people than any one team could take on.
MAX_EXTRA_PEOPLE = 1_000


def _only_leads(page: Page) -> None:
    if not page.viewer.leads:
        raise NotAllowed("only team leads and admins try changes on the simulation")


def _history(page: Page) -> History:
    since, until = cache.window(page.now, HISTORY_DAYS)
    return read_history(page.session, since, until, teams_joined(page.session))


def _page(request: Request, session: Session, now: datetime) -> Page:
    form = FormFields(list(request.query_params.multi_items()))
    return Page(request, session, page_viewer(request, session, now), now, form)


def _render(
    page: Page,
    history: History,
    errors: FormErrors | None = None,
    result: WhatIf | None = None,
    values: QueryParams | None = None,
    working: bool = False,
) -> Response:
    teams = modelled_teams(history)
    return page.render(
        "practice/what_if.html",
        joined=_fitted_from_joining(teams),
        status=errors.status if errors else 200,
        errors=errors,
        teams=teams,
        values=values if (errors or result or working) else None,
        result=result,
        working=working,
        days=HISTORY_DAYS,
    )


def _fitted_from_joining(teams: list[TeamHistory]) -> list[tuple[str, list[str]]]:
    """The teams simulated as they accept since their department joined the buddy programme,
    by the day it did."""
    days: dict[date, list[str]] = {}
    for team in teams:
        if team.accept_since is not None:
            days.setdefault(team.accept_since.date(), []).append(team.name)
    return [(f"{day:%-d %B %Y}", names) for day, names in sorted(days.items())]


@router.get("/practice/what-if")
async def what_if_page(request: Request) -> Response:
    def read(session: Session, now: datetime) -> tuple[History, Change | FormErrors | None]:
        page = _page(request, session, now)
        _only_leads(page)
        history = _history(page)
        if "team" not in request.query_params:
            return history, None
        return history, _change(history, request.query_params)

    history, change = await run_in_unit_of_work(request, read, write=False)
    result = None
    if isinstance(change, Change):
        # Starting the run is quick; the run itself is on the what-if worker thread.
        result = await run_in_threadpool(
            cache.result_or_start, history, change, REPLICATIONS, CALIBRATION_ROUNDS
        )

    def render(session: Session, now: datetime) -> Response:
        page = _page(request, session, now)
        _only_leads(page)  # still a lead: the first step ended before the simulation
        query = request.query_params
        if isinstance(change, FormErrors):
            return _render(page, history, change, values=query)
        return _render(
            page, history, result=result, values=query, working=change is not None and not result
        )

    return await run_in_unit_of_work(request, render, write=False)


def _number(raw: str, name: str, problems: dict[str, FieldProblem], default: float) -> float:
    raw = raw.strip()
    if not raw:
        return default
    value = form_number(raw)
    if value is None:
        problems[name] = FieldProblem("must be a number")
        return default
    return value


def _change(history: History, form: QueryParams) -> Change | FormErrors:
    """The change the address asks for, or the form's problems naming each field."""
    teams = {str(t.team_id): t for t in modelled_teams(history)}
    problems: dict[str, FieldProblem] = {}
    team = teams.get(form.get("team", ""))
    if team is None:
        problems["team"] = FieldProblem("choose a team with requests in its history")
    extra = _number(form.get("extra_people", ""), "extra_people", problems, 0.0)
    if extra != int(extra):
        problems.setdefault("extra_people", FieldProblem("must be a whole number"))
    elif extra > MAX_EXTRA_PEOPLE:
        # The simulation's events grow with the staff: 10^308 more people never finish.
        problems["extra_people"] = FieldProblem(f"must be at most {MAX_EXTRA_PEOPLE:,}")
    elif team is not None and team.staff + extra < 1:
        problems["extra_people"] = FieldProblem("would leave the team with nobody")
    accept = _number(form.get("accept_within", ""), "accept_within", problems, 0.0)
    if not 0 <= accept <= MAX_TARGET_HOURS:
        problems["accept_within"] = FieldProblem(
            f"must be 0 (no change) or more hours, at most {MAX_TARGET_HOURS:,.0f}"
        )
    kept = _number(form.get("bounces_kept", ""), "bounces_kept", problems, 100.0)
    if not 0 <= kept <= 100:
        problems["bounces_kept"] = FieldProblem("must be between 0 and 100 percent")
    if problems or team is None:
        return FormErrors("whatif", message=CHECK_FIELDS, problems=problems)
    return Change(
        extra_people={team.team_id: int(extra)} if extra else {},
        accept_within_hours={team.team_id: accept} if accept > 0 else {},
        bounces_kept=kept / 100.0,
    )
