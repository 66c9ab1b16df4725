"""HTTP API for the organisation and the service catalog. Reading is open to everyone signed in;
changing it is for admins, and every change after the first setting-up is audited as an event
(org.admin)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from followthrough.auth.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, password_checks
from followthrough.errors import InvalidInput
from followthrough.fields import AutoCloseDays, Hours, Id
from followthrough.history.models import Event
from followthrough.history.payloads import EventKind
from followthrough.org import admin as audited
from followthrough.org import service
from followthrough.org.actors import Actor
from followthrough.org.models import Department, Holiday, Membership, Person, Service, Team
from followthrough.timescale.rules import SOURCE_NAMES, EstimateBasis
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
    """Only the fields sent change. The calendar's fields not sent keep their values."""

    lead_id: Id | None = None
    duty_owner_id: Id | None = None
    timezone: str | None = Field(default=None, max_length=64, description="IANA name")
    day_start: str | None = Field(default=None, pattern=r"^\d{2}:\d{2}$")
    day_end: str | None = Field(default=None, pattern=r"^\d{2}:\d{2}$")
    working_days: str | None = Field(
        default=None, pattern=r"^[1-7]{1,7}$", description="ISO weekdays, 1 = Monday"
    )


CALENDAR_FIELDS = ("timezone", "day_start", "day_end", "working_days")


class TeamOut(BaseModel):
    id: int
    department_id: int
    name: str
    timezone: str
    day_start: str
    day_end: str
    working_days: str
    hours: str = Field(
        description='The working week in words, e.g. "Mon\u2013Fri 09:00\u201317:30"'
    )
    lead_id: int | None
    duty_owner_id: int | None
    is_triage: bool
    member_ids: list[int]
    holidays: list[date]
    holiday_names: dict[str, str] = Field(description="Each holiday's name, by ISO date")


class MemberIn(Input):
    person_id: Id


class HolidayIn(Input):
    day: date
    name: str = Field(default="", max_length=120)


class PersonIn(Input):
    handle: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(min_length=3, max_length=254)
    password: str | None = Field(
        default=None, min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH
    )
    is_admin: bool = False


class PersonOut(BaseModel):
    id: int
    handle: str
    name: str
    email: str
    is_admin: bool
    active: bool = True
    team_ids: list[int]


class DeactivationOut(BaseModel):
    person: PersonOut
    handed_on: dict[int, int] = Field(description="Each request handed on, and its new owner")
    offers_withdrawn: list[int]


class PasswordResetOut(BaseModel):
    reset_url: str = Field(description="Pass it to the person; it works once, until expires_at")
    expires_at: datetime


class AuditEventOut(BaseModel):
    id: int
    kind: str
    at: datetime
    actor_id: int | None
    team_id: int | None
    person_id: int | None
    payload: dict[str, Any]


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


class ServicePatch(Input):
    """New targets, within the bounds of a new service; only the targets sent change."""

    accept_target_hours: Hours | None = None
    update_every_hours: Hours | None = None
    resolve_target_hours: Hours | None = None
    auto_close_days: AutoCloseDays | None = None


