"""The organisation as plain facts, kept per process and trusted only at its revision.

Every change to a request needs the receiving team's calendar, its duty owner, the service's
targets and the caller's teams. Read from the database each time, that was five or six
statements per change; the organisation changes perhaps a few times a day. Database triggers move
`org_revision.revision` in the same transaction as any change to the organisation's tables, so a
process may keep one copy and use it for as long as the revision it reads is the copy's revision.

A transaction that changes the organisation itself sees its own uncommitted changes: from its
first such change on it reads the organisation afresh and never shares what it read.
"""

from __future__ import annotations

import threading
import weakref
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, event, select
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, UOWTransaction
from sqlalchemy.sql.selectable import ScalarSelect

from followthrough.errors import Conflict, NotFound
from followthrough.org.actors import effective_duty_owner
from followthrough.org.models import (
    Department,
    Holiday,
    Membership,
    OrgRevision,
    Person,
    Service,
    Team,
)
from followthrough.org.rules import WorkingCalendar

ORG_MODELS: tuple[type[Any], ...] = (Department, Team, Person, Membership, Holiday, Service)

# Keys in Session.info.
SNAPSHOT = "org_snapshot"
REVISION = "org_revision"
CHANGED = "org_changed"


@dataclass(frozen=True)
class TeamFacts:
    id: int
    name: str
    lead_id: int | None
    duty_owner_id: int | None
    is_triage: bool
    calendar: WorkingCalendar

    @property
    def duty_owner(self) -> int:
        """Who is accountable for what arrives until a member accepts it."""
        owner = effective_duty_owner(self.duty_owner_id, self.lead_id)
        if owner is None:
            raise Conflict(f"team {self.name} has neither a duty owner nor a lead", field="team_id")
        return owner


@dataclass(frozen=True)
class ServiceFacts:
    id: int
    team_id: int
    name: str
    confidential: bool
    accept_target_hours: float
    update_every_hours: float
    resolve_target_hours: float
    auto_close_days: int
    active: bool


@dataclass(frozen=True)
class PersonFacts:
    id: int
    name: str
    active: bool
    is_admin: bool


@dataclass(frozen=True)
class OrgSnapshot:
    revision: int
    teams: Mapping[int, TeamFacts]
    services: Mapping[int, ServiceFacts]
    people: Mapping[int, PersonFacts]
    member_of: Mapping[int, frozenset[int]]
    leads: Mapping[int, frozenset[int]]

    def team(self, team_id: int, field: str = "team_id") -> TeamFacts:
        team = self.teams.get(team_id)
        if team is None:
            raise NotFound(f"team {team_id} does not exist", field=field)
        return team

    def service(self, service_id: int, field: str = "service_id") -> ServiceFacts:
        service = self.services.get(service_id)
        if service is None or not service.active:
            raise NotFound(f"service {service_id} does not exist", field=field)
        return service

    def person(self, person_id: int, field: str = "person_id") -> PersonFacts:
        person = self.people.get(person_id)
        if person is None or not person.active:
            raise NotFound(f"person {person_id} does not exist", field=field)
        return person

    def is_member(self, team_id: int, person_id: int) -> bool:
        """A member of the team, or its lead."""
        return team_id in self.member_of.get(person_id, ()) or team_id in self.leads.get(
            person_id, ()
        )


_shared: weakref.WeakKeyDictionary[Engine, OrgSnapshot] = weakref.WeakKeyDictionary()
_shared_lock = threading.Lock()


# The current revision as a scalar subquery, to ride along on a statement already sent.
REVISION_COLUMN: ScalarSelect[int] = (
    select(OrgRevision.revision).where(OrgRevision.id == 1).scalar_subquery()
)


def note_revision(session: Session, revision: int | None) -> None:
    """Remember the revision a statement of this transaction read, saving a statement later."""
    session.info.setdefault(REVISION, revision or 0)


def _read_revision(connection: Connection) -> int:
    return int(connection.scalar(select(OrgRevision.revision).where(OrgRevision.id == 1)) or 0)


ORG_TABLES = frozenset(model.__tablename__ for model in ORG_MODELS)


def _has_unflushed_org_change(session: Session) -> bool:
    if any(isinstance(o, ORG_MODELS) for o in session.new):
        return True
    if any(isinstance(o, ORG_MODELS) for o in session.deleted):
        return True
    # The identity map's own set of modified states: Session.dirty would inspect every object
    # in the session, and a seeding or import session holds thousands.
    return any(isinstance(s.obj(), ORG_MODELS) for s in session.identity_map._modified)


