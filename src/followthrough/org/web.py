"""Admin pages: departments, teams (lead, duty owner, members, calendar, holidays), people and the
service catalog. Each form validates with the API's input model and calls the API's own
function, so a page can do exactly what the API allows and nothing else."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from followthrough.auth.passwords import password_checks
from followthrough.errors import NotFound
from followthrough.fields import Id
from followthrough.org import api
from followthrough.web.deps import UnitOfWorkRoute, admin_actor, run_in_unit_of_work
from followthrough.web.pages import (
    ChangePage,
    FormErrors,
    FormFields,
    Page,
    PageForm,
    ReadPage,
    change_page_in,
    errors_from_validation,
    model_from_form,
)

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/admin", include_in_schema=False)

CHECKBOXES = ("is_triage", "is_admin", "confidential")


def _overview(page: Page, errors: FormErrors | None = None) -> Response:
    admin_actor(page.actor)
    people = api.list_people(page.session, page.actor)
    teams = api.list_teams(page.session, page.actor)
    return page.render(
        "admin.html",
        status=200 if errors is None else errors.status,
        departments=api.list_departments(page.session, page.actor),
        teams=teams,
        team_names={t.id: t.name for t in teams},
        people=people,
        names={p.id: p.name for p in people},
        services=api.list_services(page.session, page.actor),
        errors=errors,
    )


def _team_page(page: Page, team_id: int, errors: FormErrors | None = None) -> Response:
    admin_actor(page.actor)
    teams = api.list_teams(page.session, page.actor)
    team = next((t for t in teams if t.id == team_id), None)
    if team is None:
        raise NotFound(f"team {team_id} does not exist", field="team_id")
    people = api.list_people(page.session, page.actor)
    return page.render(
        "admin_team.html",
        status=200 if errors is None else errors.status,
        team=team,
        people=people,
        names={p.id: p.name for p in people},
        services=api.list_services(page.session, page.actor, team_id=team_id),
        errors=errors,
    )


@router.get("")
def overview(page: ReadPage) -> Response:
    return _overview(page)


@router.get("/teams/{team_id}")
def team_page(team_id: Id, page: ReadPage) -> Response:
    return _team_page(page, team_id)


def _fields(page: Page) -> FormFields:
    """Unticked checkboxes are not sent at all; the API models want false."""
    return page.form.replaced(
        {name: "true" if page.form.get(name) else "false" for name in CHECKBOXES}
    )


def _admin_change(
    page: Page,
    form: str,
    action: Callable[[], object],
    flash: str,
    back: Callable[[FormErrors], Response],
    to: str,
) -> Response:
    admin_actor(page.actor)
    errors = page.attempt(form, action)
    if errors:
        return back(errors)
    return page.redirect(to, flash)


@router.post("/departments")
def add_department(page: ChangePage) -> Response:
    return _admin_change(
        page,
        "department",
        lambda: api.add_department(
            model_from_form(api.DepartmentIn, page.form), page.session, page.actor
        ),
        "Department added.",
        lambda e: _overview(page, e),
        "/admin",
    )


@router.post("/teams")
def add_team(page: ChangePage) -> Response:
    return _admin_change(
        page,
        "team",
        lambda: api.add_team(model_from_form(api.TeamIn, _fields(page)), page.session, page.actor),
        "Team added.",
        lambda e: _overview(page, e),
        "/admin#teams",
    )


@router.post("/people")
async def add_person(request: Request, form: PageForm) -> Response:
    """Three steps, so no transaction is open while the password is hashed on the password
    lane: check the admin and the form, hash, then add the person."""

    def check(session: Session, now: datetime) -> api.PersonIn | Response:
        page = change_page_in(request, session, now, form)
        admin_actor(page.actor)
        try:
            return model_from_form(api.PersonIn, _fields(page))
        except ValidationError as exc:
            return _overview(page, errors_from_validation("person", exc, {}))

    checked = await run_in_unit_of_work(request, check, write=False)
    if isinstance(checked, Response):
        return checked
    body = checked
    password_hash = None
    if body.password is not None:
        password_hash = await password_checks(request).hashed(body.password)

    def add(session: Session, now: datetime) -> Response:
        page = change_page_in(request, session, now, form)
        return _admin_change(
            page,
            "person",
            lambda: api.add_hashed_person(body, password_hash, page.session, page.actor),
            "Person added.",
            lambda e: _overview(page, e),
            "/admin#people",
        )

    return await run_in_unit_of_work(request, add, write=True)


@router.post("/services")
def add_service(page: ChangePage) -> Response:
    return _admin_change(
        page,
        "service",
        lambda: api.add_service(
            model_from_form(api.ServiceIn, _fields(page)), page.session, page.actor
        ),
        "Service added to the catalog.",
        lambda e: _overview(page, e),
        "/admin#catalog",
    )


@router.post("/teams/{team_id}/roles")
def set_roles(team_id: Id, page: ChangePage) -> Response:
    def act() -> None:
        values = {k: page.form.get(k) for k in ("lead_id", "duty_owner_id")}
        body = api.TeamPatch.model_validate({k: (v or None) for k, v in values.items()})
        api.patch_team(team_id, body, page.session, page.actor)

    return _admin_change(
        page,
        "roles",
        act,
        "Lead and duty owner saved.",
        lambda e: _team_page(page, team_id, e),
        f"/admin/teams/{team_id}",
    )


@router.post("/teams/{team_id}/members")
def add_member(team_id: Id, page: ChangePage) -> Response:
    return _admin_change(
        page,
        "member",
        lambda: api.add_member(
            team_id, model_from_form(api.MemberIn, page.form), page.session, page.actor
        ),
        "Member added.",
        lambda e: _team_page(page, team_id, e),
        f"/admin/teams/{team_id}",
    )


@router.post("/teams/{team_id}/holidays")
def add_holiday(team_id: Id, page: ChangePage) -> Response:
    return _admin_change(
        page,
        "holiday",
        lambda: api.add_holiday(
            team_id, model_from_form(api.HolidayIn, page.form), page.session, page.actor
        ),
        "Holiday added. Targets skip it from now on.",
        lambda e: _team_page(page, team_id, e),
        f"/admin/teams/{team_id}",
    )
