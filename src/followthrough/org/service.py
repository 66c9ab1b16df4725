"""Organisation services: calendars, people's teams, and managing the org and catalog."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import cache
from zoneinfo import available_timezones

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from followthrough.db import row_to_change
from followthrough.errors import Conflict, InvalidInput, NotFound
from followthrough.org.actors import Actor
from followthrough.org.models import Department, Holiday, Membership, Person, Service, Team
from followthrough.org.rules import WorkingCalendar
from followthrough.org.snapshot import org_snapshot


def calendar_of(team: Team, holidays: list[date]) -> WorkingCalendar:
    return WorkingCalendar(
        timezone=team.timezone,
        day_start_minute=team.day_start_minute,
        day_end_minute=team.day_end_minute,
        working_days=frozenset(int(d) for d in team.working_days),
        holidays=frozenset(holidays),
    )


def team_calendar(session: Session, team_id: int) -> WorkingCalendar:
    """The team's working calendar, from the organisation as this transaction sees it."""
    return org_snapshot(session).team(team_id).calendar


def get_team(session: Session, team_id: int) -> Team:
    team = session.get(Team, team_id)
    if team is None:
        raise NotFound(f"team {team_id} does not exist", field="team_id")
    return team


def get_person(session: Session, person_id: int, field: str = "person_id") -> Person:
    person = session.get(Person, person_id)
    if person is None or not person.active:
        raise NotFound(f"person {person_id} does not exist", field=field)
    return person


def get_anyone(session: Session, person_id: int, field: str = "person_id") -> Person:
    """A person, deactivated or not (an admin's pages show both)."""
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound(f"person {person_id} does not exist", field=field)
    return person


def get_service(session: Session, service_id: int, field: str = "service_id") -> Service:
    service = session.get(Service, service_id)
    if service is None or not service.active:
        raise NotFound(f"service {service_id} does not exist", field=field)
    return service


def actor_for(session: Session, person: Person) -> Actor:
    """The authorisation facts about a person: their teams and the teams they lead."""
    return actor_of(session, person.id)


def actor_of(session: Session, person_id: int) -> Actor:
    """As actor_for, from the organisation snapshot alone."""
    org = org_snapshot(session)
    lead_of = org.leads.get(person_id, frozenset())
    person = org.people.get(person_id)
    return Actor(
        person_id=person_id,
        is_admin=person is not None and person.is_admin,
        team_ids=org.member_of.get(person_id, frozenset()) | lead_of,
        lead_of=lead_of,
    )


def add_department(session: Session, name: str) -> Department:
    name = name.strip()
    if not name:
        raise InvalidInput("name must not be empty", field="name")
    if session.scalar(select(Department).where(Department.name == name)) is not None:
        raise Conflict(f"department {name!r} already exists", field="name")
    department = Department(name=name)
    session.add(department)
    session.flush()
    return department


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _check_calendar(
    timezone: str, day_start_minute: int, day_end_minute: int, working_days: str
) -> None:
    """InvalidInput naming the field when a team could not work these hours."""
    if timezone not in _time_zones():
        raise InvalidInput(f"{timezone!r} is not a time zone name", field="timezone")
    if not working_days or any(d not in "1234567" for d in working_days):
        raise InvalidInput("working days must be weekdays 1 (Monday) to 7", field="working_days")
    if not 0 <= day_start_minute < day_end_minute <= 24 * 60:
        raise InvalidInput("the day must end after it starts", field="day_end")
    try:
        calendar_of(
            Team(
                timezone=timezone,
                day_start_minute=day_start_minute,
                day_end_minute=day_end_minute,
                working_days=working_days,
            ),
            [],
        )
    except (ValueError, KeyError) as exc:
        raise InvalidInput(f"invalid working calendar: {exc}", field="timezone") from exc


