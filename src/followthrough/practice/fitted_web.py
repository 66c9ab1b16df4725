"""The what-if page: a lead tries a change on the simulation fitted to the desk's own history
(more people in a team, a faster acceptance target, fewer bounces) and sees each team's hours
to accept and to resolve with the change beside the current state, with 95% intervals.

Trying a change writes nothing, so it is a GET with the change in the address (it can be
bookmarked and shared): its unit of work is read-only, and the seconds of simulation never hold
the database's write turn, which a POST's unit of work takes."""

from __future__ import annotations

import math
from datetime import timedelta

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.datastructures import QueryParams

from followthrough.errors import NotAllowed
from followthrough.practice.fitted.fit import fit as fit_history
from followthrough.practice.fitted.fit import modelled_teams
from followthrough.practice.fitted.history import History, read_history
from followthrough.practice.fitted.whatif import Change, WhatIf, what_if
from followthrough.web.deps import UnitOfWorkRoute
from followthrough.web.pages import (
    CHECK_FIELDS,
    FieldProblem,
    FormErrors,
    Page,
    ReadPage,
)

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)

# The fit reads this many days of history up to today.
HISTORY_DAYS = 120
REPLICATIONS = 6


def _only_leads(page: Page) -> None:
    if not page.viewer.leads:
        raise NotAllowed("only team leads and admins try changes on the simulation")


def _history(page: Page) -> History:
    return read_history(page.session, page.now - timedelta(days=HISTORY_DAYS), page.now)


def _render(
    page: Page,
    history: History,
    errors: FormErrors | None = None,
    result: WhatIf | None = None,
    values: QueryParams | None = None,
) -> Response:
    teams = modelled_teams(history)
    return page.render(
        "practice/what_if.html",
        status=errors.status if errors else 200,
        errors=errors,
        teams=teams,
        values=values if (errors or result) else None,
        result=result,
        days=HISTORY_DAYS,
    )


@router.get("/practice/what-if")
def what_if_page(page: ReadPage) -> Response:
    _only_leads(page)
    history = _history(page)
    query = page.request.query_params
    if "team" not in query:
        return _render(page, history)
    return _try_change(page, history, query)


def _number(raw: str, name: str, problems: dict[str, FieldProblem], default: float) -> float:
    raw = raw.strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):  # "nan" and "inf" read as floats too
        problems[name] = FieldProblem("must be a number")
        return default
    return value


def _try_change(page: Page, history: History, form: QueryParams) -> Response:
    teams = {str(t.team_id): t for t in modelled_teams(history)}
    problems: dict[str, FieldProblem] = {}
    team = teams.get(form.get("team", ""))
    if team is None:
        problems["team"] = FieldProblem("choose a team with requests in its history")
    extra = _number(form.get("extra_people", ""), "extra_people", problems, 0.0)
    if extra != int(extra):
        problems.setdefault("extra_people", FieldProblem("must be a whole number"))
    elif team is not None and team.staff + extra < 1:
        problems["extra_people"] = FieldProblem("would leave the team with nobody")
    accept = _number(form.get("accept_within", ""), "accept_within", problems, 0.0)
    if accept < 0:
        problems["accept_within"] = FieldProblem("must be 0 (no change) or more hours")
    kept = _number(form.get("bounces_kept", ""), "bounces_kept", problems, 100.0)
    if not 0 <= kept <= 100:
        problems["bounces_kept"] = FieldProblem("must be between 0 and 100 percent")
    if problems or team is None:
        errors = FormErrors("whatif", message=CHECK_FIELDS, problems=problems)
        return _render(page, history, errors, values=form)
    change = Change(
        extra_people={team.team_id: int(extra)} if extra else {},
        accept_within_hours={team.team_id: accept} if accept > 0 else {},
        bounces_kept=kept / 100.0,
    )
    result = what_if(fit_history(history, rounds=3), change, replications=REPLICATIONS)
    return _render(page, history, result=result, values=form)
