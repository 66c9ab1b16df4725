"""An admin's changes to the organisation, each with its audit event, in the caller's transaction.

`org.service` makes the changes to the organisation's rows; it sits below the history and the
requests, so it can neither write an event nor touch a request. This module sits with the
domains, above both: it makes each change through `org.service`, writes the event that says who
changed what, and when a person is deactivated hands their open work to their team's duty owner
through the requests' lifecycle (`lifecycle.reassign_owner`), one event per request.

Every function checks that the actor is an admin (the routes check it too); none commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from followthrough.auth import service as auth
from followthrough.errors import NotAllowed
from followthrough.history.payloads import (
    DepartmentAdded,
    HolidayAdded,
    HolidayRemoved,
    MemberAdded,
    MemberRemoved,
    OrganisationImported,
    PasswordChanged,
    PasswordResetIssued,
    PersonAdded,
    PersonDeactivated,
    PersonReactivated,
    ServiceAdded,
    ServiceChanged,
    TeamAdded,
    TeamCalendarChanged,
    TeamRolesChanged,
)
from followthrough.history.service import record_event
from followthrough.org import service
from followthrough.org.actors import Actor
from followthrough.org.models import Department, Holiday, Person, Service, Team
from followthrough.org.snapshot import org_snapshot
from followthrough.requests import lifecycle, rules
from followthrough.requests.lifecycle import Notice
from followthrough.requests.models import Offer, Request
from followthrough.requests.service import apply_change, facts_of, lock_request, offer_facts
from followthrough.requests.vocabulary import NotificationKind, OfferKind, OfferState

# The words for each target, as the admin pages label them.
TARGET_NAMES = {
    "accept_target_hours": "Accept within",
    "update_every_hours": "Update every",
    "resolve_target_hours": "Resolve within",
    "auto_close_days": "Auto-close after",
}
DASH = "\N{EN DASH}"
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise NotAllowed("only admins can manage the organisation")


def hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def working_days_in_words(days: str) -> str:
    """ISO weekday digits as a person writes them: "12345" is "Mon-Fri" (with an en dash), "1235" "Mon-Wed, Fri"."""
    numbers = sorted({int(d) for d in days})
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    parts = []
    for run in runs:
        first, last = WEEKDAYS[run[0] - 1], WEEKDAYS[run[-1] - 1]
        if len(run) == 1:
            parts.append(first)
        elif len(run) == 2:
            parts.append(f"{first}, {last}")
        else:
            parts.append(f"{first}{DASH}{last}")
    return ", ".join(parts)


def hours_in_words(team: Team) -> str:
    """A team's working week as a person writes it: "Mon-Fri 09:00-17:30" (en dashes)."""
    return (
        f"{working_days_in_words(team.working_days)} "
        f"{hhmm(team.day_start_minute)}{DASH}{hhmm(team.day_end_minute)}"
    )


def _value(name: str, value: float | int) -> str:
    if name == "auto_close_days":
        return f"{value:g} days"
    return f"{value:g} h"


# -- adding to the organisation -------------------------------------------------------------------


def add_department(session: Session, admin: Actor, name: str, now: datetime) -> Department:
    """A new department; audited with its name."""
    _require_admin(admin)
    department = service.add_department(session, name)
    record_event(
        session,
        DepartmentAdded(department_id=department.id, name=department.name),
        now,
        actor_id=admin.person_id,
    )
    return department


def record_organisation_import(
    session: Session, files: str, created: str, updated: str, now: datetime
) -> None:
    """An import of the organisation from files, audited in its own transaction with what it
    created and updated (it runs on the server's command line, so no person is the actor)."""
    record_event(session, OrganisationImported(files=files, created=created, updated=updated), now)