def add_team(
    session: Session,
    department_id: int,
    name: str,
    *,
    timezone: str = "UTC",
    day_start_minute: int = 9 * 60,
    day_end_minute: int = 17 * 60,
    working_days: str = "12345",
    lead_id: int | None = None,
    duty_owner_id: int | None = None,
    is_triage: bool = False,
) -> Team:
    if session.get(Department, department_id) is None:
        raise NotFound(f"department {department_id} does not exist", field="department_id")
    name = name.strip()
    if not name:
        raise InvalidInput("name must not be empty", field="name")
    if session.scalar(select(Team).where(Team.name == name)) is not None:
        raise Conflict(f"team {name!r} already exists", field="name")
    _check_calendar(timezone, day_start_minute, day_end_minute, working_days)
    for field, person_id in (("lead_id", lead_id), ("duty_owner_id", duty_owner_id)):
        if person_id is not None:
            get_person(session, person_id, field)
    team = Team(
        department_id=department_id,
        name=name,
        timezone=timezone,
        day_start_minute=day_start_minute,
        day_end_minute=day_end_minute,
        working_days=working_days,
        lead_id=lead_id,
        duty_owner_id=duty_owner_id,
        is_triage=is_triage,
    )
    session.add(team)
    session.flush()
    for person_id in {lead_id, duty_owner_id} - {None}:
        assert person_id is not None
        add_member(session, team.id, person_id)
    return team


TEAM_ROLES = ("lead_id", "duty_owner_id")


def set_team_roles(session: Session, team_id: int, roles: Mapping[str, int | None]) -> Team:
    """Change a team's lead and/or duty owner; a new role holder also becomes a member.

    Clearing the duty owner makes the lead accountable for new requests again.
    """
    team = get_team(session, team_id)
    for role, person_id in roles.items():
        if role not in TEAM_ROLES:
            raise InvalidInput(f"{role} is not a team role", field=role)
        if person_id is not None:
            get_person(session, person_id, role)
            add_member(session, team.id, person_id)
        setattr(team, role, person_id)
    session.flush()
    return team


def add_member(session: Session, team_id: int, person_id: int) -> None:
    get_team(session, team_id)
    get_person(session, person_id)
    row_to_change(
        session,
        Membership,
        {"team_id": team_id, "person_id": person_id},
        lambda: Membership(team_id=team_id, person_id=person_id),
    )


def add_person(
    session: Session,
    handle: str,
    name: str,
    email: str,
    *,
    password_hash: str | None = None,
    is_admin: bool = False,
) -> Person:
    handle = handle.strip().lower()
    if not handle or not handle.replace(".", "").replace("-", "").replace("_", "").isalnum():
        raise InvalidInput("handle must be letters, digits, '.', '-' or '_'", field="handle")
    if "@" not in email:
        raise InvalidInput("email must be an email address", field="email")
    if session.scalar(select(Person).where(Person.handle == handle)) is not None:
        raise Conflict(f"a person with handle {handle!r} already exists", field="handle")
    if session.scalar(select(Person).where(Person.email == email)) is not None:
        raise Conflict(f"a person with email {email!r} already exists", field="email")
    person = Person(
        handle=handle,
        name=name.strip() or handle,
        email=email,
        password_hash=password_hash,
        is_admin=is_admin,
    )
    session.add(person)
    session.flush()
    return person


def add_holiday(session: Session, team_id: int, day: date, name: str = "") -> Holiday:
    get_team(session, team_id)
    holiday = Holiday(team_id=team_id, day=day, name=name)
    session.add(holiday)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise Conflict(f"{day} is already a holiday for team {team_id}", field="day") from exc
    return holiday


def add_service(
    session: Session,
    team_id: int,
    name: str,
    *,
    description: str = "",
    confidential: bool = False,
    accept_target_hours: float = 4.0,
    update_every_hours: float = 8.0,
    resolve_target_hours: float = 24.0,
    auto_close_days: int = 5,
) -> Service:
    get_team(session, team_id)
    name = name.strip()
    if not name:
        raise InvalidInput("name must not be empty", field="name")
    for field, value in (
        ("accept_target_hours", accept_target_hours),
        ("update_every_hours", update_every_hours),
        ("resolve_target_hours", resolve_target_hours),
    ):
        if value <= 0:
            raise InvalidInput(f"{field} must be greater than 0", field=field)
    if auto_close_days < 1:
        raise InvalidInput("auto_close_days must be at least 1", field="auto_close_days")
    exists = select(Service).where(Service.team_id == team_id, Service.name == name)
    if session.scalar(exists) is not None:
        raise Conflict(f"team {team_id} already offers {name!r}", field="name")
    service = Service(
        team_id=team_id,
        name=name,
        description=description,
        confidential=confidential,
        accept_target_hours=accept_target_hours,
        update_every_hours=update_every_hours,
        resolve_target_hours=resolve_target_hours,
        auto_close_days=auto_close_days,
    )
    session.add(service)
    session.flush()
    return service


# -- an admin's edits (the audit events are written by org.admin, above the history) -------------