class TimescaleOut(BaseModel):
    service_id: int
    likely_business_hours: float
    median_business_hours: float | None
    basis: str
    from_history: bool
    source: EstimateBasis = Field(description="Where the estimate comes from")
    source_name: str = Field(description="The source as every page names it")


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
    holidays = list(
        session.execute(
            select(Holiday.day, Holiday.name)
            .where(Holiday.team_id == team.id)
            .order_by(Holiday.day)
        )
    )
    return TeamOut(
        id=team.id,
        department_id=team.department_id,
        name=team.name,
        timezone=team.timezone,
        day_start=_hhmm(team.day_start_minute),
        day_end=_hhmm(team.day_end_minute),
        working_days=team.working_days,
        hours=audited.hours_in_words(team),
        lead_id=team.lead_id,
        duty_owner_id=team.duty_owner_id,
        is_triage=team.is_triage,
        member_ids=sorted(members),
        holidays=[day for day, _name in holidays],
        holiday_names={day.isoformat(): name for day, name in holidays},
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
def add_department(
    body: DepartmentIn, session: DbSession, admin: AdminActor, now: Now
) -> DepartmentOut:
    """Audited, like every admin change."""
    department = audited.add_department(session, admin, body.name, now)
    return DepartmentOut(id=department.id, name=department.name)


@router.get("/teams", response_model=list[TeamOut])
def list_teams(session: DbSession, actor: CurrentActor) -> list[TeamOut]:
    return [_team_out(session, t) for t in session.scalars(select(Team).order_by(Team.name))]


@router.post("/teams", status_code=201, response_model=TeamOut)
def add_team(body: TeamIn, session: DbSession, admin: AdminActor, now: Now) -> TeamOut:
    """Its lead and duty owner become members. Audited, like every admin change."""
    team = audited.add_team(
        session,
        admin,
        body.department_id,
        body.name,
        timezone=body.timezone,
        day_start_minute=_minutes(body.day_start, "day_start"),
        day_end_minute=_minutes(body.day_end, "day_end"),
        working_days=body.working_days,
        lead_id=body.lead_id,
        duty_owner_id=body.duty_owner_id,
        is_triage=body.is_triage,
        now=now,
    )
    return _team_out(session, team)


@router.patch("/teams/{team_id}", response_model=TeamOut)
def patch_team(
    team_id: Id, body: TeamPatch, session: DbSession, admin: AdminActor, now: Now
) -> TeamOut:
    """Change the lead or the duty owner (who is accountable for new requests), or the working
    calendar (targets of requests opened from now on count in it). Audited."""
    sent = body.model_fields_set
    team = service.get_team(session, team_id)
    if sent & set(CALENDAR_FIELDS):
        day_start = body.day_start if "day_start" in sent else None
        day_end = body.day_end if "day_end" in sent else None
        audited.change_team_calendar(
            session,
            admin,
            team_id,
            timezone=body.timezone if body.timezone is not None else team.timezone,
            day_start_minute=(
                team.day_start_minute if day_start is None else _minutes(day_start, "day_start")
            ),
            day_end_minute=team.day_end_minute if day_end is None else _minutes(day_end, "day_end"),
            working_days=body.working_days if body.working_days is not None else team.working_days,
            now=now,
        )
    roles = {field: getattr(body, field) for field in sent if field in service.TEAM_ROLES}
    if roles:
        audited.change_team_roles(session, admin, team_id, roles, now)
    return _team_out(session, team)


@router.post("/teams/{team_id}/members", status_code=201, response_model=TeamOut)
def add_member(
    team_id: Id, body: MemberIn, session: DbSession, admin: AdminActor, now: Now
) -> TeamOut:
    return _team_out(session, audited.add_member(session, admin, team_id, body.person_id, now))


@router.delete("/teams/{team_id}/members/{person_id}", response_model=TeamOut)
def remove_member(
    team_id: Id, person_id: Id, session: DbSession, admin: AdminActor, now: Now
) -> TeamOut:
    """Take a person out of the team; its lead or duty owner must be replaced first (409)."""
    return _team_out(session, audited.remove_member(session, admin, team_id, person_id, now))


@router.post("/teams/{team_id}/holidays", status_code=201, response_model=TeamOut)
def add_holiday(
    team_id: Id, body: HolidayIn, session: DbSession, admin: AdminActor, now: Now
) -> TeamOut:
    audited.add_holiday(session, admin, team_id, body.day, body.name, now)
    return _team_out(session, service.get_team(session, team_id))


@router.delete("/teams/{team_id}/holidays/{day}", response_model=TeamOut)
def remove_holiday(
    team_id: Id, day: date, session: DbSession, admin: AdminActor, now: Now
) -> TeamOut:
    """The day counts as a working day again for requests opened from now on."""
    audited.remove_holiday(session, admin, team_id, day, now)
    return _team_out(session, service.get_team(session, team_id))


def _person_out(person: Person, team_ids: list[int]) -> PersonOut:
    return PersonOut(
        id=person.id,
        handle=person.handle,
        name=person.name,
        email=person.email,
        is_admin=person.is_admin,
        active=person.active,
        team_ids=sorted(team_ids),
    )


def _team_ids_of(session: Session, person_id: int) -> list[int]:
    return list(
        session.scalars(select(Membership.team_id).where(Membership.person_id == person_id))
    )


@router.get("/people", response_model=list[PersonOut])
def list_people(
    session: DbSession, actor: CurrentActor, include_inactive: bool = False
) -> list[PersonOut]:
    """The people who work here; `include_inactive` adds the deactivated ones, for admins."""
    teams: dict[int, list[int]] = {}
    for team_id, person_id in session.execute(select(Membership.team_id, Membership.person_id)):
        teams.setdefault(person_id, []).append(team_id)
    query = select(Person).order_by(Person.name)
    if not (include_inactive and actor.is_admin):
        query = query.where(Person.active.is_(True))
    return [_person_out(p, teams.get(p.id, [])) for p in session.scalars(query)]


@router.post("/people/{person_id}/deactivate", response_model=DeactivationOut)
def deactivate_person(
    person_id: Id, session: DbSession, admin: AdminActor, now: Now
) -> DeactivationOut:
    """They can no longer sign in (sessions end, tokens are revoked) and are offered no work;
    each request they hold goes to the duty owner of the team holding it, and offers to them
    are withdrawn. 409 for oneself, or when a team would be left without a lead or duty owner."""
    done = audited.deactivate_person(session, admin, person_id, now)
    return DeactivationOut(
        person=_person_out(done.person, _team_ids_of(session, person_id)),
        handed_on=done.handed_on,
        offers_withdrawn=list(done.offers_withdrawn),
    )


@router.post("/people/{person_id}/reactivate", response_model=PersonOut)
def reactivate_person(person_id: Id, session: DbSession, admin: AdminActor, now: Now) -> PersonOut:
    """They may sign in again; tokens revoked on deactivation stay revoked."""
    person = audited.reactivate_person(session, admin, person_id, now)
    return _person_out(person, _team_ids_of(session, person_id))


@router.post("/people/{person_id}/password-reset", status_code=201, response_model=PasswordResetOut)
def password_reset(
    person_id: Id, request: Request, session: DbSession, admin: AdminActor, now: Now
) -> PasswordResetOut:
    """A one-time link for the person to choose a new password (the admin never learns it);
    shown once, valid for 24 hours, and it replaces any earlier link."""
    secret, expires_at = audited.issue_password_reset(session, admin, person_id, now)
    return PasswordResetOut(reset_url=reset_url(request, secret), expires_at=expires_at)


def reset_url(request: Request, secret: str) -> str:
    return str(request.url_for("reset_form").include_query_params(token=secret))


# The admin's changes to the organisation, newest first (request events have their own list).
AUDIT_KINDS = (
    EventKind.DEPARTMENT_ADDED,
    EventKind.TEAM_ADDED,
    EventKind.PERSON_ADDED,
    EventKind.SERVICE_ADDED,
    EventKind.SERVICE_CHANGED,
    EventKind.ORGANISATION_IMPORTED,
    EventKind.SERVICE_MAIL_ADDRESS_SET,
    EventKind.MAIL_ADDRESS_FIXED,
    EventKind.MAIL_SENT_AGAIN,
    EventKind.CHAT_CHANNEL_SWITCHED_OFF,
    EventKind.CHAT_CHANNEL_SWITCHED_ON,
    EventKind.TEAM_CALENDAR_CHANGED,
    EventKind.TEAM_ROLES_CHANGED,
    EventKind.HOLIDAY_ADDED,
    EventKind.HOLIDAY_REMOVED,
    EventKind.MEMBER_ADDED,
    EventKind.MEMBER_REMOVED,
    EventKind.PERSON_DEACTIVATED,
    EventKind.PERSON_REACTIVATED,
    EventKind.PASSWORD_RESET_ISSUED,
    EventKind.PASSWORD_CHANGED,
)


def audit_events(session: Session, limit: int) -> list[AuditEventOut]:
    rows = session.scalars(
        select(Event)
        .where(Event.request_id.is_(None), Event.kind.in_([k.value for k in AUDIT_KINDS]))
        .order_by(Event.id.desc())
        .limit(limit)
    )
    return [
        AuditEventOut(
            id=e.id,
            kind=e.kind,
            at=e.at,
            actor_id=e.actor_id,
            team_id=e.team_id,
            person_id=e.person_id,
            payload=dict(e.payload or {}),
        )
        for e in rows
    ]


@router.get("/audit", response_model=list[AuditEventOut])
def audit(
    session: DbSession, admin: AdminActor, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> list[AuditEventOut]:
    """Who changed the organisation, and what: the latest changes first."""
    return audit_events(session, limit)


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
        return add_hashed_person(body, password_hash, session, admin(session, now), now)

    return await run_in_unit_of_work(request, add, write=True)


def add_hashed_person(
    body: PersonIn, password_hash: str | None, session: Session, admin: Actor, now: datetime
) -> PersonOut:
    """Adds the person, whose password (if any) was hashed beforehand, off the transaction.
    Audited, like every admin change."""
    admin_actor(admin)
    person = audited.add_person(
        session,
        admin,
        body.handle,
        body.name,
        body.email,
        password_hash=password_hash,
        is_admin=body.is_admin,
        now=now,
    )
    return _person_out(person, [])


@router.get("/services", response_model=list[ServiceOut])
def list_services(
    session: DbSession, actor: CurrentActor, team_id: Id | None = None
) -> list[ServiceOut]:
    query = select(Service).where(Service.active.is_(True)).order_by(Service.name)
    if team_id is not None:
        query = query.where(Service.team_id == team_id)
    return [_service_out(s) for s in session.scalars(query)]


@router.post("/services", status_code=201, response_model=ServiceOut)
def add_service(body: ServiceIn, session: DbSession, admin: AdminActor, now: Now) -> ServiceOut:
    """Audited, like every admin change."""
    created = audited.add_service(
        session,
        admin,
        body.team_id,
        body.name,
        description=body.description,
        confidential=body.confidential,
        targets=body.model_dump(include=set(audited.TARGET_NAMES)),
        now=now,
    )
    return _service_out(created)


@router.patch("/services/{service_id}", response_model=ServiceOut)
def patch_service(
    service_id: Id, body: ServicePatch, session: DbSession, admin: AdminActor, now: Now
) -> ServiceOut:
    """New targets for the service: requests opened from now on get them; open ones keep the
    clocks they were given. Audited with the old and new values."""
    targets = {
        name: value for name in body.model_fields_set if (value := getattr(body, name)) is not None
    }
    return _service_out(audited.change_service_targets(session, admin, service_id, targets, now))


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
        source=estimate.kind,
        source_name=SOURCE_NAMES[estimate.kind],
    )
