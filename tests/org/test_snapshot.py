"""The process's copy of the organisation: used while current, never stale, never leaked."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import pytest
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from followthrough.db import Database
from followthrough.org import service as org
from followthrough.org.snapshot import org_snapshot
from followthrough.requests import service as requests
from tests.conftest import T0
from tests.factories import World

ORG_TABLES = ("department", "team", "person", "membership", "holiday", "service")


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(*args: object) -> None:
        seen.append(str(args[2]))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def reads_org(seen: list[str]) -> bool:
    return any(f"FROM {table}" in s for s in seen for table in ORG_TABLES)


def duty_owner(session: Session, team_id: int) -> int:
    return org_snapshot(session).team(team_id).duty_owner


def test_a_current_copy_is_used_without_reading_the_organisation(
    db: Database, world: World
) -> None:
    with db.unit_of_work() as session:
        org_snapshot(session)  # the first transaction reads and keeps it
    with statements(db) as seen, db.unit_of_work() as session:
        snapshot = org_snapshot(session)
        assert snapshot.team(world.teams["admin"]).duty_owner == world.people["dan"]
        assert snapshot.is_member(world.teams["admin"], world.people["cleo"])
    assert not reads_org(seen), seen
    queries = [s for s in seen if not s.startswith("BEGIN")]
    assert len(queries) == 1
    assert "FROM org_revision" in queries[0]


def test_a_committed_change_is_seen_by_the_next_transaction(db: Database, world: World) -> None:
    admin = world.teams["admin"]
    with db.unit_of_work() as session:
        assert duty_owner(session, admin) == world.people["dan"]
    with db.unit_of_work() as session:
        org.set_team_roles(session, admin, {"duty_owner_id": world.people["cleo"]})
    with db.unit_of_work() as session:
        assert duty_owner(session, admin) == world.people["cleo"]


def test_a_change_made_outside_the_app_is_seen_too(db: Database, world: World) -> None:
    """The triggers move the revision whoever writes: here a hand-written statement."""
    claims = world.teams["claims"]
    with db.unit_of_work() as session:
        assert not org_snapshot(session).is_member(claims, world.people["otto"])
    with db.engine.begin() as conn:
        conn.execute(
            text("INSERT INTO membership (team_id, person_id) VALUES (:t, :p)"),
            {"t": claims, "p": world.people["otto"]},
        )
    with db.unit_of_work() as session:
        assert org_snapshot(session).is_member(claims, world.people["otto"])
        actor = world.actor(session, "otto")
        assert claims in actor.team_ids


def test_a_transaction_sees_its_own_change_and_a_rollback_leaves_no_trace(
    db: Database, world: World
) -> None:
    admin = world.teams["admin"]
    with db.unit_of_work() as session:
        org_snapshot(session)

    def change_then_fail() -> None:
        with db.unit_of_work() as session:
            assert duty_owner(session, admin) == world.people["dan"]
            org.set_team_roles(session, admin, {"duty_owner_id": world.people["cleo"]})
            # Its own change, in the rules it applies.
            assert duty_owner(session, admin) == world.people["cleo"]
            org.add_holiday(session, admin, date(2026, 3, 3), "Closed")
            assert date(2026, 3, 3) in org_snapshot(session).team(admin).calendar.holidays
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError):
        change_then_fail()
    with db.unit_of_work() as session:
        snapshot = org_snapshot(session)
        assert snapshot.team(admin).duty_owner == world.people["dan"]
        assert date(2026, 3, 3) not in snapshot.team(admin).calendar.holidays


def test_an_uncommitted_change_is_never_shared_even_when_undetected(
    db: Database, world: World
) -> None:
    """A change made behind the session's back (raw SQL) and rolled back must not become the
    process's copy: shared copies are read on a connection of their own."""
    admin = world.teams["admin"]

    def change_then_fail() -> None:
        with db.unit_of_work() as session:
            session.connection().exec_driver_sql(
                f"UPDATE team SET duty_owner_id = {world.people['cleo']} WHERE id = {admin}"
            )
            org_snapshot(session)
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError):
        change_then_fail()
    # Someone else's commit now moves the revision to the number the rolled-back one had.
    with db.unit_of_work() as session:
        org.add_department(session, "Finance")
    with db.unit_of_work() as session:
        assert duty_owner(session, admin) == world.people["dan"]


def test_an_unflushed_change_counts(db: Database, world: World) -> None:
    """Without autoflush the rules would otherwise read the row as it was."""
    from followthrough.org.models import Team

    admin = world.teams["admin"]
    with db.unit_of_work() as session:
        org_snapshot(session)
        team = session.get(Team, admin)
        assert team is not None
        team.duty_owner_id = world.people["cleo"]
        request = requests.open_request(
            session,
            world.actor(session, "asha"),
            requests.NewRequest(title="Fix it", need="Wrong address", team_id=admin),
            T0,
        )
        assert request.owner_id == world.people["cleo"]


def test_a_request_opened_after_a_change_goes_to_the_new_duty_owner(
    db: Database, world: World
) -> None:
    admin = world.teams["admin"]
    new = requests.NewRequest(
        title="Fix it", need="Wrong address", service_id=world.services["correct_policy"]
    )
    with db.unit_of_work() as session:
        first = requests.open_request(session, world.actor(session, "asha"), new, T0)
        assert first.owner_id == world.people["dan"]
    with db.unit_of_work() as session:
        org.set_team_roles(session, admin, {"duty_owner_id": world.people["cleo"]})
    with db.unit_of_work() as session:
        second = requests.open_request(session, world.actor(session, "asha"), new, T0)
        assert second.owner_id == world.people["cleo"]
