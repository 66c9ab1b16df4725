"""Many rows into a table fast, inside the session's transaction: COPY on PostgreSQL, the
driver's `executemany` on SQLite.

An import writes hundreds of thousands of rows; SQLAlchemy's per-value type processing costs
more than the database's own work there. Rows go straight to the driver already in the form
the models store (`UTCDateTime`: naive UTC text on SQLite, `timestamptz` on PostgreSQL; JSON as
text; booleans as 0/1 on SQLite), and ids of rows that other rows point to are taken from the
table's sequence (PostgreSQL) or counted on from the largest (SQLite, where the transaction
holds the only write lock) before the rows are written, so nothing has to be read back.

Everything is written in the caller's thread: nothing here waits for another thread or
process while the transaction is open. `load_parts` loads the scratch files that the import's
replay wrote before the transaction began (see `history/importer.py`).

PostgreSQL's foreign-key triggers look the referenced row up once per inserted row, about two
thirds of the time the server spends taking in a row (docs/import-export.md). When the role may
(superuser, or granted SET on the parameter), the tables with no triggers of their own load
with `session_replication_role = replica` for this transaction only (as
`pg_restore --disable-triggers` does; nothing is dropped or locked for anyone else), and every
reference of the rows loaded that way is then checked set-wise, each row named locked FOR KEY
SHARE as the trigger would, before the transaction can commit. A role that may not takes the
plain path. Tables with other triggers of their own load with every trigger firing, except the
search documents' triggers when the caller makes the documents itself afterwards (the import
does: one set-wise statement for all its requests instead of one document recomputed per
participant, offer and event row).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

BULK_CACHE_KIB = 256 * 1024
# PostgreSQL: load with the transaction's foreign-key triggers off when the role may
# (then every reference is checked set-wise before commit); tests switch it off.
PRIVILEGED_BULK_LOAD = True


class MissingReference(Exception):
    """A bulk-loaded row names a row that does not exist (found by the set-wise check)."""


# One table's rows of a batch: (table, columns, rows).
TableRows = tuple[str, Sequence[str], Sequence[Sequence[Any]]]


class LoadedParts:
    """What `load_parts` wrote: the span of request ids it gave, and whether search triggers
    were skipped (the caller must then make those requests' documents)."""

    def __init__(self, *, search_skipped: bool) -> None:
        self.search_skipped = search_skipped
        self.first_request: int | None = None
        self.last_request: int | None = None

    def add_requests(self, ids: Sequence[tuple[int, int]]) -> None:
        if not ids:
            return
        low = min(i for _, i in ids)
        high = max(i for _, i in ids)
        self.first_request = low if self.first_request is None else min(self.first_request, low)
        self.last_request = high if self.last_request is None else max(self.last_request, high)


class BulkRows:
    """Writes plain tuples of column values to tables, in the session's transaction."""

    def __init__(self, session: Session) -> None:
        connection = session.connection()
        self.postgres = connection.dialect.name == "postgresql"
        driver = connection.connection.driver_connection
        assert driver is not None
        self.driver: Any = driver
        self._next_id: dict[str, int] = {}
        self._cache_size: int | None = None
        if not self.postgres:
            # A million rows and their indexes in one transaction: with SQLite's small default
            # page cache the same index pages are written out again and again.
            self._cache_size = int(self.driver.execute("PRAGMA cache_size").fetchone()[0])
            self.driver.execute(f"PRAGMA cache_size = {-BULK_CACHE_KIB}")

    def submit(self, batch: Sequence[TableRows]) -> None:
        """Write the batch's tables in order."""
        for table, columns, rows in batch:
            self.insert(table, columns, rows)

    def close(self) -> None:
        """Give the connection its own page cache size back."""
        if self._cache_size is not None:
            self.driver.execute(f"PRAGMA cache_size = {self._cache_size}")
            self._cache_size = None

    def time(self, value: datetime | None) -> Any:
        if value is None or self.postgres:
            return value
        if value.tzinfo is not UTC:
            value = value.astimezone(UTC)
        # The naive UTC text: the aware one without its "+00:00" (no copy of the instant).
        return value.isoformat(" ", "microseconds")[:-6]

    def flag(self, value: bool) -> Any:
        return value if self.postgres else int(value)

    @staticmethod
    def json(value: Any) -> str:
        return json.dumps(value)

    def reserve_ids(self, table: str, count: int) -> list[int]:
        """`count` fresh ids for rows of `table`, in increasing order."""
        if count == 0:
            return []
        if self.postgres:
            cursor = self.driver.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                (table, count),
            )
            return sorted(row[0] for row in cursor.fetchall())
        start = self._next_id.get(table)
        if start is None:
            cursor = self.driver.execute(f'SELECT COALESCE(MAX(id), 0) + 1 FROM "{table}"')
            start = int(cursor.fetchone()[0])
        self._next_id[table] = start + count
        return list(range(start, start + count))

    def insert(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        """Write the rows now."""
        names = ", ".join(f'"{c}"' for c in columns)
        if self.postgres:
            copy_rows = f'COPY "{table}" ({names}) FROM STDIN'
            with self.driver.cursor() as cursor, cursor.copy(copy_rows) as copy:
                for row in rows:
                    copy.write_row(row)
            return
        marks = ", ".join("?" for _ in columns)
        self.driver.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', rows)

    # --- prepared rows, from scratch files ----------------------------------------------------

    def load_parts(
        self,
        tables: Mapping[str, Sequence[tuple[str, str]]],
        parts: Sequence[tuple[Path, int, int]],
        people: Mapping[int, int],
        teams: Mapping[int, int],
        *,
        search_made_after: bool = False,
    ) -> LoadedParts:
        """Load each part's scratch file (`tables`: each table's columns and what they hold)
        into the tables, translating planned people and teams (negative symbols) and the
        part's own request and offer numbers into ids. Rows keep their order.

        Each scratch table is copied into a temporary staging table of the transaction
        (SQLite: the driver reads one file and writes the other in C; PostgreSQL: COPY), then
        one INSERT … SELECT per table translates and writes it, so no row passes through
        Python twice.

        `search_made_after`: the caller makes the loaded requests' search documents itself
        once the rows are in (`search.documents.rebuild_documents`), so on PostgreSQL a table
        whose only triggers are the search documents' may load with its triggers off too
        (the result says whether any did)."""
        if self.postgres:
            # For this transaction only. The staging tables have no statistics, so the planner
            # takes the INSERT … SELECT of a million events for far more and JIT-compiles it
            # (0.16 s a statement); the sort by `seq` and the hash joins spilled to disk (a
            # 135 MB external merge per part at 1M rows). Both off: the load 25.3 -> 23.5 s of
            # a 1M-row import (docs/benchmarks.md).
            self.driver.execute("SET LOCAL jit = off")
            self.driver.execute("SET LOCAL work_mem = '256MB'")
        stage = _Staging(self, tables)
        # PostgreSQL: the tables that may load with their foreign-key triggers off.
        unchecked = (
            [t for t in tables if not self._has_own_triggers(t, search_made_after)]
            if self.postgres and self._without_reference_triggers()
            else []
        )
        loaded = LoadedParts(search_skipped=bool(unchecked))
        try:
            stage.fill_map("person", sorted(people.items()))
            stage.fill_map("team", sorted(teams.items()))
            for number, (path, requests, offers) in enumerate(parts):
                stage.clear()
                request_ids = self._new_ids("request", requests)
                loaded.add_requests(request_ids)
                stage.fill_map("request", request_ids)
                stage.fill_map("offer", self._new_ids("offer", offers))
                source = stage.part_source(number, path)
                for table in tables:
                    if unchecked:
                        role = "replica" if table in unchecked else "origin"
                        self.driver.execute(f"SET LOCAL session_replication_role = {role}")
                    stage.translate(table, source)
                for table in unchecked:
                    # A request or offer number became the id of a row this load wrote.
                    own = [c for c, kind in tables[table] if kind in ("request", "offer")]
                    self._check_references(table, own_rows=own)
        finally:
            if unchecked:
                self.driver.execute("SET LOCAL session_replication_role = origin")
            stage.drop()
        return loaded

    def _without_reference_triggers(self) -> bool:
        """Whether this role may switch the transaction's foreign-key triggers off for the
        bulk load (`session_replication_role = replica`, as `pg_restore --disable-triggers`
        does); it is switched on only around the tables with no triggers of their own (every
        trigger but the foreign keys' must still fire).

        A foreign-key trigger looks up the referenced row once per inserted row: about two
        thirds of the time PostgreSQL spends writing an imported event (measured in
        docs/import-export.md). Every reference is then checked set-wise instead
        (`_check_references`) before the transaction can commit. Nothing is dropped or
        disabled for other sessions: the setting is this transaction's alone.
        """
        if not PRIVILEGED_BULK_LOAD:
            return False
        self.driver.execute("SAVEPOINT import_replication_role")
        try:
            self.driver.execute("SET LOCAL session_replication_role = replica")
        except Exception as exc:  # the role lacks the privilege: the plain path
            if getattr(exc, "sqlstate", None) != "42501":
                raise
            self.driver.execute("ROLLBACK TO SAVEPOINT import_replication_role")
            return False
        self.driver.execute("RELEASE SAVEPOINT import_replication_role")
        self.driver.execute("SET LOCAL session_replication_role = origin")
        return True

    def _has_own_triggers(self, table: str, search_made_after: bool) -> bool:
        """Whether `table` has triggers besides its foreign keys' that must fire, so its rows
        load the plain way: any trigger, or any but the search documents' (named `search_…`)
        when the caller makes those documents itself afterwards."""
        return bool(
            self.driver.execute(
                "SELECT count(*) FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal"
                " AND NOT (%s AND tgname LIKE 'search\\_%%')",
                (table, search_made_after),
            ).fetchone()[0]
        )

    def _check_references(self, table: str, own_rows: Sequence[str] = ()) -> None:
        """Every foreign key of the part's rows of `table` names a row that exists; each row
        named is locked as the foreign-key trigger would (FOR KEY SHARE), so it cannot be
        deleted before the import commits. MissingReference otherwise.

        The columns `own_rows` name rows this load itself wrote (its requests and offers) and
        are not checked; the columns naming the same table are checked in one pass over the
        rows."""
        own = "id" if table == "request" else "request_id"
        by_table: dict[tuple[str, str], list[str]] = {}
        for column, referenced, key in self.driver.execute(
            "SELECT a.attname, c.confrelid::regclass::text, k.attname FROM pg_constraint c "
            "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
            "JOIN pg_attribute k ON k.attrelid = c.confrelid AND k.attnum = c.confkey[1] "
            "WHERE c.contype = 'f' AND c.conrelid = %s::regclass "
            "AND cardinality(c.conkey) = 1 ORDER BY a.attname",
            (table,),
        ).fetchall():
            if column not in own_rows:
                by_table.setdefault((referenced, key), []).append(column)
        for (referenced, key), columns in by_table.items():
            values = ", ".join(f'(x."{c}")' for c in columns)
            named, found = self.driver.execute(
                f'WITH named AS (SELECT DISTINCT v.value FROM "{table}" x '
                f'JOIN import_request_map m ON m.id = x."{own}" '
                f"CROSS JOIN LATERAL (VALUES {values}) AS v(value) "
                "WHERE v.value IS NOT NULL), "
                f'found AS (SELECT r."{key}" FROM {referenced} r '
                f'WHERE r."{key}" IN (SELECT value FROM named) FOR KEY SHARE) '
                "SELECT (SELECT count(*) FROM named), (SELECT count(*) FROM found)"
            ).fetchone()
            if found != named:
                raise MissingReference(
                    f"{named - found} {table}.{'/'.join(columns)} values name no {referenced} row"
                )

    def _new_ids(self, table: str, count: int) -> list[tuple[int, int]]:
        """(number in the part, id) for `count` new rows of `table`."""
        if count == 0:
            return []
        if self.postgres:
            return list(
                self.driver.execute(
                    "SELECT g, nextval(pg_get_serial_sequence(%s, 'id')) "
                    "FROM generate_series(1, %s) g ORDER BY g",
                    (table, count),
                )
            )
        return list(enumerate(self.reserve_ids(table, count), 1))


# SQLite: the schema name a part's scratch file is attached under (with its number).
_PART_SCHEMA = "import_part_"
_MAP_KEYS = {"person": "sym", "team": "sym", "request": "local", "offer": "local"}
_PG_TYPES = {
    "request": "bigint",
    "offer": "bigint",
    "person": "bigint",
    "team": "bigint",
    "int": "bigint",
    "flag": "integer",
    "float": "double precision",
    "time": "timestamp",
    "text": "text",
    "payload": "text",
}


class _Staging:
    """The transaction's temporary tables: staging copies of one part's scratch tables and
    the maps from planned or local numbers to ids."""

    def __init__(self, bulk: BulkRows, tables: Mapping[str, Sequence[tuple[str, str]]]) -> None:
        self.bulk = bulk
        self.postgres = bulk.postgres
        self.driver = bulk.driver
        self.tables = tables
        temp = "TEMPORARY"
        suffix = " ON COMMIT DROP" if self.postgres else ""
        for kind, key in _MAP_KEYS.items():
            self._run(f"DROP TABLE IF EXISTS {self._name(f'import_{kind}_map')}")
            self._run(
                f"CREATE {temp} TABLE import_{kind}_map "
                f"({key} BIGINT PRIMARY KEY, id BIGINT NOT NULL){suffix}"
            )
        if not self.postgres:
            self._detach_parts()
            return
        for table, columns in tables.items():
            typed = ", ".join(f"{c} {_PG_TYPES[k]}" for c, k in columns)
            self._run(f"DROP TABLE IF EXISTS import_stage_{table}")
            self._run(f"CREATE {temp} TABLE import_stage_{table} (seq BIGINT, {typed}){suffix}")

    def part_source(self, number: int, path: Path) -> str:
        """Where `translate` reads the part's rows: PostgreSQL, its staging tables, filled
        now by COPY; SQLite, the scratch file itself, attached to the connection (the rows go
        from file to table inside SQLite without passing through Python)."""
        if self.postgres:
            scratch = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                for table in self.tables:
                    self.copy(table, scratch)
            finally:
                scratch.close()
            return "import_stage_{table}"
        attached = self._attached_parts()
        schema = next(
            f"{_PART_SCHEMA}{n}"
            for n in range(number, number + 10 + len(attached))
            if f"{_PART_SCHEMA}{n}" not in attached
        )
        self._run(f"ATTACH DATABASE ? AS {schema}", (str(path),))
        return schema + ".{table}"

    def _attached_parts(self) -> set[str]:
        rows = self.driver.execute("PRAGMA database_list").fetchall()
        return {schema for _, schema, _ in rows if schema.startswith(_PART_SCHEMA)}

    def _detach_parts(self) -> None:
        """Detach the scratch files an earlier import on this connection attached: SQLite
        cannot detach a database while the transaction that read it is open, so each
        import's stay attached until the next one (their files are deleted by then). One
        read by this same transaction stays; `part_source` then takes another name."""
        for schema in self._attached_parts():
            try:
                self._run(f"DETACH DATABASE {schema}")
            except sqlite3.OperationalError:
                continue

    def _name(self, table: str) -> str:
        return table if self.postgres else f"temp.{table}"

    def _run(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.driver.execute(sql, params)

    def fill_map(self, kind: str, pairs: Sequence[tuple[int, int]]) -> None:
        self._copy_rows(f"import_{kind}_map", (_MAP_KEYS[kind], "id"), pairs)

    def _copy_rows(self, table: str, columns: Sequence[str], rows: Iterable[Any]) -> None:
        if self.postgres:
            names = ", ".join(columns)
            with (
                self.driver.cursor() as cursor,
                cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
            return
        marks = ", ".join("?" for _ in columns)
        self.driver.executemany(f"INSERT INTO temp.{table} VALUES ({marks})", rows)

    def clear(self) -> None:
        staged = (f"import_stage_{t}" for t in self.tables) if self.postgres else ()
        for table in (*staged, *(f"import_{k}_map" for k in ("request", "offer"))):
            self._run(f"DELETE FROM {self._name(table)}")

    def copy(self, table: str, scratch: sqlite3.Connection) -> None:
        """The scratch table's rows into its staging table, in C on both sides where the
        driver allows."""
        columns = ["seq", *(c for c, _ in self.tables[table])]
        rows = scratch.execute(f"SELECT rowid, * FROM {table}")
        self._copy_rows(f"import_stage_{table}", columns, rows)

    def translate(self, table: str, rows_from: str) -> None:
        """INSERT … SELECT from the part's rows (`rows_from`, see `part_source`): ids translated,
        times and flags in the database's own types, rows in the order they were written."""
        postgres = self.postgres
        targets: list[str] = []
        values: list[str] = []
        joins: list[str] = []
        for number, (column, kind) in enumerate(self.tables[table]):
            source = f"s.{column}"
            if kind in _MAP_KEYS:
                alias = f"m{number}"
                joins.append(
                    f"LEFT JOIN {self._name(f'import_{kind}_map')} {alias} "
                    f"ON {alias}.{_MAP_KEYS[kind]} = {source}"
                )
                if table == "event" and column == "offer_id":
                    continue  # it only goes into the payload
                value = (
                    f"{alias}.id"
                    if kind in ("request", "offer")
                    else (f"COALESCE({alias}.id, {source})")
                )
            elif kind == "time":
                value = f"({source} AT TIME ZONE 'UTC')" if postgres else source
            elif kind == "flag":
                value = f"({source} <> 0)" if postgres else source
            elif kind == "payload":
                offer = f"m{len(self.tables[table]) - 2}.id"  # the offer_id column's map
                number_text = f"{offer}::text" if postgres else offer
                value = (
                    f"CASE WHEN s.offer_id IS NULL THEN s.payload "
                    f"ELSE s.payload || {number_text} || s.payload_tail END"
                )
                if postgres:
                    value = f"({value})::json"
            elif column == "payload_tail":
                continue
            else:
                value = source
            targets.append(f'"{column}"')
            values.append(value)
        self._run(
            f'INSERT INTO "{table}" ({", ".join(targets)}) '
            f"SELECT {', '.join(values)} FROM {rows_from.format(table=table)} s "
            f"{' '.join(joins)} ORDER BY s.{'seq' if postgres else 'rowid'}"
        )

    def drop(self) -> None:
        staged = (f"import_stage_{t}" for t in self.tables) if self.postgres else ()
        for table in (*staged, *(f"import_{k}_map" for k in _MAP_KEYS)):
            self._run(f"DROP TABLE IF EXISTS {self._name(table)}")
