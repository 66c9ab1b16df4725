"""HTTP API for the organisation and the service catalog. Reading is open to everyone signed in;
changing it is for admins."""

from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from followthrough.auth.passwords import password_checks
from followthrough.errors import InvalidInput
from followthrough.fields import AutoCloseDays, Hours, Id
from followthrough.org import service
from followthrough.org.actors import Actor
from followthrough.org.models import Department, Holiday, Membership, Person, Service, Team
from followthrough.timescale.service import estimate_for_service
from followthrough.web.deps import (
    AdminActor,
    CurrentActor,
    DbSession,
    Now,
    UnitOfWorkRoute,
    admin_actor,
    current_actor,
    run_in_unit_of_work,
)
from followthrough.web.schemas import Input

router = APIRouter(route_class=UnitOfWorkRoute, tags=["organisation"])


class DepartmentIn(Input):
    name: str = Field(min_length=1, max_length=120)


class DepartmentOut(BaseModel):
    id: int
    name: str


class TeamIn(Input):
    department_id: Id
    name: str = Field(min_length=1, max_length=120)
    timezone: str = "UTC"
    day_start: str = Field(default="09:00", pattern=r"^\d{2}:\d{2}$")
    day_end: str = Field(default="17:00", pattern=r"^\d{2}:\d{2}$")
    working_days: str = Field(default="12345", pattern=r"^[1-7]{1,7}$", description="ISO weekdays")
    lead_id: Id | None = None
    duty_owner_id: Id | None = None
    is_triage: bool = False


class TeamPatch(Input):
    lead_id: Id | None = None
    duty_owner_id: Id | None = None


class TeamOut(BaseModel):
    id: int
    department_id: int
    name: str
    timezone: str
    day_start: str
    day_end: str
    working_days: str
    lead_id: int | None
    duty_owner_id: int | None
    is_triage: bool
    member_ids: list[int]
    holidays: list[date]


class MemberIn(Input):
    person_id: Id


class HolidayIn(Input):
    day: date
    name: str = Field(default="", max_length=120)


class PersonIn(Input):
    handle: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(min_length=3, max_length=254)
    password: str | None = Field(default=None, min_length=8, max_length=200)
    is_admin: bool = False


class PersonOut(BaseModel):
    id: int
    handle: str
    name: str
    email: str
    is_admin: bool
    team_ids: list[int]


class ServiceIn(Input):
    team_id: Id
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)
    confidential: bool = False
    accept_target_hours: Hours = 4.0
    update_every_hours: Hours = 8.0
    resolve_target_hours: Hours = 24.0
    auto_close_days: AutoCloseDays = 5


class ServiceOut(BaseModel):
    id: int
    team_id: int
    name: str
    description: str
    confidential: bool
    accept_target_hours: float
    update_every_hours: float
    resolve_target_hours: float
    auto_close_days: int


class TimescaleOut(BaseModel):
    service_id: int
    likely_business_hours: float
    median_business_hours: float | None
    basis: str
    from_history: bool


def _minutes(text: str, field: str) -> int:
    hours, minutes = (int(part) for part in text.split(":"))
    if hours > 24 or minutes > 59 or hours * 60 + minutes > 24 * 60:
        raise InvalidInput(f"{field} must be a time of day HH:MM", field=field)
    return hours * 60 + minutes


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _team_out(session: DbSession, team: Team) -> TeamOut:
    members = list(
        session.scalars(select(Membership.person_id).where(Membership.team_id == team.id))
    )
    days = list(
        session.scalars(select(Holiday.day).where(Holiday.team_id == team.id).order_by(Holiday.day))
    )
    return TeamOut(
        id=team.id,
        department_id=team.department_id,
        name=team.name,
        timezone=team.timezone,
        day_start=_hhmm(team.day_start_minute),
        day_end=_hhmm(team.day_end_minute),
        working_days=team.working_days,
        lead_id=team.lead_id,
        duty_owner_id=team.duty_owner_id,
        is_triage=team.is_triage,
        member_ids=sorted(members),
        holidays=days,
    )


def _service_out(s: Service) -> ServiceOut:
    return ServiceOut(
        id=s.id,
        team_id=s.team_id,
        name=s.name,
        description=s.description,
        confidential=s.confidential,
        accept_target_hours=s.accept_target_hours,
        update_every_hours=s.update_every_hours,
        resolve_target_hours=s.resolve_target_hours,
        auto_close_days=s.auto_close_days,
    )


@router.get("/departments", response_model=list[DepartmentOut])
def list_departments(session: DbSession, actor: CurrentActor) -> list[DepartmentOut]:
    return [
        DepartmentOut(id=d.id, name=d.name)
        for d in session.scalars(select(Department).order_by(Department.name))
    ]


@router.post("/departments", status_code=201, response_model=DepartmentOut)
def add_department(body: DepartmentIn, session: DbSession, admin: AdminActor) -> DepartmentOut:
    department = service.add_department(session, body.name)
    return DepartmentOut(id=department.id, name=department.name)


