"""Alembic environment: the URL comes from the caller or from FOLLOWTHROUGH_DATABASE_URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from followthrough.config import load_settings
from followthrough.db import make_engine
from followthrough.models import Base
from followthrough.search.models import is_full_text_structure

config = context.config
target_metadata = Base.metadata


def _described_by_models(name: str | None, type_: str, parents: object) -> bool:
    """Everything but the databases' own full-text structures, which no model can describe
    (SQLite's FTS5 tables, PostgreSQL's GIN index): the migration builds those."""
    return not (type_ in ("table", "index") and is_full_text_structure(name))


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=_described_by_models,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or load_settings().database_url
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            sqlite = connection.dialect.name == "sqlite"
            if sqlite:
                # A batch migration rebuilds a table by copy, drop and rename; with foreign keys
                # enforced, dropping a table other rows point to fails (or cascades) on any
                # populated database. Alembic's advice: off for the migration (the pragma only
                # takes effect outside a transaction), and every reference checked before the
                # migration is kept.
                connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
            _run(connection)
            if sqlite:
                dangling = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if dangling:
                    connection.rollback()
                    raise RuntimeError(
                        f"the migration left references to missing rows: {dangling[:5]}"
                    )
            connection.commit()
            if sqlite:
                connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]
    finally:
        engine.dispose()


run_migrations_online()