def add_team(
    session: Session,
    admin: Actor,
    department_id: int,
    name: str,
    *,
    timezone: str,
    day_start_minute: int,
    day_end_minute: int,
    working_days: str,
    lead_id: int | None,
    duty_owner_id: int | None,
    is_triage: bool,
    now: datetime,
) -> Team:
    """A new team (its lead and duty owner become members); audited with its hours and roles
    in words."""
    _require_admin(admin)
    team = service.add_team(
        session,
        department_id,
        name,
        timezone=timezone,
        day_start_minute=day_start_minute,
        day_end_minute=day_end_minute,
        working_days=working_days,
        lead_id=lead_id,
        duty_owner_id=duty_owner_id,
        is_triage=is_triage,
    )
    parts = [f"{hours_in_words(team)} ({team.timezone})"]
    if lead_id is not None:
        parts.append(f"lead {_name(session, lead_id)}")
    if duty_owner_id is not None:
        parts.append(f"duty owner {_name(session, duty_owner_id)}")
    if is_triage:
        parts.append("routes requests that name no team (triage)")
    record_event(
        session,
        TeamAdded(name=team.name, department_id=department_id, summary="; ".join(parts)),
        now,
        actor_id=admin.person_id,
        team_id=team.id,
    )
    return team


def add_person(
    session: Session,
    admin: Actor,
    handle: str,
    name: str,
    email: str,
    *,
    password_hash: str | None,
    is_admin: bool,
    now: datetime,
) -> Person:
    """A new person, whose password (if any) was hashed beforehand; audited without it."""
    _require_admin(admin)
    person = service.add_person(
        session, handle, name, email, password_hash=password_hash, is_admin=is_admin
    )
    record_event(
        session,
        PersonAdded(
            handle=person.handle,
            name=person.name,
            is_admin=person.is_admin,
            may_sign_in=password_hash is not None,
        ),
        now,
        actor_id=admin.person_id,
        person_id=person.id,
    )
    return person


def add_service(
    session: Session,
    admin: Actor,
    team_id: int,
    name: str,
    *,
    description: str,
    confidential: bool,
    targets: Mapping[str, float | int],
    now: datetime,
) -> Service:
    """A new catalog service; audited with its targets in words."""
    _require_admin(admin)
    created = service.add_service(
        session,
        team_id,
        name,
        description=description,
        confidential=confidential,
        accept_target_hours=float(targets["accept_target_hours"]),
        update_every_hours=float(targets["update_every_hours"]),
        resolve_target_hours=float(targets["resolve_target_hours"]),
        auto_close_days=int(targets["auto_close_days"]),
    )
    summary = "; ".join(
        f"{label}: {_value(target, getattr(created, target))}"
        for target, label in TARGET_NAMES.items()
    )
    record_event(
        session,
        ServiceAdded(
            service_id=created.id,
            name=created.name,
            confidential=created.confidential,
            summary=summary,
        ),
        now,
        actor_id=admin.person_id,
        team_id=team_id,
    )
    return created


# -- changing it ------------------------------------------------------------------------------------


def change_service_targets(
    session: Session,
    admin: Actor,
    service_id: int,
    targets: Mapping[str, float | int],
    now: datetime,
) -> Service:
    """New targets for a service (requests opened from now on get them); audited when any
    target changed."""
    _require_admin(admin)
    changed = service.set_service_targets(session, service_id, targets)
    found = service.get_service(session, service_id)
    if changed:
        new = {name: value for name, (_old, value) in changed.items()}
        summary = "; ".join(
            f"{TARGET_NAMES[name]}: {_value(name, old)} → {_value(name, value)}"
            for name, (old, value) in changed.items()
        )
        auto_close = new.get("auto_close_days")
        record_event(
            session,
            ServiceChanged(
                service_id=service_id,
                accept_target_hours=new.get("accept_target_hours"),
                update_every_hours=new.get("update_every_hours"),
                resolve_target_hours=new.get("resolve_target_hours"),
                auto_close_days=None if auto_close is None else int(auto_close),
                summary=summary,
            ),
            now,
            actor_id=admin.person_id,
            team_id=found.team_id,
        )
    return found


def change_team_calendar(
    session: Session,
    admin: Actor,
    team_id: int,
    *,
    timezone: str,
    day_start_minute: int,
    day_end_minute: int,
    working_days: str,
    now: datetime,
) -> Team:
    """New working hours for a team; audited with what they were."""
    _require_admin(admin)
    team = service.get_team(session, team_id)
    before = f"{hours_in_words(team)} ({team.timezone})"
    service.set_team_calendar(
        session,
        team_id,
        timezone=timezone,
        day_start_minute=day_start_minute,
        day_end_minute=day_end_minute,
        working_days=working_days,
    )
    after = f"{hours_in_words(team)} ({team.timezone})"
    if after != before:
        record_event(
            session,
            TeamCalendarChanged(
                timezone=team.timezone,
                day_start=hhmm(team.day_start_minute),
                day_end=hhmm(team.day_end_minute),
                working_days=team.working_days,
                summary=f"{before} → {after}",
            ),
            now,
            actor_id=admin.person_id,
            team_id=team_id,
        )
    return team


