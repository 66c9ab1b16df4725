"""A freshly migrated database for one bench run, dropped afterwards."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from followthrough.db import Database
from followthrough.migrate import upgrade


@contextmanager
def migrated_database(backend: str, pg_admin_url: str, pg_name: str) -> Iterator[Database]:
    """SQLite: a file in a temporary folder; PostgreSQL: database `pg_name`, made anew (an old
    one from a run that died is dropped first) and dropped at the end."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{folder}/bench.sqlite3"
            upgrade(url)
            database = Database(url)
            try:
                yield database
            finally:
                database.dispose()
        return
    with psycopg.connect(pg_admin_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {pg_name} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {pg_name}")
    url = pg_admin_url.rsplit("/", 1)[0] + f"/{pg_name}"
    upgrade(url)
    database = Database(url)
    try:
        yield database
    finally:
        database.dispose()
        with psycopg.connect(pg_admin_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {pg_name} WITH (FORCE)")