@router.get("/teams", response_model=list[TeamOut])
def list_teams(session: DbSession, actor: CurrentActor) -> list[TeamOut]:
    return [_team_out(session, t) for t in session.scalars(select(Team).order_by(Team.name))]


@router.post("/teams", status_code=201, response_model=TeamOut)
def add_team(body: TeamIn, session: DbSession, admin: AdminActor) -> TeamOut:
    team = service.add_team(
        session,
        body.department_id,
        body.name,
        timezone=body.timezone,
        day_start_minute=_minutes(body.day_start, "day_start"),
        day_end_minute=_minutes(body.day_end, "day_end"),
        working_days=body.working_days,
        lead_id=body.lead_id,
        duty_owner_id=body.duty_owner_id,
        is_triage=body.is_triage,
    )
    return _team_out(session, team)


@router.patch("/teams/{team_id}", response_model=TeamOut)
def patch_team(team_id: Id, body: TeamPatch, session: DbSession, admin: AdminActor) -> TeamOut:
    """Change the lead or the duty owner (who is accountable for new requests)."""
    roles = {field: getattr(body, field) for field in body.model_fields_set}
    return _team_out(session, service.set_team_roles(session, team_id, roles))


@router.post("/teams/{team_id}/members", status_code=201, response_model=TeamOut)
def add_member(team_id: Id, body: MemberIn, session: DbSession, admin: AdminActor) -> TeamOut:
    service.add_member(session, team_id, body.person_id)
    return _team_out(session, service.get_team(session, team_id))


@router.post("/teams/{team_id}/holidays", status_code=201, response_model=TeamOut)
def add_holiday(team_id: Id, body: HolidayIn, session: DbSession, admin: AdminActor) -> TeamOut:
    service.add_holiday(session, team_id, body.day, body.name)
    return _team_out(session, service.get_team(session, team_id))


@router.get("/people", response_model=list[PersonOut])
def list_people(session: DbSession, actor: CurrentActor) -> list[PersonOut]:
    teams: dict[int, list[int]] = {}
    for team_id, person_id in session.execute(select(Membership.team_id, Membership.person_id)):
        teams.setdefault(person_id, []).append(team_id)
    return [
        PersonOut(
            id=p.id,
            handle=p.handle,
            name=p.name,
            email=p.email,
            is_admin=p.is_admin,
            team_ids=sorted(teams.get(p.id, [])),
        )
        for p in session.scalars(
            select(Person).where(Person.active.is_(True)).order_by(Person.name)
        )
    ]


@router.post("/people", status_code=201, response_model=PersonOut)
async def add_person(body: PersonIn, request: Request) -> PersonOut:
    """Three steps, so no transaction is open while a password is hashed: check the caller is an
    admin, hash the password on the password lane, then add the person."""

    def admin(session: Session, now: datetime) -> Actor:
        return admin_actor(current_actor(request, session, now))

    await run_in_unit_of_work(request, admin, write=False)
    password_hash = None
    if body.password is not None:
        password_hash = await password_checks(request).hashed(body.password)

    def add(session: Session, now: datetime) -> PersonOut:
        return add_hashed_person(body, password_hash, session, admin(session, now))

    return await run_in_unit_of_work(request, add, write=True)


def add_hashed_person(
    body: PersonIn, password_hash: str | None, session: Session, admin: Actor
) -> PersonOut:
    """Adds the person, whose password (if any) was hashed beforehand, off the transaction."""
    admin_actor(admin)
    person = service.add_person(
        session,
        body.handle,
        body.name,
        body.email,
        password_hash=password_hash,
        is_admin=body.is_admin,
    )
    return PersonOut(
        id=person.id,
        handle=person.handle,
        name=person.name,
        email=person.email,
        is_admin=person.is_admin,
        team_ids=[],
    )


@router.get("/services", response_model=list[ServiceOut])
def list_services(
    session: DbSession, actor: CurrentActor, team_id: Id | None = None
) -> list[ServiceOut]:
    query = select(Service).where(Service.active.is_(True)).order_by(Service.name)
    if team_id is not None:
        query = query.where(Service.team_id == team_id)
    return [_service_out(s) for s in session.scalars(query)]


@router.post("/services", status_code=201, response_model=ServiceOut)
def add_service(body: ServiceIn, session: DbSession, admin: AdminActor) -> ServiceOut:
    created = service.add_service(session, **body.model_dump())
    return _service_out(created)


@router.get("/services/{service_id}/timescale", response_model=TimescaleOut)
def service_timescale(
    service_id: Id, session: DbSession, actor: CurrentActor, now: Now
) -> TimescaleOut:
    """What a new request for this service can expect, before it is raised."""
    service.get_service(session, service_id)
    estimate = estimate_for_service(session, service_id, now)
    return TimescaleOut(
        service_id=service_id,
        likely_business_hours=estimate.likely_hours,
        median_business_hours=estimate.median_hours,
        basis=estimate.basis,
        from_history=estimate.from_history,
    )
