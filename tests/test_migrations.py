"""The migrations build exactly the schema the models describe, on both databases, and undo
themselves: upgrade to head, downgrade to base (nothing of ours left), upgrade again."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from followthrough.db import Base, Database, normalise_url
from followthrough.migrate import alembic_config
from followthrough.search.models import is_full_text_structure
from tests.conftest import BACKENDS, PG_ADMIN_URL, WORKER, _pg_reachable

# What Alembic compares: everything but the databases' own full-text structures (SQLite's FTS5
# tables, PostgreSQL's GIN index), which no model describes (migrations/env.py does the same).
COMPARE = {
    "compare_type": True,
    "include_name": lambda name, type_, parents: (
        not (type_ in ("table", "index") and is_full_text_structure(name))
    ),
}


def test_migrated_schema_matches_the_models(db: Database) -> None:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts=COMPARE)
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_sqlite_runs_in_wal_mode_with_foreign_keys(db: Database) -> None:
    if not db.is_sqlite:
        return
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


@pytest.fixture(params=BACKENDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of the backend with nothing in it, not even the migrations' table."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    if not _pg_reachable():
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}; CI needs it")
        pytest.skip("PostgreSQL is not reachable")
    name = f"ft_migrations_{WORKER}_{os.getpid()}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _schema(url: str) -> tuple[list[object], set[str], str | None, set[str]]:
    """Differences from the models, tables, the stamped revision, and (PostgreSQL) our
    functions and sequences left in the public schema."""
    engine = create_engine(normalise_url(url))
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts=COMPARE)
            differences = compare_metadata(context, Base.metadata)
            tables = {
                t for t in inspect(connection).get_table_names() if not is_full_text_structure(t)
            }
            revision = context.get_current_revision()
            others: set[str] = set()
            if connection.dialect.name == "postgresql":
                others = set(
                    connection.scalars(
                        text(
                            "SELECT p.proname FROM pg_proc p JOIN pg_namespace n"
                            " ON n.oid = p.pronamespace WHERE n.nspname = 'public'"
                            " UNION SELECT c.relname FROM pg_class c JOIN pg_namespace n"
                            " ON n.oid = c.relnamespace WHERE n.nspname = 'public'"
                            " AND c.relkind IN ('S', 'v', 'm')"
                        )
                    )
                )
    finally:
        engine.dispose()
    return differences, tables, revision, others


def test_upgrade_downgrade_and_upgrade_again_end_at_the_models_schema(empty_url: str) -> None:
    config = alembic_config(empty_url)
    head = ScriptDirectory.from_config(config).get_current_head()
    model_tables = {t.name for t in Base.metadata.sorted_tables}

    command.upgrade(config, "head")
    differences, tables, revision, _ = _schema(empty_url)
    assert differences == []
    assert tables == model_tables | {"alembic_version"}
    assert revision == head

    command.downgrade(config, "base")
    differences, tables, revision, others = _schema(empty_url)
    assert tables <= {"alembic_version"}, "tables the downgrades left behind"
    assert others == set(), "functions, sequences or views the downgrades left behind"
    assert revision is None
    assert len(differences) >= len(model_tables)  # every model's table is missing now

    command.upgrade(config, "head")
    differences, tables, revision, _ = _schema(empty_url)
    assert differences == []
    assert tables == model_tables | {"alembic_version"}
    assert revision == head
    # `alembic check`, as a deployment would run it: no change left to autogenerate.
    command.check(config)
