"""Bulk generator: an insurer-sized organisation and N requests with M events, loaded fast.

The rows are what the product itself would have written: every request has one owner (the
receiving team's duty owner while it is new, else the member who accepted it), an intake offer
and a path step for every team it passed through, participants for visibility, promises and
updates with their history events, and states consistent with their timestamps. The same seed
gives the same rows.

Loading drops the secondary indexes and foreign keys of the bulk tables, streams the rows
(PostgreSQL: COPY; SQLite: executemany in large transactions with journalling off), then
rebuilds the indexes from their original definitions and re-adds the foreign keys, which
validates every reference. The database must be migrated and hold no requests yet.
"""

from __future__ import annotations

import json
import random
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import psycopg
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from followthrough.db import normalise_url
from followthrough.search import documents

# The load's "now": histories end here. Fixed so that a seed always gives the same rows.
ANCHOR = datetime(2026, 11, 24, tzinfo=UTC)
HISTORY_DAYS = 730
CHUNK_REQUESTS = 20_000

DEPARTMENTS = (
    "Claims",
    "Policy Administration",
    "Underwriting",
    "Customer Service",
    "Finance",
    "IT",
)
TEAMS_PER_DEPARTMENT = 4
MEMBERS_PER_TEAM = 20
SERVICES_PER_TEAM = 4

# Tables the bulk rows go into, in foreign-key order.
BULK_TABLES = (
    "request",
    "request_participant",
    "offer",
    "path_step",
    "promise",
    "request_update",
    "pause",
    "event",
)
COLUMNS: dict[str, tuple[str, ...]] = {
    "department": ("id", "name", "created_at"),
    "person": (
        "id",
        "handle",
        "name",
        "email",
        "password_hash",
        "is_admin",
        "active",
        "created_at",
    ),
    "team": (
        "id",
        "department_id",
        "name",
        "timezone",
        "day_start_minute",
        "day_end_minute",
        "working_days",
        "lead_id",
        "duty_owner_id",
        "is_triage",
        "created_at",
    ),
    "membership": ("team_id", "person_id"),
    "service": (
        "id",
        "team_id",
        "name",
        "description",
        "confidential",
        "accept_target_hours",
        "update_every_hours",
        "resolve_target_hours",
        "auto_close_days",
        "active",
    ),
    "request": (
        "id",
        "title",
        "need",
        "context",
        "impact_customers",
        "desired_by",
        "priority",
        "requester_id",
        "service_id",
        "team_id",
        "owner_id",
        "state",
        "waiting_on",
        "parent_id",
        "confidential",
        "opened_at",
        "accepted_at",
        "resolved_at",
        "closed_at",
        "updated_at",
        "resolution",
        "next_update_due_at",
        "update_reminded_at",
        "update_escalate_at",
        "resolve_due_at",
        "clock_paused_at",
        "paused_business_seconds",
        "auto_close_at",
        "bounce_count",
        "eta_median_at",
        "eta_likely_at",
        "eta_basis",
        "version",
    ),
    "request_participant": ("request_id", "person_id"),
    "offer": (
        "id",
        "request_id",
        "kind",
        "from_person_id",
        "from_team_id",
        "to_team_id",
        "to_person_id",
        "note",
        "state",
        "offered_at",
        "due_at",
        "escalated_at",
        "answered_at",
        "answered_by_id",
        "decline_reason",
    ),
    "path_step": ("id", "request_id", "team_id", "entered_at", "is_bounce"),
    "promise": (
        "id",
        "request_id",
        "made_by_id",
        "made_to_id",
        "what",
        "due_at",
        "made_at",
        "state",
        "done_at",
        "done_note",
        "reminded_at",
    ),
    "request_update": ("id", "request_id", "author_id", "body", "posted_at"),
    "pause": (
        "id",
        "request_id",
        "reason",
        "note",
        "child_request_id",
        "started_at",
        "started_by_id",
        "ended_at",
    ),
    "event": (
        "id",
        "kind",
        "at",
        "request_id",
        "actor_id",
        "team_id",
        "other_team_id",
        "person_id",
        "payload",
    ),
}
ID_TABLES = tuple(t for t, columns in COLUMNS.items() if columns[0] == "id")