SERVICE_TARGETS = (
    "accept_target_hours",
    "update_every_hours",
    "resolve_target_hours",
    "auto_close_days",
)


def set_service_targets(
    session: Session, service_id: int, targets: Mapping[str, float | int]
) -> dict[str, tuple[float | int, float | int]]:
    """Change a service's targets, within the bounds a new service has; returns each changed
    target's (old, new) value. Requests already open keep the clocks they were given."""
    found = get_service(session, service_id)
    changed: dict[str, tuple[float | int, float | int]] = {}
    for name in targets:
        if name not in SERVICE_TARGETS:
            raise InvalidInput(f"{name} is not a target", field=name)
    # In the catalog's order, whatever order they came in: the audit reads the same each time.
    for name in (n for n in SERVICE_TARGETS if n in targets):
        value = targets[name]
        if name == "auto_close_days":
            if int(value) != value or value < 1:
                raise InvalidInput("auto_close_days must be at least 1", field=name)
        elif value <= 0:
            raise InvalidInput(f"{name} must be greater than 0", field=name)
        old = getattr(found, name)
        if old != value:
            changed[name] = (old, value)
            setattr(found, name, value)
    session.flush()
    return changed


def set_team_calendar(
    session: Session,
    team_id: int,
    *,
    timezone: str,
    day_start_minute: int,
    day_end_minute: int,
    working_days: str,
) -> Team:
    """Change a team's working hours; targets of requests opened from now on count in them."""
    team = get_team(session, team_id)
    working_days = "".join(sorted(set(working_days)))
    _check_calendar(timezone, day_start_minute, day_end_minute, working_days)
    team.timezone = timezone
    team.day_start_minute = day_start_minute
    team.day_end_minute = day_end_minute
    team.working_days = working_days
    session.flush()
    return team


def remove_holiday(session: Session, team_id: int, day: date) -> Holiday:
    """Take a day off the team's holidays; returns the removed row."""
    get_team(session, team_id)
    holiday = session.scalar(select(Holiday).where(Holiday.team_id == team_id, Holiday.day == day))
    if holiday is None:
        raise NotFound(f"{day} is not a holiday of team {team_id}", field="day")
    session.delete(holiday)
    session.flush()
    return holiday


def is_member(session: Session, team_id: int, person_id: int) -> bool:
    return session.get(Membership, (team_id, person_id)) is not None


def remove_member(session: Session, team_id: int, person_id: int) -> None:
    """Take a person out of a team; its lead or duty owner must first be replaced."""
    team = get_team(session, team_id)
    membership = session.get(Membership, (team_id, person_id))
    if membership is None:
        raise NotFound(f"person {person_id} is not a member of {team.name}", field="person_id")
    if person_id in (team.lead_id, team.duty_owner_id):
        role = "lead" if person_id == team.lead_id else "duty owner"
        raise Conflict(
            f"they are the {role} of {team.name}: choose another {role} first", field="person_id"
        )
    session.delete(membership)
    session.flush()


def roles_held(session: Session, person_id: int) -> list[Team]:
    """The teams the person leads or is the duty owner of."""
    return list(
        session.scalars(
            select(Team)
            .where((Team.lead_id == person_id) | (Team.duty_owner_id == person_id))
            .order_by(Team.name)
        )
    )


def deactivate(session: Session, person_id: int, by_id: int) -> tuple[Person, list[Team]]:
    """The person may no longer sign in or be given work; the roles they held are cleared.
    Returns them and the teams whose roles changed. Refused for oneself, and when a team would
    be left with neither a lead nor a duty owner (nobody would be accountable for new requests).
    Their open work is the caller's to hand on."""
    person = get_person(session, person_id)
    if person_id == by_id:
        raise Conflict("you cannot deactivate yourself", field="person_id")
    teams = roles_held(session, person_id)
    for team in teams:
        others = {team.lead_id, team.duty_owner_id} - {person_id, None}
        if not others:
            raise Conflict(
                f"{person.name} is the only lead and duty owner of {team.name}: "
                "choose another duty owner first",
                field="person_id",
            )
    for team in teams:
        if team.lead_id == person_id:
            team.lead_id = None
        if team.duty_owner_id == person_id:
            team.duty_owner_id = None
    person.active = False
    session.flush()
    return person, teams


def reactivate(session: Session, person_id: int) -> Person:
    person = get_anyone(session, person_id)
    if person.active:
        raise Conflict(f"{person.name} is already active", field="person_id")
    person.active = True
    session.flush()
    return person