def _name(session: Session, person_id: int | None) -> str:
    if person_id is None:
        return "nobody"
    person = session.get(Person, person_id)
    return person.name if person is not None else f"person {person_id}"


def _roles_changed(
    session: Session,
    team: Team,
    before: tuple[int | None, int | None],
    actor_id: int,
    now: datetime,
) -> None:
    after = (team.lead_id, team.duty_owner_id)
    if after == before:
        return
    words = []
    for label, old, new in zip(("Lead", "Duty owner"), before, after, strict=True):
        if old != new:
            words.append(f"{label}: {_name(session, old)} → {_name(session, new)}")
    record_event(
        session,
        TeamRolesChanged(
            lead_id=team.lead_id, duty_owner_id=team.duty_owner_id, summary="; ".join(words)
        ),
        now,
        actor_id=actor_id,
        team_id=team.id,
    )


def change_team_roles(
    session: Session,
    admin: Actor,
    team_id: int,
    roles: Mapping[str, int | None],
    now: datetime,
) -> Team:
    """A new lead and/or duty owner (who also become members); audited, and so is each new
    membership that comes with it."""
    _require_admin(admin)
    team = service.get_team(session, team_id)
    before = (team.lead_id, team.duty_owner_id)
    joining = [
        p for p in roles.values() if p is not None and not service.is_member(session, team_id, p)
    ]
    service.set_team_roles(session, team_id, roles)
    for person_id in dict.fromkeys(joining):
        record_event(
            session,
            MemberAdded(),
            now,
            actor_id=admin.person_id,
            team_id=team_id,
            person_id=person_id,
        )
    _roles_changed(session, team, before, admin.person_id, now)
    return team


def add_member(session: Session, admin: Actor, team_id: int, person_id: int, now: datetime) -> Team:
    _require_admin(admin)
    already = service.is_member(session, team_id, person_id)
    service.add_member(session, team_id, person_id)
    if not already:
        record_event(
            session,
            MemberAdded(),
            now,
            actor_id=admin.person_id,
            team_id=team_id,
            person_id=person_id,
        )
    return service.get_team(session, team_id)


def remove_member(
    session: Session, admin: Actor, team_id: int, person_id: int, now: datetime
) -> Team:
    """Take a person out of a team (not its lead or duty owner: replace them first). Requests
    they own stay theirs: ownership is a person's, not a membership's."""
    _require_admin(admin)
    service.remove_member(session, team_id, person_id)
    record_event(
        session,
        MemberRemoved(),
        now,
        actor_id=admin.person_id,
        team_id=team_id,
        person_id=person_id,
    )
    return service.get_team(session, team_id)


def add_holiday(
    session: Session, admin: Actor, team_id: int, day: date, name: str, now: datetime
) -> Holiday:
    _require_admin(admin)
    holiday = service.add_holiday(session, team_id, day, name)
    record_event(
        session,
        HolidayAdded(day=day.isoformat(), name=name),
        now,
        actor_id=admin.person_id,
        team_id=team_id,
    )
    return holiday


def remove_holiday(session: Session, admin: Actor, team_id: int, day: date, now: datetime) -> None:
    """Targets count the day as a working day again, for requests opened from now on."""
    _require_admin(admin)
    removed = service.remove_holiday(session, team_id, day)
    record_event(
        session,
        HolidayRemoved(day=day.isoformat(), name=removed.name),
        now,
        actor_id=admin.person_id,
        team_id=team_id,
    )


# -- people -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Deactivation:
    """What deactivating a person did: the requests handed on (id → new owner) and the offers to
    them withdrawn (ids)."""

    person: Person
    handed_on: dict[int, int]
    offers_withdrawn: tuple[int, ...]


