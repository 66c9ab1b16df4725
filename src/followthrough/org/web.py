"""Admin pages: departments, teams (lead, duty owner, members, calendar, holidays), people
(deactivate, reactivate, new-password links) and the service catalog with its targets. Each form
validates with the API's input model and calls the API's own function, so a page can do exactly
what the API allows and nothing else, audited the same way."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from followthrough.auth.passwords import password_checks
from followthrough.errors import InvalidInput, NotFound
from followthrough.fields import Id
from followthrough.org import api
from followthrough.org.admin import WEEKDAYS
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


# How many of the latest changes the admin page lists.
AUDIT_SHOWN = 20


def _overview(
    page: Page,
    errors: FormErrors | None = None,
    reset_link: tuple[str, str, datetime] | None = None,
) -> Response:
    admin_actor(page.actor)
    people = api.list_people(page.session, page.actor, include_inactive=True)
    teams = api.list_teams(page.session, page.actor)
    services = api.list_services(page.session, page.actor)
    return page.render(
        "admin.html",
        status=200 if errors is None else errors.status,
        departments=api.list_departments(page.session, page.actor),
        teams=teams,
        team_names={t.id: t.name for t in teams},
        people=people,
        names={p.id: p.name for p in people},
        services=services,
        service_names={s.id: s.name for s in services},
        audit=api.audit_events(page.session, AUDIT_SHOWN),
        reset_link=reset_link,
        errors=errors,
    )


def _team_page(page: Page, team_id: int, errors: FormErrors | None = None) -> Response:
    admin_actor(page.actor)
    teams = api.list_teams(page.session, page.actor)
    team = next((t for t in teams if t.id == team_id), None)
    if team is None:
        raise NotFound(f"team {team_id} does not exist", field="team_id")
    everyone = api.list_people(page.session, page.actor, include_inactive=True)
    return page.render(
        "admin_team.html",
        status=200 if errors is None else errors.status,
        team=team,
        people=[p for p in everyone if p.active],
        names={p.id: p.name + ("" if p.active else " (deactivated)") for p in everyone},
        services=api.list_services(page.session, page.actor, team_id=team_id),
        weekdays=list(enumerate(WEEKDAYS, start=1)),
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
            model_from_form(api.DepartmentIn, page.form), page.session, page.actor, page.now
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
        lambda: api.add_team(
            model_from_form(api.TeamIn, _fields(page)), page.session, page.actor, page.now
        ),
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
            lambda: api.add_hashed_person(body, password_hash, page.session, page.actor, now),
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
            model_from_form(api.ServiceIn, _fields(page)), page.session, page.actor, page.now
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
        api.patch_team(team_id, body, page.session, page.actor, page.now)

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
            team_id, model_from_form(api.MemberIn, page.form), page.session, page.actor, page.now
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
            team_id, model_from_form(api.HolidayIn, page.form), page.session, page.actor, page.now
        ),
        "Holiday added. Targets skip it from now on.",
        lambda e: _team_page(page, team_id, e),
        f"/admin/teams/{team_id}",
    )


@router.post("/teams/{team_id}/members/remove")
def remove_member(team_id: Id, page: ChangePage) -> Response:
    def act() -> None:
        body = model_from_form(api.MemberIn, page.form)
        api.remove_member(team_id, body.person_id, page.session, page.actor, page.now)

    return _admin_change(
        page,
        "member",
        act,
        "Member removed. Requests they own stay theirs.",
        lambda e: _team_page(page, team_id, e),
        f"/admin/teams/{team_id}",
    )


@router.post("/teams/{team_id}/holidays/remove")
def remove_holiday(team_id: Id, page: ChangePage) -> Response:
    def act() -> None:
        raw = page.form.get("day")
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            raise InvalidInput("choose a holiday to remove", field="day") from None
        api.remove_holiday(team_id, day, page.session, page.actor, page.now)

    return _admin_change(
        page,
        "holiday",
        act,
        "Holiday removed. New requests' targets count it as a working day.",
        lambda e: _team_page(page, team_id, e),
        f"/admin/teams/{team_id}",
    )


@router.post("/teams/{team_id}/calendar")
def set_calendar(team_id: Id, page: ChangePage) -> Response:
    def act() -> None:
        days = "".join(sorted(set(page.form.getlist("working_days"))))
        if not days:
            raise InvalidInput("tick at least one working day", field="working_days")
        body = api.TeamPatch.model_validate(
            {
                "timezone": page.form.get("timezone").strip(),
                "day_start": page.form.get("day_start"),
                "day_end": page.form.get("day_end"),
                "working_days": days,
            }
        )
        api.patch_team(team_id, body, page.session, page.actor, page.now)

    return _admin_change(
        page,
        "calendar",
        act,
        "Working hours saved. Requests opened from now on count their targets in them.",
        lambda e: _team_page(page, team_id, e),
        f"/admin/teams/{team_id}",
    )


TARGETS = ("accept_target_hours", "update_every_hours", "resolve_target_hours", "auto_close_days")


@router.post("/services/{service_id}")
def set_targets(service_id: Id, page: ChangePage) -> Response:
    """From the team's page: one form per service, named after it so errors show beside it."""
    form = f"service-{service_id}"
    team_id = next(
        (s.team_id for s in api.list_services(page.session, page.actor) if s.id == service_id),
        None,
    )
    if team_id is None:
        raise NotFound(f"service {service_id} does not exist", field="service_id")

    def act() -> None:
        body = model_from_form(api.ServicePatch, page.form)
        api.patch_service(service_id, body, page.session, page.actor, page.now)

    return _admin_change(
        page,
        form,
        act,
        "Targets saved. Requests opened from now on get them; open ones keep theirs.",
        lambda e: _team_page(page, team_id, e),
        f"/admin/teams/{team_id}#service-{service_id}",
    )