NEEDS = (
    "The policy schedule shows the wrong address; the customer's claim is on hold until it is right.",
    "Please confirm the excess on this policy so we can settle the claim.",
    "Customer was charged twice this month; please refund the duplicate payment.",
    "The underwriting note is missing from the file; we cannot renew without it.",
    "Laptop will not connect to the claims system since this morning.",
    "Please reissue the certificate with the corrected vehicle registration.",
)
RESOLUTIONS = (
    "Corrected and reissued; the customer has the new document.",
    "Refund made; it will show in three working days.",
    "Fixed: the account was re-enabled.",
    "Answered on the call; nothing further needed.",
)
PROMISES = (
    "Call you back with the corrected document",
    "Send the revised schedule",
    "Confirm the refund date",
)
UPDATES = (
    "Looked at the file; waiting on the system to regenerate the document.",
    "Checked with underwriting; the fix is in progress.",
    "Half done: the record is corrected, the letter goes out next.",
)


@dataclass(frozen=True)
class ServiceSpec:
    id: int
    team_id: int
    name: str
    confidential: bool
    accept_hours: float
    update_hours: float
    resolve_hours: float


@dataclass(frozen=True)
class Org:
    """The generated organisation: who leads and who belongs to each team, and the catalog."""

    admin_id: int
    team_ids: tuple[int, ...]
    lead_of: dict[int, int]
    members: dict[int, tuple[int, ...]]
    services: tuple[ServiceSpec, ...]
    person_ids: tuple[int, ...]


@dataclass
class LoadReport:
    """What was loaded and how long each phase took."""

    backend: str
    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())


def build_org(anchor: datetime = ANCHOR) -> tuple[Org, dict[str, list[tuple[Any, ...]]]]:
    """The organisation and its rows: six departments, 24 teams of 20, 96 services, one admin."""
    created = anchor - timedelta(days=HISTORY_DAYS + 30)
    rows: dict[str, list[tuple[Any, ...]]] = {
        t: [] for t in ("department", "person", "team", "membership", "service")
    }
    rows["person"].append(
        (1, "admin", "Ada Admin", "admin@bench.example", None, True, True, created)
    )
    person_id = 1
    team_ids: list[int] = []
    lead_of: dict[int, int] = {}
    members: dict[int, tuple[int, ...]] = {}
    services: list[ServiceSpec] = []
    for d, department in enumerate(DEPARTMENTS, start=1):
        rows["department"].append((d, department, created))
        for n in range(TEAMS_PER_DEPARTMENT):
            team_id = len(team_ids) + 1
            team_ids.append(team_id)
            people = []
            for _ in range(MEMBERS_PER_TEAM):
                person_id += 1
                handle = f"p{person_id:05d}"
                rows["person"].append(
                    (
                        person_id,
                        handle,
                        f"Person {person_id}",
                        f"{handle}@bench.example",
                        None,
                        False,
                        True,
                        created,
                    )
                )
                rows["membership"].append((team_id, person_id))
                people.append(person_id)
            lead_of[team_id] = people[0]
            members[team_id] = tuple(people)
            rows["team"].append(
                (
                    team_id,
                    d,
                    f"{department} {n + 1}",
                    "Europe/London",
                    9 * 60,
                    17 * 60,
                    "12345",
                    people[0],
                    None,
                    False,
                    created,
                )
            )
            for k in range(SERVICES_PER_TEAM):
                spec = ServiceSpec(
                    id=len(services) + 1,
                    team_id=team_id,
                    name=f"{department} {n + 1} service {k + 1}",
                    # One confidential service per Finance team (payroll queries and the like).
                    confidential=department == "Finance" and k == 0,
                    accept_hours=float(2 + k),
                    update_hours=float(4 + 2 * k),
                    resolve_hours=float(16 + 8 * k),
                )
                services.append(spec)
                rows["service"].append(
                    (
                        spec.id,
                        team_id,
                        spec.name,
                        "",
                        spec.confidential,
                        spec.accept_hours,
                        spec.update_hours,
                        spec.resolve_hours,
                        3,
                        True,
                    )
                )
    org = Org(
        admin_id=1,
        team_ids=tuple(team_ids),
        lead_of=lead_of,
        members=members,
        services=tuple(services),
        person_ids=tuple(range(2, person_id + 1)),
    )
    return org, rows