# Work someone still holds: open, or resolved and not yet closed (a reopening returns to them).
HELD_STATES = tuple(sorted(rules.OPEN_STATES | {rules.RESOLVED}))


def deactivate_person(
    session: Session, admin: Actor, person_id: int, now: datetime
) -> Deactivation:
    """The person can no longer sign in (their browser sessions end, their API tokens are
    revoked) and is offered no more work. Each request they hold goes to the duty owner of the
    team holding it (through `lifecycle.reassign_owner`, with its event and a notice); each
    open offer to them is withdrawn, and the request's owner is told to offer it again. Roles
    they held are cleared first, so nothing is handed back to them. All in one transaction."""
    _require_admin(admin)
    roles_before = {
        t.id: (t.lead_id, t.duty_owner_id) for t in service.roles_held(session, person_id)
    }
    person, teams = service.deactivate(session, person_id, admin.person_id)
    for team in teams:
        _roles_changed(session, team, roles_before[team.id], admin.person_id, now)
    auth.end_web_sessions_of(session, person_id)
    auth.revoke_tokens_of(session, person_id, now)
    org = org_snapshot(session)
    reason = f"{person.name} no longer works here"

    handed_on: dict[int, int] = {}
    held = session.scalars(
        select(Request.id)
        .where(Request.owner_id == person_id, Request.state.in_(HELD_STATES))
        .order_by(Request.id)
    ).all()
    for request_id in held:
        request = lock_request(session, request_id)
        new_owner = org.team(request.team_id).duty_owner
        change = lifecycle.reassign_owner(
            facts_of(request),
            to_owner_id=new_owner,
            actor_id=admin.person_id,
            reason=reason,
            now=now,
        )
        apply_change(session, request, change)
        handed_on[request_id] = new_owner

    withdrawn: list[int] = []
    offers = session.scalars(
        select(Offer)
        .where(
            Offer.to_person_id == person_id,
            Offer.state == OfferState.OPEN,
            Offer.kind == OfferKind.HANDOFF,
        )
        .order_by(Offer.id)
    ).all()
    for offer in offers:
        request = lock_request(session, offer.request_id)
        change = lifecycle.withdraw(
            facts_of(request), offer_facts(offer), actor_id=admin.person_id, now=now
        )
        told = Notice(
            request.owner_id,
            NotificationKind.OFFER_DECLINED,
            f"Offer withdrawn: {request.title} — {reason}; offer it to someone else",
        )
        apply_change(session, request, replace(change, notices=(told,)), {offer.id: offer})
        withdrawn.append(offer.id)

    record_event(
        session,
        PersonDeactivated(
            handed_on=tuple(handed_on) or None, offers_withdrawn=tuple(withdrawn) or None
        ),
        now,
        actor_id=admin.person_id,
        person_id=person_id,
    )
    session.flush()
    return Deactivation(person, handed_on, tuple(withdrawn))


def reactivate_person(session: Session, admin: Actor, person_id: int, now: datetime) -> Person:
    """The person may sign in again (with a new password link if they forgot theirs); their
    old tokens stay revoked and nothing handed on comes back."""
    _require_admin(admin)
    person = service.reactivate(session, person_id)
    record_event(session, PersonReactivated(), now, actor_id=admin.person_id, person_id=person_id)
    return person


def issue_password_reset(
    session: Session, admin: Actor, person_id: int, now: datetime
) -> tuple[str, datetime]:
    """A one-time secret for the person's new-password link, and when it expires. Audited; the
    secret itself is in no event."""
    _require_admin(admin)
    person = service.get_person(session, person_id)
    secret, row = auth.issue_password_reset(session, person, admin.person_id, now)
    record_event(
        session,
        PasswordResetIssued(expires_at=row.expires_at),
        now,
        actor_id=admin.person_id,
        person_id=person_id,
    )
    return secret, row.expires_at


def finish_password_reset(
    session: Session, secret: str, password_hash: str, now: datetime
) -> Person:
    """The person behind a reset link chose a new password (hashed beforehand); audited."""
    person = auth.finish_password_reset(session, secret, password_hash, now)
    record_event(session, PasswordChanged(), now, actor_id=person.id, person_id=person.id)
    return person