def _person_form(person_id: int) -> str:
    return f"person-{person_id}"


@router.post("/people/{person_id}/deactivate")
def deactivate(person_id: Id, page: ChangePage) -> Response:
    done: list[api.DeactivationOut] = []

    def act() -> None:
        done.append(api.deactivate_person(person_id, page.session, page.actor, page.now))

    admin_actor(page.actor)
    errors = page.attempt(_person_form(person_id), act)
    if errors:
        return _overview(page, errors)
    result = done[0]
    handed = len(result.handed_on)
    names = {p.id: p.name for p in api.list_people(page.session, page.actor)}
    owners = sorted({names.get(o, "their team's duty owner") for o in result.handed_on.values()})
    flash = f"{result.person.name} can no longer sign in."
    if handed:
        flash += f" {handed} request{'s' if handed != 1 else ''} handed to {', '.join(owners)}."
    else:
        flash += " They held no open requests."
    if result.offers_withdrawn:
        count = len(result.offers_withdrawn)
        flash += (
            f" {count} offer{'s' if count != 1 else ''} to them withdrawn; the owners were told."
        )
    return page.redirect("/admin#people", flash)


@router.post("/people/{person_id}/reactivate")
def reactivate(person_id: Id, page: ChangePage) -> Response:
    return _admin_change(
        page,
        _person_form(person_id),
        lambda: api.reactivate_person(person_id, page.session, page.actor, page.now),
        "Reactivated: they can sign in again. Their old API tokens stay revoked.",
        lambda e: _overview(page, e),
        "/admin#people",
    )


@router.post("/people/{person_id}/password-reset")
def password_reset(person_id: Id, page: ChangePage) -> Response:
    """The link is shown once, on this answer, rather than after a redirect."""
    made: list[api.PasswordResetOut] = []
    admin_actor(page.actor)
    errors = page.attempt(
        _person_form(person_id),
        lambda: made.append(
            api.password_reset(person_id, page.request, page.session, page.actor, page.now)
        ),
    )
    if errors:
        return _overview(page, errors)
    name = next(
        (p.name for p in api.list_people(page.session, page.actor) if p.id == person_id), ""
    )
    return _overview(page, reset_link=(name, made[0].reset_url, made[0].expires_at))
