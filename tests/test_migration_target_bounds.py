"""Stored service targets from before the edge refused them are brought within bounds."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest
from alembic import command
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from followthrough.db import Database
from followthrough.migrate import alembic_config
from followthrough.org import service as org
from followthrough.org.models import Service
from tests.conftest import PG_ADMIN_URL, _pg_reachable

BEFORE = "4c0d5e6f7a81"


def _url(tmp_path: Path, backend: str) -> str:
    """An empty database of the backend, to be migrated step by step."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'old.sqlite3'}"
    if not _pg_reachable():
        pytest.skip("PostgreSQL is not reachable")
    name = f"ft_target_bounds_{os.getpid()}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_out_of_range_targets_are_clamped_and_then_refused(tmp_path: Path, backend: str) -> None:
    url = _url(tmp_path, backend)
    command.upgrade(alembic_config(url), BEFORE)
    database = Database(url)
    with database.unit_of_work() as session:
        department = org.add_department(session, "Operations")
        team = org.add_team(session, department.id, "Desk")
        # Written straight to the table, as an older version of the desk let it be.
        session.execute(
            insert(Service).values(
                team_id=team.id,
                name="Forever",
                description="",
                confidential=False,
                active=True,
                accept_target_hours=1e308,
                update_every_hours=-3.0,
                resolve_target_hours=9000.0,
                auto_close_days=100_000,
            )
        )
    command.upgrade(alembic_config(url), "head")
    with database.unit_of_work(readonly=True) as session:
        row = session.execute(
            select(
                Service.accept_target_hours,
                Service.update_every_hours,
                Service.resolve_target_hours,
                Service.auto_close_days,
            )
        ).one()
    assert tuple(row) == (8760.0, 8.0, 8760.0, 365)
    if backend == "postgresql":
        with (
            pytest.raises(IntegrityError, match="ck_service_resolve_target_hours_bounds"),
            database.unit_of_work() as session,
        ):
            session.execute(update(Service).values(resolve_target_hours=float("inf")))
    database.dispose()
    if backend == "postgresql":
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
