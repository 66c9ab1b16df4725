"""Search benchmark: the header's search box at a million requests, on SQLite and PostgreSQL.

Fills a fresh database with the bench organisation (bench/bulk.py: 24 teams of 20) and N
requests whose words vary as a desk's do: a customer's surname, a policy number, a vehicle
registration, a handful of common verbs and nouns, updates on most requests and a customer case
on a quarter of them. Rows go straight to the driver (COPY on PostgreSQL, executemany on SQLite);
the search documents are then made by the migration's own definition: on SQLite its triggers
(the children are written before their requests, so each document is made once), on PostgreSQL
its `search_refresh_requests` function over id ranges, with the GIN index built after.

Then, in process and one at a time, it times what the search page asks for (requests, cases and
people, with true totals) as a team member with ordinary visibility (their team's requests, what
they raised or took part in), over a mix of queries a desk types, and reports p50/p95/p99 per
kind of query and overall. Target: p95 < 50 ms on both databases.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from bench import bulk
from bench.desk import PG_ADMIN_URL, _cpu_of, pct
from followthrough.db import Database, normalise_url
from followthrough.migrate import upgrade
from followthrough.org.service import actor_of
from followthrough.search import documents, rules, service

TARGET_MS = 50.0
# The full-text indexes, built after the bulk load rather than row by row.
PG_SEARCH_INDEXES = {
    "search_fts_request_vector": "CREATE INDEX search_fts_request_vector"
    " ON request_search USING gin (vector)",
    "search_fts_case_reference": "CREATE INDEX search_fts_case_reference"
    " ON customer_case USING gin (reference gin_trgm_ops)",
    "search_fts_case_customer": "CREATE INDEX search_fts_case_customer"
    " ON customer_case USING gin (customer gin_trgm_ops)",
}
PG_DB = "ft_bench_search"
CHUNK = 50_000

SURNAMES = [
    "Jones",
    "Patel",
    "Smith",
    "Okafor",
    "Nguyen",
    "Kowalski",
    "Murphy",
    "Silva",
    "Haddad",
    "Jensen",
    "Rossi",
    "Schmidt",
    "Cohen",
    "Tanaka",
    "Novak",
    "Brennan",
    "Fischer",
    "Ahmed",
    "Larsen",
    "Moreau",
    "Dubois",
    "Costa",
    "Ivanova",
    "Khan",
    "Walsh",
    "Byrne",
    "Lindqvist",
    "Mensah",
    "Oduya",
    "Ferreira",
    "Garcia",
    "Lopez",
    "Martin",
    "Bernard",
    "Wagner",
    "Becker",
    "Hoffmann",
    "Weber",
    "Kaur",
    "Singh",
    "Chen",
    "Wang",
    "Li",
    "Zhang",
    "Liu",
    "Yilmaz",
    "Demir",
    "Kaya",
    "Popescu",
    "Horvat",
    "Nagy",
    "Toth",
    "Varga",
    "Kiss",
]
FIRST = ["Mrs", "Mr", "Ms", "Dr"]
ACTIONS = (
    "Correct the address on",
    "Reissue the schedule for",
    "Refund the duplicate premium on",
    "Confirm the excess on",
    "Update the named drivers on",
    "Cancel",
    "Renew",
    "Check the no-claims discount on",
    "Add the new vehicle to",
    "Remove the old vehicle from",
    "Explain the price increase on",
    "Send the certificate for",
)
OTHER_TITLES = (
    "Laptop will not connect to the claims system",
    "Password reset for the broker portal",
    "Payroll query about overtime",
    "New starter needs access to the underwriting workbench",
    "Printer on the third floor is jammed",
    "Complaint escalated by the ombudsman",
    "Fraud referral for review",
    "Reinsurance recovery to chase",
)
NEED_PARTS = (
    "The customer says the policy schedule shows the wrong address.",
    "The claim is on hold until this is fixed.",
    "The customer was charged twice this month.",
    "Please refund the duplicate payment to the card on file.",
    "The underwriting note is missing from the file.",
    "We cannot renew without the signed declaration.",
    "The vehicle registration on the certificate is wrong.",
    "The broker asked for written confirmation by Friday.",
    "The customer is vulnerable; please call rather than email.",
    "The direct debit failed and the policy may lapse.",
    "The excess shown online does not match the schedule.",
    "Flood damage to the kitchen; the loss adjuster visits next week.",
    "Windscreen claim; the repairer needs authorisation.",
    "The customer moved house and the premium changed.",
)
UPDATES = (
    "Looked at the file; waiting on the system to regenerate the document.",
    "Checked with underwriting; the fix is in progress.",
    "Half done: the record is corrected, the letter goes out next.",
    "Called the customer and confirmed the details.",
    "Refund approved; finance will pay it this week.",
    "Asked the broker for the signed declaration.",
)

# The kinds of query a desk types, with how often each comes (weights) and how a sample is
# drawn from the loaded data (see Corpus.sample).
MIX = (
    ("surname", 20),
    ("policy number", 15),
    ("case reference", 10),
    ("request number", 10),
    ("two words", 15),
    ("one common word", 10),
    ("typing a word", 10),
    ("words and a surname", 10),
)


@dataclass
class Corpus:
    """What the load wrote that the queries draw from."""

    # By team: a person mostly looks for what their own team works on.
    policies: dict[int, list[str]] = field(default_factory=dict)
    cases: dict[int, list[str]] = field(default_factory=dict)
    requests: dict[int, list[int]] = field(default_factory=dict)
    max_request: int = 0
    team: int = 0

    def _pick(self, by_team: dict[int, list[Any]], rng: random.Random) -> Any:
        if rng.random() < 0.75 and by_team.get(self.team):
            return rng.choice(by_team[self.team])
        return rng.choice(by_team[rng.choice(list(by_team))])

    def sample(self, kind: str, rng: random.Random) -> str:
        if kind == "surname":
            return rng.choice(SURNAMES)
        if kind == "policy number":
            return str(self._pick(self.policies, rng))
        if kind == "case reference":
            return str(self._pick(self.cases, rng))
        if kind == "request number":
            return f"#{self._pick(self.requests, rng)}"
        if kind == "two words":
            return rng.choice(
                (
                    "wrong address",
                    "duplicate refund",
                    "signed declaration",
                    "vehicle registration",
                    "direct debit",
                    "flood kitchen",
                )
            )
        if kind == "one common word":
            return rng.choice(("refund", "schedule", "certificate", "excess", "renew", "broker"))
        if kind == "typing a word":
            return rng.choice(("polic", "addr", "refu", "certif", "decla", "regis"))
        return f"{rng.choice(('refund', 'address', 'excess', 'schedule'))} {rng.choice(SURNAMES)}"


def generate(
    org: bulk.Org, count: int, rng: random.Random, fmt: bulk.TimeFormat, corpus: Corpus
) -> Iterator[dict[str, list[tuple[Any, ...]]]]:
    """Rows by table, chunk by chunk: requests, their participants, intake offers, updates,
    cases and case links. Open offers to other teams on a few requests, as in a real desk."""
    start = bulk.ANCHOR - timedelta(days=bulk.HISTORY_DAYS)
    span = (bulk.ANCHOR - start).total_seconds() - 3600
    services = org.services
    people = org.person_ids
    rows: dict[str, list[tuple[Any, ...]]] = {}
    offer_id = update_id = case_id = 0
    for i in range(count):
        rid = i + 1
        if not rows:
            rows = {
                t: []
                for t in (
                    "request",
                    "request_participant",
                    "offer",
                    "request_update",
                    "customer_case",
                    "request_case",
                )
            }
        opened = start + timedelta(seconds=int(span * (i + rng.random()) / count) // 60 * 60)
        age_days = (bulk.ANCHOR - opened).total_seconds() / 86400
        state = bulk._pick_state(rng, age_days)
        svc = services[rng.randrange(len(services))]
        team = svc.team_id
        requester = people[rng.randrange(len(people))]
        owner = (
            org.lead_of[team]
            if state == "new"
            else org.members[team][rng.randrange(bulk.MEMBERS_PER_TEAM)]
        )
        surname = rng.choice(SURNAMES)
        policy = f"HM-{rng.randrange(100000, 999999)}"
        if rng.random() < 0.01:
            corpus.requests.setdefault(team, []).append(rid)
        # Titles as people write them: most name the policy or the customer, not both.
        shape = rng.random()
        if shape < 0.4:
            title = f"{rng.choice(ACTIONS)} {policy}"
            if rng.random() < 0.02:
                corpus.policies.setdefault(team, []).append(policy)
        elif shape < 0.75:
            title = f"{rng.choice(ACTIONS)} the policy of {rng.choice(FIRST)} {surname}"
        else:
            title = rng.choice(OTHER_TITLES)
        need = " ".join(rng.sample(NEED_PARTS, rng.randint(1, 3)))
        reg = f"{rng.choice('ABCDEFGHKLMNOPRSVWY')}{rng.choice('ABCDEFGHKLMNOPRSVWY')}{rng.randint(10, 75)} {rng.choice('ABCDEFGHJKLMNOPRSTUVWXYZ')}{rng.choice('ABCDEFGHJKLMNOPRSTUVWXYZ')}{rng.choice('ABCDEFGHJKLMNOPRSTUVWXYZ')}"
        context = f"Vehicle {reg}." if rng.random() < 0.4 else ""
        closed = state in ("resolved", "closed")
        o = fmt(opened)
        rows["request"].append(
            (
                rid,
                title,
                need,
                context,
                rng.randint(0, 3),
                None,
                "normal",
                requester,
                svc.id,
                team,
                owner,
                state,
                None,
                None,
                svc.confidential,
                o,
                None if state == "new" else o,
                o if closed else None,
                o if state == "closed" else None,
                o,
                "Corrected and reissued; the customer has the new document." if closed else None,
                None,
                None,
                None,
                None,
                None,
                0.0,
                None,
                0,
                None,
                None,
                None,
                1,
            )
        )
        for person in dict.fromkeys((requester, owner)):
            rows["request_participant"].append((rid, person))
        offer_id += 1
        rows["offer"].append(
            (
                offer_id,
                rid,
                "intake",
                requester,
                None,
                team,
                None,
                "",
                "open" if state == "new" else "accepted",
                o,
                o,
                None,
                None if state == "new" else o,
                None if state == "new" else owner,
                None,
            )
        )
        if not closed and rng.random() < 0.03:
            other = org.team_ids[rng.randrange(len(org.team_ids))]
            if other != team:
                offer_id += 1
                rows["offer"].append(
                    (
                        offer_id,
                        rid,
                        "handoff",
                        owner,
                        team,
                        other,
                        None,
                        "Over to you.",
                        "open",
                        o,
                        o,
                        None,
                        None,
                        None,
                        None,
                    )
                )
        for _ in range(rng.choice((0, 1, 1, 2, 3))):
            update_id += 1
            rows["request_update"].append((update_id, rid, owner, rng.choice(UPDATES), o))
        if rng.random() < 0.25:
            case_id += 1
            reference = f"CLM-{100000 + case_id}"
            if rng.random() < 0.02:
                corpus.cases.setdefault(team, []).append(reference)
            rows["customer_case"].append(
                (case_id, reference, f"{rng.choice(FIRST)} {surname}", None, "", o, requester)
            )
            rows["request_case"].append((rid, case_id))
        if rid % CHUNK == 0 or rid == count:
            yield rows
            rows = {}
    corpus.max_request = count


COLUMNS = {
    **bulk.COLUMNS,
    "customer_case": (
        "id",
        "reference",
        "customer",
        "external_due_at",
        "note",
        "created_at",
        "created_by_id",
    ),
    "request_case": ("request_id", "case_id"),
}
# Children before their requests: on SQLite the request's own insert trigger then makes its
# whole document once (the children's triggers find no request yet and do nothing).
ORDER = (
    "customer_case",
    "request_update",
    "request_case",
    "request_participant",
    "offer",
    "request",
)


def _insert_sql(table: str) -> str:
    columns = COLUMNS[table]
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def load_sqlite(path: str, count: int, console: Console) -> tuple[bulk.Org, Corpus, float]:
    rng = random.Random(2026)
    org, org_rows = bulk.build_org()
    fmt = bulk._cached(bulk.sqlite_time)
    corpus = Corpus()
    engine = create_engine(f"sqlite:///{path}", poolclass=NullPool)
    started = time.perf_counter()
    # The search triggers would remake a document for every row written; the bench suspends
    # them, writes the rows, then makes every document with one INSERT … SELECT.
    with engine.begin() as connection:
        suspended = documents.suspend_triggers(connection)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for pragma in (
            "journal_mode=OFF",
            "foreign_keys=OFF",
            "synchronous=OFF",
            "cache_size=-1000000",
            "temp_store=MEMORY",
            "locking_mode=EXCLUSIVE",
        ):
            conn.execute(f"PRAGMA {pragma}")
        conn.execute("BEGIN")
        for table, items in bulk._fmt_org(org_rows, fmt).items():
            conn.executemany(_insert_sql(table), items)
        conn.execute("COMMIT")
        done = 0
        for rows in generate(org, count, rng, fmt, corpus):
            conn.execute("BEGIN")
            for table in ORDER:
                conn.executemany(_insert_sql(table), rows[table])
            conn.execute("COMMIT")
            done += len(rows["request"])
            console.print(f"  SQLite: {done:,} requests", end="\r")
    finally:
        conn.close()
    loaded = time.perf_counter()
    with engine.begin() as connection:
        connection.exec_driver_sql("PRAGMA cache_size=-1000000")
        connection.exec_driver_sql("PRAGMA temp_store=MEMORY")
        documents.rebuild_documents(connection)
        documents.rebuild_case_index(connection)
        documents.resume_triggers(connection, suspended)
    indexed = time.perf_counter()
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO search_fts_request(search_fts_request) VALUES ('optimize')"
        )
        connection.exec_driver_sql("ANALYZE")
    engine.dispose()
    done_at = time.perf_counter()
    console.print(
        f"  SQLite: rows {loaded - started:.0f} s, documents {indexed - loaded:.0f} s,"
        f" optimize and analyze {done_at - indexed:.0f} s"
    )
    return org, corpus, done_at - started


def load_postgres(url: str, count: int, console: Console) -> tuple[bulk.Org, Corpus, float]:
    rng = random.Random(2026)
    org, org_rows = bulk.build_org()
    fmt = bulk._cached(bulk.pg_time)
    corpus = Corpus()
    dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)
    started = time.perf_counter()
    with psycopg.connect(dsn) as conn:
        # Replica mode: no triggers and no foreign-key checks while the rows stream in; the
        # documents are made afterwards, by ranges, with the migration's own function, and the
        # full-text indexes built after them.
        conn.execute("SET session_replication_role = replica")
        for index in PG_SEARCH_INDEXES:
            conn.execute(f"DROP INDEX {index}")
        for table, items in bulk._fmt_org(org_rows, fmt).items():
            _copy(conn, table, items)
        done = 0
        for rows in generate(org, count, rng, fmt, corpus):
            for table in ORDER:
                _copy(conn, table, rows[table])
            conn.commit()
            done += len(rows["request"])
            console.print(f"  PostgreSQL: {done:,} requests", end="\r")
        for table in ("customer_case", "offer", "request_update"):
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        conn.commit()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("ANALYZE")
    loaded = time.perf_counter()

    # The documents, on both cores: two connections over halves of the ids.
    def refresh(ids: tuple[int, int]) -> None:
        engine = create_engine(normalise_url(url))
        try:
            with engine.begin() as connection:
                documents.rebuild_documents(connection, *ids)
        finally:
            engine.dispose()

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(refresh, [(1, count // 2), (count // 2 + 1, count)]))
    made = time.perf_counter()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '512MB'")
        for index in PG_SEARCH_INDEXES.values():
            conn.execute(index)
        conn.execute("VACUUM ANALYZE")
    done_at = time.perf_counter()
    console.print(
        f"  PostgreSQL: rows {loaded - started:.0f} s, documents {made - loaded:.0f} s,"
        f" indexes and vacuum {done_at - made:.0f} s"
    )
    return org, corpus, done_at - started


def _copy(conn: psycopg.Connection[Any], table: str, rows: list[tuple[Any, ...]]) -> None:
    if not rows:
        return
    with conn.cursor().copy(f"COPY {table} ({', '.join(COLUMNS[table])}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


@dataclass
class Timings:
    backend: str
    load_seconds: float
    by_kind: dict[str, list[float]] = field(default_factory=dict)
    totals: dict[str, list[int]] = field(default_factory=dict)
    # CPU of the timing thread per search: on SQLite that is all the work (the database runs in
    # process), so it shows the cost without the machine's queueing; on PostgreSQL the server's
    # share is not in it.
    cpu: list[float] = field(default_factory=list)
    capped: int = 0  # searches whose request count stopped at rules.COUNT_LIMIT
    server_cpu_each: float = 0.0  # PostgreSQL: the server's CPU per search, on average
    # PostgreSQL: the server's CPU for each search (from /proc/<pid>/schedstat, in ns), and the
    # bench's plus the server's: what a search costs without the machine's queueing.
    server_cpu: list[float] = field(default_factory=list)
    both_cpu: list[float] = field(default_factory=list)
    both_cpu_by_kind: dict[str, list[float]] = field(default_factory=dict)

    @property
    def all(self) -> list[float]:
        return [v for values in self.by_kind.values() for v in values]


def measure(
    url: str,
    org: bulk.Org,
    corpus: Corpus,
    backend: str,
    load_seconds: float,
    samples: int,
    as_admin: bool = False,
) -> Timings:
    """Time the search page's three lookups, one unit of work each, as a team member with
    ordinary visibility (or as the admin, who may read every request that is not confidential:
    the widest search there is)."""
    team = org.team_ids[3]
    viewer_id = org.admin_id if as_admin else org.members[team][5]  # not the lead
    rng = random.Random(11)
    corpus.team = team
    kinds = [k for k, w in MIX for _ in range(w)]
    timings = Timings(f"{backend} admin" if as_admin else backend, load_seconds)
    database = Database(url)
    try:
        with database.unit_of_work(readonly=True) as session:
            viewer = actor_of(session, viewer_id)
        server_cpu = 0.0
        backends: list[int] = []
        for n in range(samples + 20):
            if n == 20:
                server_cpu = _server_cpu(database)
                backends = _backend_pids(database)
            kind = kinds[rng.randrange(len(kinds))]
            text = corpus.sample(kind, rng)
            query = rules.parse(text)
            server_started = sum(map(_cpu_ns, backends))
            started = time.perf_counter()
            cpu_started = time.thread_time()
            with database.unit_of_work(readonly=True) as session:
                found = service.search_requests(session, viewer, query, 10)
                service.search_cases(session, query, 5)
                service.search_people(session, query, 5)
            elapsed = time.perf_counter() - started  # seconds: desk.pct reports ms
            cpu = time.thread_time() - cpu_started
            server = (sum(map(_cpu_ns, backends)) - server_started) / 1e9
            if n >= 20:  # the first few warm the caches
                timings.by_kind.setdefault(kind, []).append(elapsed)
                timings.cpu.append(cpu)
                if backends:
                    timings.server_cpu.append(server)
                    timings.both_cpu.append(cpu + server)
                    timings.both_cpu_by_kind.setdefault(kind, []).append(cpu + server)
                timings.totals.setdefault(kind, []).append(found.total)
                timings.capped += found.capped
        if backend == "postgresql":
            timings.server_cpu_each = (_server_cpu(database) - server_cpu) / samples
    finally:
        database.dispose()
    return timings


def _server_cpu(database: Database) -> float:
    """CPU seconds so far of the PostgreSQL backends serving this database's connections (the
    pool keeps them between searches), read from /proc: the server is on this machine."""
    if database.is_sqlite:
        return 0.0
    with database.engine.connect() as connection:
        pids = connection.exec_driver_sql(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
        ).scalars()
        return sum(_cpu_of(pid) for pid in pids)


def _backend_pids(database: Database) -> list[int]:
    """The PostgreSQL backends serving this database (the pool keeps its one connection
    between the bench's searches, made one at a time); none on SQLite."""
    if database.is_sqlite:
        return []
    with database.engine.connect() as connection:
        return list(
            connection.exec_driver_sql(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            ).scalars()
        )


def _cpu_ns(pid: int) -> int:
    """Nanoseconds a process has run on a CPU (/proc/<pid>/schedstat: finer than the clock
    ticks of /proc/<pid>/stat, so one search's share can be read); 0 when it is gone."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


KEPT_FOLDER = Path(tempfile.gettempdir()) / "ft_bench_search"


def _corpus_path(backend: str) -> Path:
    return KEPT_FOLDER / f"corpus-{backend}.json"


def save_corpus(backend: str, requests: int, seconds: float, corpus: Corpus) -> None:
    """What a kept database was loaded with, so a later run can time it again without
    loading it again (the org is rebuilt from its fixed seed)."""
    KEPT_FOLDER.mkdir(exist_ok=True)
    _corpus_path(backend).write_text(
        json.dumps(
            {
                "requests": requests,
                "load_seconds": seconds,
                "policies": corpus.policies,
                "cases": corpus.cases,
                "request_ids": corpus.requests,
                "max_request": corpus.max_request,
            }
        )
    )


def kept_corpus(backend: str, requests: int) -> tuple[Corpus, float] | None:
    """The corpus of a kept database of `requests` requests, or None when there is none."""
    path = _corpus_path(backend)
    if not path.exists():
        return None
    saved = json.loads(path.read_text())
    if saved["requests"] != requests:
        return None

    def by_team(values: dict[str, list[Any]]) -> dict[int, list[Any]]:
        return {int(team): items for team, items in values.items()}

    corpus = Corpus(
        by_team(saved["policies"]),
        by_team(saved["cases"]),
        by_team(saved["request_ids"]),
        saved["max_request"],
    )
    return corpus, float(saved["load_seconds"])


@contextmanager
def bench_database(
    backend: str, pg_admin_url: str, keep: bool, requests: int
) -> Iterator[tuple[str, tuple[Corpus, float] | None]]:
    """The bench's database and, when `keep` finds one kept from an earlier run of the same
    size, its corpus (None: a fresh database to load). Kept databases live in KEPT_FOLDER
    (SQLite) and the PostgreSQL database PG_DB; they are migrated to the current head."""
    kept = kept_corpus(backend, requests) if keep else None
    if backend == "sqlite":
        path = KEPT_FOLDER / "search.sqlite3"
        if kept is not None and path.exists():
            url = f"sqlite:///{path}"
            upgrade(url)
            yield url, kept
            return
        if keep:
            KEPT_FOLDER.mkdir(exist_ok=True)
            _corpus_path(backend).unlink(missing_ok=True)
            path.unlink(missing_ok=True)
            folder = KEPT_FOLDER
        else:
            folder = Path(tempfile.mkdtemp(prefix="ft_bench_search_"))
        url = f"sqlite:///{folder / 'search.sqlite3'}"
        try:
            upgrade(url)
            yield url, None
        finally:
            if not keep:
                shutil.rmtree(folder, ignore_errors=True)
        return
    url = pg_admin_url.rsplit("/", 1)[0] + f"/{PG_DB}"
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_DB,)).fetchone()
        if kept is not None and exists:
            upgrade(url)
            yield url, kept
            return
        _corpus_path(backend).unlink(missing_ok=True)
        conn.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{PG_DB}"')
    try:
        upgrade(url)
        yield url, None
    finally:
        if not keep:
            with psycopg.connect(pg_admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')


def table_of(results: list[Timings], requests: int) -> Table:
    table = Table(
        title=f"Search as a team member (and as the admin), {requests:,} requests"
        " (ms; requests + cases + people; counts stop at 1,000)"
    )
    table.add_column("query")
    for r in results:
        for column in (f"{r.backend} p50", "p95", "p99", "median total"):
            table.add_column(column, justify="right")
    for kind, _ in (*MIX, ("all", 0)):
        row = [kind]
        for r in results:
            values = r.all if kind == "all" else r.by_kind.get(kind, [])
            totals = (
                [t for ts in r.totals.values() for t in ts]
                if kind == "all"
                else r.totals.get(kind, [])
            )
            if not values:
                row += ["-"] * 4
                continue
            p95 = pct(values, 95)
            mark = "" if kind != "all" else (" [green]✓" if p95 < TARGET_MS else " [red]✗")
            row += [
                f"{pct(values, 50):.1f}",
                f"{p95:.1f}{mark}",
                f"{pct(values, 99):.1f}",
                f"{sorted(totals)[len(totals) // 2]:,}",
            ]
        table.add_row(*row)
    return table


def run(
    console: Console,
    requests: int = 1_000_000,
    samples: int = 400,
    backends: tuple[str, ...] = ("sqlite", "postgresql"),
    pg_admin_url: str = PG_ADMIN_URL,
    keep: bool = False,
) -> list[Timings]:
    results = []
    for backend in backends:
        with bench_database(backend, pg_admin_url, keep, requests) as (url, kept):
            if keep:
                console.print(f"search: kept at {url}")
            org = bulk.build_org()[0]
            if kept is not None:
                corpus, seconds = kept
                console.print(
                    f"search: {backend} kept from an earlier run (loaded in {seconds:.0f} s)"
                )
            else:
                console.print(f"search: loading {requests:,} requests into {backend}")
                if backend == "sqlite":
                    org, corpus, seconds = load_sqlite(
                        url.removeprefix("sqlite:///"), requests, console
                    )
                else:
                    org, corpus, seconds = load_postgres(url, requests, console)
                if keep:
                    save_corpus(backend, requests, seconds, corpus)
            console.print(f"search: timing {samples} searches on {backend}")
            results.append(measure(url, org, corpus, backend, seconds, samples))
            results.append(measure(url, org, corpus, backend, seconds, samples // 2, True))
    console.print(table_of(results, requests), width=160)
    load = os.getloadavg()
    for r in results:
        console.print(
            f"{r.backend}: load and index {r.load_seconds:.0f} s; overall p95 {pct(r.all, 95):.1f} ms,"
            f" max {max(r.all) * 1000:.1f} ms; CPU of this process p50 {pct(r.cpu, 50):.1f} ms,"
            f" p95 {pct(r.cpu, 95):.1f} ms; {r.capped} of {len(r.all)} counts stopped at"
            f" {rules.COUNT_LIMIT:,}"
            + (
                f"; PostgreSQL's CPU per search {r.server_cpu_each * 1000:.1f} ms on average"
                if r.server_cpu_each
                else ""
            )
            + (
                f"; PostgreSQL's CPU per search p50 {pct(r.server_cpu, 50):.1f} ms,"
                f" p95 {pct(r.server_cpu, 95):.1f} ms; this process's and PostgreSQL's together"
                f" p50 {pct(r.both_cpu, 50):.1f} ms, p95 {pct(r.both_cpu, 95):.1f} ms"
                if r.server_cpu
                else ""
            )
        )
    for r in results:
        if r.both_cpu_by_kind:
            console.print(
                f"{r.backend}: this process's and PostgreSQL's CPU per search, p95 by kind: "
                + ", ".join(
                    f"{kind} {pct(r.both_cpu_by_kind[kind], 95):.1f} ms"
                    for kind, _ in MIX
                    if kind in r.both_cpu_by_kind
                )
            )
    console.print(f"load average at the end: {load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f}")
    return results


if __name__ == "__main__":
    run(Console())
