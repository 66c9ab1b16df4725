"""Database plumbing: the model base, engines for SQLite and PostgreSQL, and the unit of work.

Services only flush; the unit of work (one per HTTP request, job or CLI command) commits or
rolls back, so a state change and its history event land together or not at all.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event, select, text
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from followthrough.errors import ServiceBusy

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC; always returns timezone-aware UTC datetimes, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; pass an aware UTC time")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# Session.info key: the unit of work is a read, rolled back at its end; code that would write
# on the side (a cache refresh) must not.
READ_ONLY = "followthrough_read_only"


RowT = TypeVar("RowT", bound=Base)


def row_to_change(
    session: Session, model: type[RowT], key: dict[str, Any], new: Callable[[], RowT]
) -> RowT:
    """The one row of `model` with these key values, locked (on PostgreSQL) until the
    transaction ends; `new()`, a whole row as it may be stored, is added when there is none.

    For a person's own settings saved by a double click or two tabs at once: the second
    transaction's insert waits for the first's, fails on the key inside its savepoint, and then
    changes the first's row, so the last save wins and neither answers 500. SQLite's writers
    take turns, so there the row is always found or added outright.
    """
    query = select(model).filter_by(**key).with_for_update()
    row = session.scalars(query).one_or_none()
    if row is not None:
        return row
    row = new()
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        found = session.scalars(query).one_or_none()
        if found is None:
            raise
        return found
    return row


def utcnow() -> datetime:
    return datetime.now(UTC)


def normalise_url(url: str) -> str:
    """Accept plain postgresql:// URLs and use the psycopg 3 driver for them."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


LOCK_TIMEOUT_MS = 15_000


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine configured for this product: SQLite in WAL mode with foreign keys, or PostgreSQL."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        # File connections are pooled, so the PRAGMAs run once per connection, not per request.
        engine = create_engine(
            url,
            connect_args={"isolation_level": None, "check_same_thread": False, "timeout": 30},
            **kwargs,
        )
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    # No ping before each checkout: it was one more round trip on every request. A connection
    # lost to a database restart fails its one request with a 503 (web.problems), and the pool
    # then replaces every connection older than the loss.
    kwargs.setdefault("pool_pre_ping", False)
    # A statement never waits more than this for a row or table lock: a wait that long means
    # something is stuck, and a 503 the client can retry beats a request that hangs for good.
    connect_args = kwargs.pop("connect_args", {})
    connect_args.setdefault("options", f"-c lock_timeout={LOCK_TIMEOUT_MS}")
    return create_engine(url, connect_args=connect_args, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    # The driver's implicit transactions are off (isolation_level=None); we begin ourselves.
    # Writers take the write lock up front (BEGIN IMMEDIATE) so two writers queue behind the
    # busy timeout instead of one failing when it upgrades a read snapshot.
    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get("followthrough_readonly"):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


# SQLite has one writer at a time. Writers of one process queue on this lock in arrival order;
# otherwise they would all wait in SQLite's busy handler, whose growing sleeps let late arrivals
# overtake and starve some writers for seconds. The busy timeout still arbitrates between processes.
# A plain Lock, not an RLock: web frameworks may enter and leave a unit of work on different
# threads of their pool, and only a plain Lock may be released by another thread.
_sqlite_writers: dict[str, threading.Lock] = {}
_sqlite_writers_guard = threading.Lock()
# Web requests wait for their write turn on the event loop (web.deps.Admission) and find this
# lock free or held briefly by the sweeper; the wait here bounds CLI commands and the sweeper.
WRITER_WAIT_SECONDS = 30.0


def _writer_lock(url: str) -> threading.Lock:
    with _sqlite_writers_guard:
        return _sqlite_writers.setdefault(url, threading.Lock())


class Database:
    """An engine plus its session factory; created once per process by the app or the CLI."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = normalise_url(url)
        self.engine = make_engine(self.url, **engine_kwargs)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        self._writers = _writer_lock(self.url) if self.is_sqlite else None

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def unit_of_work(self, *, readonly: bool = False) -> Iterator[Session]:
        """One transaction: commits if the block finishes, rolls back if it raises."""
        if self._writers is None or readonly:
            with self._transaction(readonly=readonly) as session:
                yield session
            return
        if not self._writers.acquire(timeout=WRITER_WAIT_SECONDS):
            raise ServiceBusy(
                f"no turn to write to the database within {WRITER_WAIT_SECONDS:.0f} s; "
                "nothing was changed",
                retry_after=5,
            )
        try:
            with self._transaction(readonly=False) as session:
                yield session
        finally:
            self._writers.release()

    @contextmanager
    def _transaction(self, *, readonly: bool) -> Iterator[Session]:
        session = self.sessions()
        if readonly:
            session.info[READ_ONLY] = True
            session.connection(execution_options={"followthrough_readonly": True})
        try:
            yield session
            if readonly:
                session.rollback()
            else:
                session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def refresh_statistics(self) -> None:
        """After a bulk load (the demo, a history import) on PostgreSQL, gather the planner's
        statistics now rather than when autovacuum next comes round (never, where it is off).

        Without them the planner takes a table of 200,000 events for an empty one and walks the
        Insight reports' correlated look-ups as nested scans of the whole period: the buddy
        programme's effect page took 160 s on the fresh demo instead of 2 s. SQLite's planner
        needs no statistics and the desk's queries are shaped for it without them.
        """
        if self.is_sqlite:
            return
        with self.engine.connect() as connection:
            connection.execute(text("ANALYZE"))
            connection.commit()

    def dispose(self) -> None:
        self.engine.dispose()