class _Ids:
    """Next id per table; the load writes explicit ids so each bundle can refer to its rows."""

    def __init__(self) -> None:
        self.next = dict.fromkeys(BULK_TABLES, 1)

    def take(self, table: str) -> int:
        value = self.next[table]
        self.next[table] = value + 1
        return value


def _pick_state(rng: random.Random, age_days: float) -> str:
    roll = rng.random()
    if age_days > 14:
        # Old requests are almost all closed; a few are stuck open, as in any real desk.
        if roll < 0.97:
            return "closed"
        return "in_progress" if roll < 0.99 else "waiting"
    if roll < 0.15:
        return "new"
    if roll < 0.55:
        return "in_progress"
    if roll < 0.63:
        return "waiting"
    if roll < 0.68:
        return "needs_clarification"
    if roll < 0.88:
        return "resolved"
    return "closed"


Rows = dict[str, list[tuple[Any, ...]]]
TimeFormat = Callable[[datetime], str]


def generate(
    org: Org,
    requests: int,
    events: int,
    rng: random.Random,
    fmt: TimeFormat,
    anchor: datetime = ANCHOR,
    chunk: int = CHUNK_REQUESTS,
) -> Iterator[tuple[int, Rows]]:
    """Yield (requests in chunk, rows by table) chunk by chunk; events total max(M, minimum)."""
    ids = _Ids()
    start = anchor - timedelta(days=HISTORY_DAYS)
    span = (anchor - start).total_seconds() - 3600
    emitted = 0
    rows: Rows = {t: [] for t in BULK_TABLES}
    in_chunk = 0
    teams = org.team_ids
    services = org.services
    people = org.person_ids
    minute = timedelta(minutes=1)
    for i in range(requests):
        rid = ids.take("request")
        # Ids follow opening time, as they do in the product.
        opened = start + timedelta(seconds=int(span * (i + rng.random()) / requests) // 60 * 60)
        age_days = (anchor - opened).total_seconds() / 86400
        state = _pick_state(rng, age_days)
        service = services[rng.randrange(len(services))]
        team0 = service.team_id
        requester = people[rng.randrange(len(people))]
        duty0 = org.lead_of[team0]
        path = [team0]
        if state != "new" and rng.random() < 0.12:
            other = teams[rng.randrange(len(teams))]
            if other != team0:
                path.append(other)
                if rng.random() < 0.15:
                    path.append(team0)
        stage_owners = (
            [duty0]
            if state == "new"
            else [org.members[t][rng.randrange(MEMBERS_PER_TEAM)] for t in path]
        )
        owner = stage_owners[-1]
        team = path[-1]
        open_states = state not in ("resolved", "closed")
        # The timeline of this request in minutes after opening.
        life_minutes = int(max(60.0, (anchor - opened).total_seconds() / 60 - 1))
        if open_states:
            resolve_minute = None
        else:
            resolve_minute = min(life_minutes - 1, int(rng.expovariate(1 / (2 * 1440))) + 30)
        horizon = resolve_minute if resolve_minute is not None else life_minutes
        step = max(1, horizon // 12)

        def at(n: int, _opened: datetime = opened, _step: int = step) -> datetime:
            return _opened + minute * (n * _step)

        ev: list[tuple[Any, ...]] = []

        event = partial(_append_event, ev, fmt, rid)

        participants = dict.fromkeys([requester, duty0, *stage_owners])
        event("opened", opened, requester, team0, None, duty0, {"service_id": service.id})
        intake_id = ids.take("offer")
        event("offered", opened, requester, team0, None, None, {"offer_id": intake_id, "intake": 1})
        accepted_at = None if state == "new" else at(1)
        rows["offer"].append(
            (
                intake_id,
                rid,
                "intake",
                requester,
                None,
                team0,
                None,
                "",
                "open" if state == "new" else "accepted",
                fmt(opened),
                fmt(opened + timedelta(hours=service.accept_hours)),
                None,
                None if accepted_at is None else fmt(accepted_at),
                None if state == "new" else stage_owners[0],
                None,
            )
        )
        rows["path_step"].append((ids.take("path_step"), rid, team0, fmt(opened), False))
        n = 1
        if accepted_at is not None:
            event(
                "accepted",
                accepted_at,
                stage_owners[0],
                team0,
                None,
                stage_owners[0],
                {"offer_id": intake_id, "previous_owner_id": duty0},
            )
            for s in range(1, len(path)):
                n += 1
                offer_id = ids.take("offer")
                offered_at, answered = at(n), at(n + 1)
                bounce = s == 2
                rows["offer"].append(
                    (
                        offer_id,
                        rid,
                        "handoff",
                        stage_owners[s - 1],
                        path[s - 1],
                        path[s],
                        None,
                        "Over to you: this sits with your team.",
                        "accepted",
                        fmt(offered_at),
                        fmt(offered_at + timedelta(hours=service.accept_hours)),
                        None,
                        fmt(answered),
                        stage_owners[s],
                        None,
                    )
                )
                rows["path_step"].append(
                    (ids.take("path_step"), rid, path[s], fmt(answered), bounce)
                )
                event(
                    "offered",
                    offered_at,
                    stage_owners[s - 1],
                    path[s - 1],
                    path[s],
                    None,
                    {"offer_id": offer_id},
                )
                event(
                    "accepted",
                    answered,
                    stage_owners[s],
                    path[s],
                    path[s - 1],
                    stage_owners[s],
                    {"offer_id": offer_id, "previous_owner_id": stage_owners[s - 1]},
                )
                n += 1
        last_update = at(n)
        if accepted_at is not None:
            for _ in range(rng.randrange(3)):
                n += 1
                update_id = ids.take("request_update")
                rows["request_update"].append(
                    (update_id, rid, owner, UPDATES[update_id % len(UPDATES)], fmt(at(n)))
                )
                event("update_posted", at(n), owner, team, None, None, {"update_id": update_id})
                last_update = at(n)
            if rng.random() < 0.3:
                n += 1
                promise_id = ids.take("promise")
                made = at(n)
                due = made + timedelta(hours=4)
                what = PROMISES[promise_id % len(PROMISES)]
                if open_states and due > anchor:
                    outcome, done = "open", None
                elif rng.random() < 0.85:
                    outcome, done = "kept", made + timedelta(hours=2)
                else:
                    outcome, done = "broken", None
                rows["promise"].append(
                    (
                        promise_id,
                        rid,
                        owner,
                        requester,
                        what,
                        fmt(due),
                        fmt(made),
                        outcome,
                        None if done is None else fmt(done),
                        None if done is None else "Done as promised.",
                        None,
                    )
                )
                event(
                    "promise_made",
                    made,
                    owner,
                    team,
                    None,
                    owner,
                    {"promise_id": promise_id, "what": what},
                )
                if outcome == "kept" and done is not None:
                    event(
                        "promise_kept", done, owner, team, None, owner, {"promise_id": promise_id}
                    )
                elif outcome == "broken":
                    event(
                        "promise_broken", due, None, team, None, owner, {"promise_id": promise_id}
                    )
        waiting_on = None
        paused_at = None
        if state == "waiting":
            waiting_on, paused_at = "outside", at(n + 1)
            event("paused", paused_at, owner, team, None, None, {"reason": "outside"})
            rows["pause"].append(
                (
                    ids.take("pause"),
                    rid,
                    "outside",
                    "Waiting on the broker",
                    None,
                    fmt(paused_at),
                    owner,
                    None,
                )
            )
        elif state == "needs_clarification":
            waiting_on, paused_at = "clarification", at(n + 1)
            event("clarification_asked", paused_at, owner, team, None, None, {"question": "Which"})
            rows["pause"].append(
                (
                    ids.take("pause"),
                    rid,
                    "clarification",
                    "Which policy?",
                    None,
                    fmt(paused_at),
                    owner,
                    None,
                )
            )
        # Reminders fill each request's share of the M events (about M/N per request).
        closing = 0 if open_states else (2 if state == "closed" else 1)
        target = (i + 1) * events // requests
        pad = max(0, target - emitted - len(ev) - closing)
        for k in range(pad):
            event("update_reminded", at(n + 1) + minute * k, None, team, None, owner)
        resolved_at = closed_at = auto_close_at = None
        resolution = None
        if not open_states:
            assert resolve_minute is not None
            resolved_at = opened + minute * resolve_minute
            resolution = RESOLUTIONS[rid % len(RESOLUTIONS)]
            event("resolved", resolved_at, owner, team, None, owner, {"resolution": resolution})
            auto_close_at = resolved_at + timedelta(days=3)
            if state == "closed":
                closed_at = min(auto_close_at, anchor - minute)
                closed_at = max(closed_at, resolved_at)
                event("closed", closed_at, None, team, None, None, {"auto": 1})
                auto_close_at = None
        emitted += len(ev)
        for p in participants:
            rows["request_participant"].append((rid, p))
        for e in ev:
            rows["event"].append((ids.take("event"), *e))
        updated = max(
            [closed_at or opened, resolved_at or opened, paused_at or opened, last_update]
        )
        due_update = None
        escalate = None
        if open_states and waiting_on != "clarification":
            # Some open requests are overdue for an update, as in any real desk.
            due_update = anchor + timedelta(hours=rng.uniform(-12, service.update_hours))
            escalate = due_update + timedelta(hours=service.update_hours)
        rows["request"].append(
            (
                rid,
                f"{service.name}: request {rid}",
                NEEDS[rid % len(NEEDS)],
                "",
                rng.randrange(4),
                None,
                "normal" if rng.random() < 0.8 else "high",
                requester,
                service.id,
                team,
                owner,
                state,
                waiting_on,
                None,
                service.confidential,
                fmt(opened),
                None if accepted_at is None else fmt(accepted_at),
                None if resolved_at is None else fmt(resolved_at),
                None if closed_at is None else fmt(closed_at),
                fmt(updated),
                resolution,
                None if due_update is None else fmt(due_update),
                None,
                None if escalate is None else fmt(escalate),
                fmt(opened + timedelta(hours=service.resolve_hours * 3)),
                None if paused_at is None else fmt(paused_at),
                0.0,
                None if auto_close_at is None else fmt(auto_close_at),
                1 if len(path) == 3 else 0,
                None,
                None,
                None,
                len(ev),
            )
        )
        in_chunk += 1
        if in_chunk == chunk:
            yield in_chunk, rows
            rows = {t: [] for t in BULK_TABLES}
            in_chunk = 0
    if in_chunk:
        yield in_chunk, rows


def _append_event(
    ev: list[tuple[Any, ...]],
    fmt: TimeFormat,
    request_id: int,
    kind: str,
    when: datetime,
    actor: int | None,
    team_id: int | None,
    other: int | None = None,
    person: int | None = None,
    payload: dict[str, Any] | None = None,
) -> None:
    text = json.dumps(payload or {}, separators=(",", ":"))
    ev.append((kind, fmt(when), request_id, actor, team_id, other, person, text))


def pg_time(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S+00")


def sqlite_time(value: datetime) -> str:
    # The text SQLAlchemy's SQLite DateTime writes and parses (naive UTC, microseconds).
    return value.strftime("%Y-%m-%d %H:%M:%S.000000")


def _cached(fmt: TimeFormat) -> TimeFormat:
    """Times are whole minutes, so a cache turns most formatting into a dict look-up."""
    cache: dict[datetime, str] = {}

    def format_time(value: datetime) -> str:
        text = cache.get(value)
        if text is None:
            if len(cache) > 2_000_000:
                cache.clear()
            text = cache[value] = fmt(value)
        return text

    return format_time


def _progress(console: Console | None) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f}/{task.total:,.0f}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=console is None,
    )


def _fmt_org(rows: Rows, fmt: TimeFormat) -> Rows:
    return {
        table: [tuple(fmt(v) if isinstance(v, datetime) else v for v in row) for row in items]
        for table, items in rows.items()
    }


def load(
    url: str,
    requests: int,
    events: int,
    *,
    seed: int = 2026,
    anchor: datetime = ANCHOR,
    console: Console | None = None,
) -> tuple[Org, LoadReport]:
    """Load the organisation, `requests` requests and about `events` events into `url`.

    The search triggers would remake a request's search document for every row written (at
    10 million events the load did not finish): they are suspended while the rows go in, and
    every document is then made with one INSERT … SELECT (search.documents), as the history
    import does."""
    url = normalise_url(url)
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            suspended = documents.suspend_triggers(connection)
        try:
            if url.startswith("sqlite"):
                path = url.removeprefix("sqlite:///")
                org, report = _load_sqlite(path, requests, events, seed, anchor, console)
            else:
                org, report = _load_postgres(url, requests, events, seed, anchor, console)
            started = time.perf_counter()
            with engine.begin() as connection:
                if connection.dialect.name == "sqlite":
                    connection.exec_driver_sql("PRAGMA cache_size=-1000000")
                    connection.exec_driver_sql("PRAGMA temp_store=MEMORY")
                documents.rebuild_documents(connection)
                documents.rebuild_case_index(connection)
                connection.exec_driver_sql("ANALYZE request_search")
            if not url.startswith("sqlite"):
                # As after the rows: the documents' pages are written out before measuring.
                with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.exec_driver_sql("CHECKPOINT")
            report.seconds["search documents"] = time.perf_counter() - started
        finally:
            with engine.begin() as connection:
                documents.resume_triggers(connection, suspended)
    finally:
        engine.dispose()
    return org, report


def _count(report: LoadReport, rows: Rows) -> None:
    for table, items in rows.items():
        report.rows[table] = report.rows.get(table, 0) + len(items)


# --- SQLite -------------------------------------------------------------------------------


def _insert_sql(table: str) -> str:
    columns = COLUMNS[table]
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def _load_sqlite(
    path: str,
    requests: int,
    events: int,
    seed: int,
    anchor: datetime,
    console: Console | None,
) -> tuple[Org, LoadReport]:
    report = LoadReport("sqlite")
    rng = random.Random(seed)
    fmt = _cached(sqlite_time)
    org, org_rows = build_org(anchor)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        if conn.execute("SELECT count(*) FROM request").fetchone()[0]:
            raise RuntimeError("the bulk load needs a database without requests")
        t0 = time.perf_counter()
        conn.execute("PRAGMA journal_mode=OFF")
        for pragma in (
            "foreign_keys=OFF",
            "synchronous=OFF",
            "cache_size=-1000000",
            "temp_store=MEMORY",
            "locking_mode=EXCLUSIVE",
        ):
            conn.execute(f"PRAGMA {pragma}")
        placeholders = ",".join("?" * len(BULK_TABLES))
        indexes = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            f" AND tbl_name IN ({placeholders})",
            BULK_TABLES,
        ).fetchall()
        conn.execute("BEGIN")
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        for table, items in _fmt_org(org_rows, fmt).items():
            conn.executemany(_insert_sql(table), items)
            report.rows[table] = len(items)
        conn.execute("COMMIT")
        report.seconds["prepare"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        with _progress(console) as progress:
            task = progress.add_task("sqlite: requests", total=requests)
            etask = progress.add_task("sqlite: events", total=events)
            for count, rows in generate(org, requests, events, rng, fmt, anchor):
                conn.execute("BEGIN")
                for table in BULK_TABLES:
                    conn.executemany(_insert_sql(table), rows[table])
                conn.execute("COMMIT")
                _count(report, rows)
                progress.advance(task, count)
                progress.advance(etask, len(rows["event"]))
        report.seconds["rows"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        with _progress(console) as progress:
            task = progress.add_task("sqlite: indexes", total=len(indexes))
            for _, sql in indexes:
                conn.execute(sql)
                progress.advance(task)
        report.seconds["indexes"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        conn.execute("ANALYZE")
        report.seconds["analyze"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        problems = conn.execute("PRAGMA foreign_key_check").fetchmany(5)
        if problems:
            raise RuntimeError(f"bulk rows break foreign keys: {problems}")
        report.seconds["foreign keys"] = time.perf_counter() - t0
        conn.execute("PRAGMA locking_mode=NORMAL")
        conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()
    return org, report


# --- PostgreSQL ---------------------------------------------------------------------------


def _pg_dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _load_postgres(
    url: str,
    requests: int,
    events: int,
    seed: int,
    anchor: datetime,
    console: Console | None,
) -> tuple[Org, LoadReport]:
    report = LoadReport("postgresql")
    rng = random.Random(seed)
    fmt = _cached(pg_time)
    org, org_rows = build_org(anchor)
    with psycopg.connect(_pg_dsn(url)) as conn:
        if conn.execute("SELECT count(*) FROM request").fetchone() != (0,):
            raise RuntimeError("the bulk load needs a database without requests")
        t0 = time.perf_counter()
        conn.execute("SET maintenance_work_mem = '512MB'")
        conn.execute("SET synchronous_commit = off")
        tables = list(BULK_TABLES)
        foreign_keys = conn.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)"
            " FROM pg_constraint WHERE contype = 'f' AND conrelid::regclass::text = ANY(%s)",
            (tables,),
        ).fetchall()
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
            " AND tablename = ANY(%s) AND indexname NOT IN"
            " (SELECT conname FROM pg_constraint WHERE contype IN ('p', 'u'))",
            (tables,),
        ).fetchall()
        for table, name, _ in foreign_keys:
            conn.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        for table, items in org_rows.items():
            _copy(conn, table, items)
            report.rows[table] = len(items)
        conn.commit()
        report.seconds["prepare"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        with _progress(console) as progress:
            task = progress.add_task("postgresql: requests", total=requests)
            etask = progress.add_task("postgresql: events", total=events)
            for count, rows in generate(org, requests, events, rng, fmt, anchor):
                for table in BULK_TABLES:
                    _copy(conn, table, rows[table])
                conn.commit()
                _count(report, rows)
                progress.advance(task, count)
                progress.advance(etask, len(rows["event"]))
        report.seconds["rows"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        with _progress(console) as progress:
            task = progress.add_task("postgresql: indexes", total=len(indexes))
            for _, sql in indexes:
                conn.execute(sql)
                conn.commit()
                progress.advance(task)
        report.seconds["indexes"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        with _progress(console) as progress:
            task = progress.add_task("postgresql: foreign keys", total=len(foreign_keys))
            for table, name, definition in foreign_keys:
                # Adding the constraint back checks every row against its parent.
                conn.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
                conn.commit()
                progress.advance(task)
        report.seconds["foreign keys"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        for table in ID_TABLES:
            conn.execute(
                "SELECT setval(pg_get_serial_sequence(%s, 'id'),"
                f' (SELECT coalesce(max(id), 0) + 1 FROM "{table}"), false)',
                (table,),
            )
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM (ANALYZE)")
        # Write the loaded pages out now: otherwise the checkpoint that follows a load of this
        # size runs during the measurement and the workload pays for the bulk load.
        conn.execute("CHECKPOINT")
        report.seconds["analyze"] = time.perf_counter() - t0
    return org, report


def _copy(conn: psycopg.Connection[Any], table: str, rows: Sequence[tuple[Any, ...]]) -> None:
    if not rows:
        return
    columns = ", ".join(COLUMNS[table])
    with conn.cursor().copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