def org_snapshot(session: Session) -> OrgSnapshot:
    """The organisation as this transaction sees it; from the process's copy when it is current."""
    if _has_unflushed_org_change(session):
        session.flush()  # the flush hook below marks the transaction as changing the organisation
    snapshot: OrgSnapshot | None = session.info.get(SNAPSHOT)
    if snapshot is not None:
        return snapshot
    if session.info.get(CHANGED):
        # Its own uncommitted changes: read inside the transaction, and never shared.
        snapshot = _load(session.connection(), revision=-1)
    else:
        revision = session.info.get(REVISION)
        if revision is None:
            revision = _read_revision(session.connection())
            session.info[REVISION] = revision
        engine = session.get_bind()
        assert isinstance(engine, Engine)
        with _shared_lock:
            snapshot = _shared.get(engine)
        if snapshot is None or snapshot.revision != revision:
            snapshot = _load_committed(engine)
    session.info[SNAPSHOT] = snapshot
    return snapshot


def _load_committed(engine: Engine) -> OrgSnapshot:
    """Read the committed organisation on a connection of its own, and share it.

    Its own connection, so a copy that others will trust can never hold a change this
    transaction has not committed (and might roll back). A commit landing while the copy is read
    moves the revision: then it is read again.
    """
    with engine.connect().execution_options(followthrough_readonly=True) as connection:
        for _ in range(5):
            revision = _read_revision(connection)
            snapshot = _load(connection, revision)
            settled = _read_revision(connection) == revision
            connection.rollback()  # the next attempt starts from a new view of the database
            if settled:
                with _shared_lock:
                    _shared[engine] = snapshot
                break
    # Still moving after five reads: use the last, committed all the same, but keep none.
    return snapshot


def _load(connection: Connection, revision: int) -> OrgSnapshot:
    holidays: defaultdict[int, set[Any]] = defaultdict(set)
    for team_id, day in connection.execute(select(Holiday.team_id, Holiday.day)):
        holidays[team_id].add(day)
    teams = {
        t.id: TeamFacts(
            id=t.id,
            name=t.name,
            lead_id=t.lead_id,
            duty_owner_id=t.duty_owner_id,
            is_triage=t.is_triage,
            calendar=WorkingCalendar(
                timezone=t.timezone,
                day_start_minute=t.day_start_minute,
                day_end_minute=t.day_end_minute,
                working_days=frozenset(int(d) for d in t.working_days),
                holidays=frozenset(holidays[t.id]),
            ),
        )
        for t in connection.execute(
            select(
                Team.id,
                Team.name,
                Team.lead_id,
                Team.duty_owner_id,
                Team.is_triage,
                Team.timezone,
                Team.day_start_minute,
                Team.day_end_minute,
                Team.working_days,
            )
        )
    }
    services = {
        s.id: ServiceFacts(
            id=s.id,
            team_id=s.team_id,
            name=s.name,
            confidential=s.confidential,
            accept_target_hours=s.accept_target_hours,
            update_every_hours=s.update_every_hours,
            resolve_target_hours=s.resolve_target_hours,
            auto_close_days=s.auto_close_days,
            active=s.active,
        )
        for s in connection.execute(
            select(
                Service.id,
                Service.team_id,
                Service.name,
                Service.confidential,
                Service.accept_target_hours,
                Service.update_every_hours,
                Service.resolve_target_hours,
                Service.auto_close_days,
                Service.active,
            )
        )
    }
    people = {
        p.id: PersonFacts(id=p.id, name=p.name, active=p.active, is_admin=p.is_admin)
        for p in connection.execute(select(Person.id, Person.name, Person.active, Person.is_admin))
    }
    member_of: defaultdict[int, set[int]] = defaultdict(set)
    for team_id, person_id in connection.execute(select(Membership.team_id, Membership.person_id)):
        member_of[person_id].add(team_id)
    leads: defaultdict[int, set[int]] = defaultdict(set)
    for team in teams.values():
        if team.lead_id is not None:
            leads[team.lead_id].add(team.id)
    return OrgSnapshot(
        revision=revision,
        teams=teams,
        services=services,
        people=people,
        member_of={p: frozenset(t) for p, t in member_of.items()},
        leads={p: frozenset(t) for p, t in leads.items()},
    )


def _mark_changed(session: Session) -> None:
    session.info[CHANGED] = True
    session.info.pop(SNAPSHOT, None)


@event.listens_for(Session, "before_flush")
def _on_flush(session: Session, _flush: UOWTransaction, _instances: object) -> None:
    # Also when the transaction already changed the organisation: its own copy predates this.
    if _has_unflushed_org_change(session):
        _mark_changed(session)


@event.listens_for(Session, "do_orm_execute")
def _on_statement(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    # ORM-enabled and plain table statements alike name their table.
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) in ORG_TABLES:
        _mark_changed(state.session)


@event.listens_for(Session, "after_transaction_end")
def _on_end(session: Session, transaction: SessionTransaction) -> None:
    # Only the outermost transaction's end: a savepoint rolled back inside a transaction that
    # changed the organisation leaves that transaction still changing it.
    if transaction.parent is None:
        for key in (SNAPSHOT, REVISION, CHANGED):
            session.info.pop(key, None)
