"""Importing another system's ticket history (an XES or CSV event log) as requests and events.

Cases become requests, rows become events of the kind the mapping rules give them
(`log_mapping`), resources become people and groups become teams, so a team can start from its
real history and Insight reads it as it reads the desk's own. The import runs in four steps:

1. read the log into a spill file (`log_reader`), checking every row and counting the
   combinations, people and groups: nothing is written if anything is wrong, and a dry run
   stops here;
2. plan the organisation: read the people and teams that exist and give each one the log adds a
   symbol (a negative number), so the replay can name them before they exist;
3. replay each case through the lifecycle (`case_replay`) and write its request, team path,
   offers, pauses and events to a scratch file, with ids local to the file;
4. in one transaction, create the planned people, departments, teams and memberships and load
   the scratch files, translating symbols and local ids into ids (`bulk_rows`).

All or nothing: any problem, and nothing is written. The formats and the mapping are in
docs/import-export.md ("Bring your own history").

Where the work runs, and why. `import_history` does all four steps in this process inside the
caller's transaction (small logs, tests, the evaluation of a log in a scratch database).
`import_history_file` (the command line) does steps 1 to 3 before its write transaction opens,
the replay in worker processes (one per core, at most two) that each take a run of cases, read
the spill themselves and write their own scratch file; the main process only waits for them,
holding no transaction, lock or write turn while it waits. Only when every worker has finished
does it open the transaction, and nothing in that transaction waits for another process or
thread: the load is the database's own work (SQLite: INSERT … SELECT from temporary tables
filled in C; PostgreSQL: COPY into temporary tables, then INSERT … SELECT). A transaction held
open while waiting for a thread is how the server once hung for good; pipelining the replay
with the load would bring that back for a few seconds' gain. The plan was made from the
organisation as read before the replay: the transaction first checks that the organisation's
revision has not moved (anyone adding a person or changing a team moves it) and otherwise
plans and replays again (at most three times).
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import re
import sqlite3
import tempfile
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import Any, Literal, cast

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from followthrough.db import Database
from followthrough.errors import DomainError
from followthrough.history.bulk_rows import BulkRows, MissingReference
from followthrough.history.case_replay import CaseContext, CasePlan, Step, replay_case
from followthrough.history.log_mapping import (
    ACTIVITY_KINDS,
    IGNORE,
    Combination,
    Decision,
    LogMapping,
    load_mapping,
    words,
)
from followthrough.history.log_reader import (
    MAX_FIELD_CHARS,
    MAX_PROBLEMS,
    LogCase,
    LogFacts,
    ProgressHook,
    Spill,
    parse_time,
    read_log,
    real_name,
    spilled_cases,
)
from followthrough.history.models import Event
from followthrough.org.importer import ImportRejected, Problem
from followthrough.org.models import Department, Holiday, OrgRevision, Person, Service, Team
from followthrough.org.rules import WorkingCalendar
from followthrough.requests import lifecycle, rules
from followthrough.requests.models import Request
from followthrough.search.documents import rebuild_documents, resume_triggers, suspend_triggers

__all__ = [
    "MAX_FIELD_CHARS",
    "HistoryImportSummary",
    "HistoryPreview",
    "ImportRejected",
    "handle_for",
    "import_history",
    "import_history_file",
    "kind_of",
    "parse_time",
    "preview_history",
]

LogFormat = Literal["xes", "csv"]

IMPORTED_DEPARTMENT = "Imported"
DEFAULT_TEAM = "Imported"
UNKNOWN_HANDLE = "unknown"
UNKNOWN_NAME = "Unknown (imported)"
# A log is streamed, never held whole; beyond this it is not one desk's history.
MAX_FILE_BYTES = 4 * 1024**3
# Organisation rows (people, teams, memberships) per INSERT statement: few enough bound
# values for either database's limit.
ORG_ROWS_PER_INSERT = 2000
# Cases written per round of bulk inserts.
CASE_BATCH = 1000
# Instants whose text a replay worker keeps (a few batches' worth).
TIME_TEXTS = 100_000

# Case attributes that hold the request's words, best first.
TITLE_ATTRIBUTES = ("title", "summary", "subject", "short_description", "short description")
NEED_ATTRIBUTES = ("description", "details", "need", "text")
SERVICE_ATTRIBUTES = ("service", "product", "category")


def kind_of(activity: str, extra: Mapping[str, str] | None = None) -> str | None:
    """The event kind an activity name maps to by its words alone, or None."""
    key = words(activity)
    for name, kind in (extra or {}).items():
        if words(name) == key:
            return kind
    return ACTIVITY_KINDS.get(key)


# Letters NFKD does not take apart into a base letter and an accent.
_LETTERS = str.maketrans(
    {
        "ø": "o",
        "Ø": "O",
        "ł": "l",
        "Ł": "L",
        "đ": "d",
        "Đ": "D",
        "ð": "d",
        "Ð": "D",
        "ħ": "h",
        "Ħ": "H",
        "\u0131": "i",  # dotless i
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
        "ß": "ss",
        "þ": "th",
        "Þ": "TH",
    }
)


def handle_for(resource: str) -> str:
    """A sign-in handle from a resource name: "Ann Lee" -> "ann.lee", "Åse Øystein" ->
    "ase.oystein" (accents and the Nordic and Polish letters written in ASCII)."""
    decomposed = unicodedata.normalize("NFKD", resource.translate(_LETTERS))
    ascii_text = "".join(c for c in decomposed if not unicodedata.combining(c))
    handle = re.sub(r"[^a-z0-9_-]+", ".", ascii_text.strip().lower()).strip(".")
    return handle[:64].strip(".") or "person"


@dataclass
class HistoryImportSummary:
    requests: int = 0
    events: int = 0
    log_rows: int = 0
    people_created: int = 0
    teams_created: int = 0
    departments_created: int = 0
    handoffs: int = 0
    pauses: int = 0
    placeholder_rows: int = 0
    cases_without_rows: int = 0
    cases_begun_finished: int = 0
    unmapped_activities: dict[str, int] = field(default_factory=dict)
    left_out: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class CombinationRow:
    combination: Combination
    count: int
    decision: Decision


@dataclass(frozen=True)
class HistoryPreview:
    """What a dry run found: each distinct combination and what it becomes, with counts."""

    facts: LogFacts
    rows: list[CombinationRow]


def _format(path: Path, fmt: LogFormat | None) -> LogFormat:
    return fmt or ("xes" if path.suffix.lower() == ".xes" else "csv")


def _read(
    path: Path,
    fmt: LogFormat | None,
    mapping: LogMapping,
    reject_unmapped: bool,
    progress: ProgressHook | None,
    *,
    now: datetime,
    split: bool = False,
) -> Spill:
    """The log read into a spill, or ImportRejected naming every problem (up to 50).
    `now`: the import's time; a row later than it (by more than FUTURE_SLACK) is a problem.
    `split`: a large CSV may be read by two processes at once (never inside a transaction)."""
    name = path.name
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            reason = f"the file is larger than the limit of {MAX_FILE_BYTES:,} bytes"
            raise ImportRejected([Problem(name, None, "", reason)])
    except OSError as exc:
        raise ImportRejected([Problem(name, None, "", exc.strerror or str(exc))]) from None
    problems: list[Problem] = []
    spill = read_log(path, _format(path, fmt), mapping, problems, progress, split=split)
    if reject_unmapped:
        for combination, line in spill.facts.first_line.items():
            if not mapping.is_known(combination):
                problems.append(
                    Problem(name, line, "activity", f"unmapped {combination.activity!r}")
                )
    last = spill.facts.last
    if not problems and last is not None and last > now + FUTURE_SLACK:
        column = "time:timestamp" if _format(path, fmt) == "xes" else "timestamp"
        for line, at in spill.rows_after(now + FUTURE_SLACK):
            reason = (
                f"{at} is after the time of the import ({now:%Y-%m-%d %H:%M} UTC): a history "
                "holds nothing from the future (a time without an offset is read as UTC)"
            )
            problems.append(Problem(name, line, column, reason))
    if not problems and spill.facts.cases == 0:
        problems.append(Problem(name, None, "", "the log holds no cases"))
    if problems:
        spill.close()
        raise ImportRejected(problems)
    return spill


def preview_history(
    path: Path,
    *,
    fmt: LogFormat | None = None,
    mapping: LogMapping | None = None,
    reject_unmapped: bool = False,
    progress: ProgressHook | None = None,
    now: datetime | None = None,
) -> HistoryPreview:
    """Read the log and say what each distinct (activity, lifecycle, status) combination
    becomes, with counts; writes nothing anywhere. `now`: the time an import would have
    (default: the clock's)."""
    mapping = mapping or LogMapping()
    now = now or datetime.now(UTC)
    with _read(path, fmt, mapping, reject_unmapped, progress, now=now, split=True) as spill:
        facts = spill.facts
        rows = [
            CombinationRow(c, n, spill.decision(c))
            for c, n in sorted(
                facts.combinations.items(), key=lambda item: (-item[1], item[0].activity)
            )
        ]
        return HistoryPreview(facts, rows)


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def already_imported(session: Session, digest: str) -> int:
    """How many requests were imported from a file with this content."""
    query = (
        select(func.count())
        .select_from(Event)
        .where(Event.kind == "opened", Event.payload["import_digest"].as_string() == digest)
    )
    return session.scalar(query) or 0


def import_history(
    session: Session,
    path: Path,
    now: datetime,
    *,
    fmt: LogFormat | None = None,
    activity_map: Mapping[str, str] | None = None,
    mapping: LogMapping | None = None,
    reject_unmapped: bool = False,
    progress: ProgressHook | None = None,
) -> HistoryImportSummary:
    """Import every case of the log in the caller's transaction, or raise ImportRejected
    naming each problem.

    Everything runs in this process, inside the caller's unit of work (which on SQLite already
    holds the write turn): right for small logs and tests. `import_history_file` reads and
    replays a large log in worker processes before its transaction opens. Raises before
    returning if anything is wrong; the caller's unit of work then rolls back, so nothing is
    written. `now` starts the clocks (acceptance, updates, auto-close) of imported requests
    that are still open or resolved. `activity_map` (ACTIVITY -> KIND) adds rules before those
    of `mapping`.
    """
    mapping = _with_activity_map(mapping, activity_map)
    digest = _digest(path)
    with _read(path, fmt, mapping, reject_unmapped, progress, now=now) as spill:
        _refuse_repeat(session, spill, digest)
        plan = _plan_directory(session, spill.facts, mapping)
        with _replay(spill, plan, path.name, digest, now, workers=0, progress=progress) as parts:
            return _load(session, spill, plan, parts)


def import_history_file(
    database: Database,
    path: Path,
    now: datetime,
    *,
    fmt: LogFormat | None = None,
    mapping: LogMapping | None = None,
    reject_unmapped: bool = False,
    progress: ProgressHook | None = None,
    workers: int | None = None,
) -> HistoryImportSummary:
    """Import a log as `import_history` does, in a transaction of its own that opens only
    once the log is read and every case replayed.

    The reading and the replay (nearly all of the work) run before the write transaction, the
    replay in `workers` processes (default: one per core, at most two, for a log of at least
    PARALLEL_FROM_ROWS rows; 0: in this process); each writes its cases'
    rows to a scratch file. Then one transaction creates the people and teams and loads the
    prepared rows. The replay used the organisation as it was read beforehand: if the
    organisation changed in between (its revision moved), the replay is done again.
    """
    mapping = _with_activity_map(mapping, None)
    digest = _digest(path)
    with _read(path, fmt, mapping, reject_unmapped, progress, now=now, split=workers != 0) as spill:
        count = workers
        if count is None:  # starting a process costs about a second: only for large logs
            large = spill.facts.events >= PARALLEL_FROM_ROWS
            count = min(2, os.cpu_count() or 1) if large else 0
        for _attempt in range(ORG_CHANGE_RETRIES):
            with database.unit_of_work(readonly=True) as session:
                _refuse_repeat(session, spill, digest)
                plan = _plan_directory(session, spill.facts, mapping)
            # The write transaction opens only once every case is replayed; nothing in it
            # waits for another process.
            with (
                _replay(spill, plan, path.name, digest, now, count, progress) as parts,
                database.unit_of_work() as session,
            ):
                if _org_revision(session) == plan.revision:
                    _refuse_repeat(session, spill, digest)
                    return _load(session, spill, plan, parts)
    reason = "the organisation kept changing while the log was replayed; nothing was written"
    raise ImportRejected([Problem(path.name, None, "", reason)])


ORG_CHANGE_RETRIES = 3
# A case whose first row (in time) is one of these, and that no row opens, began before the
# log: it is left out.
BEGUN_FINISHED = frozenset({"resolved", "closed"})
# How far past the import's time a row may be: a log exported moments ago from a zone ahead of
# UTC, its times without an offset (read as UTC), runs up to 14 hours ahead. A row later than
# that is a typing or clock error (2062 for 2026): imported, it would be a request opened in
# years to come, its acceptance and resolution clocks counting down from then.
FUTURE_SLACK = timedelta(days=1)
PARALLEL_FROM_ROWS = 50_000


def _with_activity_map(
    mapping: LogMapping | None, activity_map: Mapping[str, str] | None
) -> LogMapping:
    if mapping is not None and not activity_map:
        return mapping
    base = mapping or LogMapping()
    extra = load_mapping(None, activity_map=activity_map or {})
    return LogMapping(
        rules=(*extra.rules, *base.rules),
        departments=base.departments,
        department_attribute=base.department_attribute,
        department_pattern=base.department_pattern,
        status_attribute=base.status_attribute,
    )


def _digest(path: Path) -> str:
    try:
        return file_digest(path)
    except OSError as exc:
        raise ImportRejected([Problem(path.name, None, "", exc.strerror or str(exc))]) from None


def _refuse_repeat(session: Session, spill: Spill, digest: str) -> None:
    """Refuse a file imported before, and a case imported before from another file: its rows
    would make a second request, opened at its first row here (a case exported in January and
    again in February would count as resolved the moment it was opened, and its first request
    would stay open for ever). A case's rows belong in one file."""
    name = spill.name
    previous = already_imported(session, digest)
    if previous:
        raise ImportRejected(
            [Problem(name, None, "", f"this file was already imported ({previous} requests)")]
        )
    problems: list[Problem] = []
    cases = spill.case_ids()
    while len(problems) < MAX_PROBLEMS and (batch := list(islice(cases, CASE_BATCH))):
        lines = {case_id[:200]: (case_id, line) for case_id, line in batch}
        found = session.execute(
            select(Request.source_case_id, func.min(Request.id))
            .where(Request.source_case_id.in_(lines))
            .group_by(Request.source_case_id)
        )
        imported = {str(known): request_id for known, request_id in found}
        problems += [
            Problem(
                name,
                line,
                "case_id",
                f"case {case_id!r} was imported before (request {imported[known]}); "
                "a case's rows belong in one file",
            )
            for known, (case_id, line) in lines.items()
            if known in imported
        ]
    if problems:
        raise ImportRejected(problems[:MAX_PROBLEMS])


def _org_revision(session: Session) -> int:
    return int(session.scalar(select(OrgRevision.revision).where(OrgRevision.id == 1)) or 0)


# --- the organisation, planned before anything is written -------------------------------------


@dataclass(frozen=True)
class ServiceFacts:
    """A catalog service as the replay needs it (its targets, team and confidentiality)."""

    id: int
    name: str
    team_id: int
    confidential: bool
    accept_target_hours: float
    update_every_hours: float
    resolve_target_hours: float
    auto_close_days: int


@dataclass
class DirectoryPlan:
    """The people and teams of the log: those that exist with their ids, those the import will
    create with symbols (negative numbers, -1 for the first), so the replay can run before
    anything is written. Teams and people have symbols of their own."""

    revision: int
    handles: dict[str, int]
    team_ids: dict[str, int]
    calendars: dict[int, WorkingCalendar]
    accountable: dict[int, int | None]
    services: dict[str, list[ServiceFacts]]
    new_people: list[dict[str, Any]] = field(default_factory=list)  # handle, name, email
    new_teams: list[tuple[str, str]] = field(default_factory=list)  # name, department
    members: list[tuple[int, int]] = field(default_factory=list)  # (team, person)
    leads: dict[int, int] = field(default_factory=dict)
    # Made only when a case needs them: the "unknown" person and the default team.
    unknown_id: int = 0
    default_team_id: int = 0
    optional_unknown: bool = False  # the last of new_people
    optional_default_team: bool = False  # the last of new_teams


def _plan_directory(session: Session, facts: LogFacts, mapping: LogMapping) -> DirectoryPlan:
    """Read the organisation (nothing is written) and plan what the log adds to it."""
    plan = DirectoryPlan(
        revision=_org_revision(session),
        handles=dict(session.execute(select(Person.handle, Person.id)).all()),
        team_ids=dict(session.execute(select(Team.name, Team.id)).all()),
        calendars={},
        accountable={},
        services={},
    )
    emails = set(session.scalars(select(Person.email)))

    def new_person(handle: str, name: str) -> int:
        email = f"{handle}@imported.invalid"
        number = 1
        while email in emails:
            number += 1
            email = f"{handle}.{number}@imported.invalid"
        emails.add(email)
        plan.new_people.append({"handle": handle, "name": name, "email": email})
        symbol = plan.handles[handle] = -len(plan.new_people)
        return symbol

    for resource in facts.people:
        handle = handle_for(resource)
        if handle not in plan.handles:
            new_person(handle, resource[:200])
    # Teams: those of the log's groups that do not exist yet.
    for group, department in facts.groups.items():
        name = group[:120]
        if name not in plan.team_ids:
            department_name = mapping.department_of(group, department) or IMPORTED_DEPARTMENT
            plan.new_teams.append((name, department_name[:120]))
            plan.team_ids[name] = -len(plan.new_teams)
    created = {t for t in plan.team_ids.values() if t < 0}
    for group, resource in facts.workers:
        team_id = plan.team_ids[group[:120]]
        if team_id in created:
            person_id = plan.handles[handle_for(resource)]
            plan.leads.setdefault(team_id, person_id)
            plan.members.append((team_id, person_id))
    plan.members = list(dict.fromkeys(plan.members))
    # Each team's calendar and accountable person (a created team: its lead, else nobody).
    holidays: dict[int, set[Any]] = {}
    for team_id, day in session.execute(select(Holiday.team_id, Holiday.day)):
        holidays.setdefault(team_id, set()).add(day)
    for t in session.execute(
        select(
            Team.id,
            Team.timezone,
            Team.day_start_minute,
            Team.day_end_minute,
            Team.working_days,
            Team.lead_id,
            Team.duty_owner_id,
        )
    ):
        plan.calendars[t.id] = WorkingCalendar(
            timezone=t.timezone,
            day_start_minute=t.day_start_minute,
            day_end_minute=t.day_end_minute,
            working_days=frozenset(int(d) for d in t.working_days),
            holidays=frozenset(holidays.get(t.id, ())),
        )
        plan.accountable[t.id] = rules.effective_duty_owner(t.duty_owner_id, t.lead_id)
    for team_id in created:
        plan.calendars[team_id] = WorkingCalendar()
        plan.accountable[team_id] = plan.leads.get(team_id)
    if UNKNOWN_HANDLE in plan.handles:
        plan.unknown_id = plan.handles[UNKNOWN_HANDLE]
    else:
        plan.unknown_id = new_person(UNKNOWN_HANDLE, UNKNOWN_NAME)
        plan.optional_unknown = True
    if DEFAULT_TEAM in plan.team_ids:
        plan.default_team_id = plan.team_ids[DEFAULT_TEAM]
    else:
        plan.new_teams.append((DEFAULT_TEAM, IMPORTED_DEPARTMENT))
        plan.default_team_id = -len(plan.new_teams)
        plan.optional_default_team = True
        plan.calendars[plan.default_team_id] = WorkingCalendar()
        plan.accountable[plan.default_team_id] = None
    for s in session.execute(
        select(
            Service.id,
            Service.name,
            Service.team_id,
            Service.confidential,
            Service.accept_target_hours,
            Service.update_every_hours,
            Service.resolve_target_hours,
            Service.auto_close_days,
        ).where(Service.active.is_(True))
    ):
        plan.services.setdefault(s.name, []).append(ServiceFacts(*s))
    return plan


class _PlannedDirectory:
    """The plan as the replay asks it: a resource's person, a group's team; notes which of the
    optional rows (the "unknown" person, the default team) a case needed."""

    def __init__(self, plan: DirectoryPlan) -> None:
        self.plan = plan
        self.calendars = plan.calendars
        self.accountable = plan.accountable
        self.by_name: dict[str, int] = {}
        self.used_unknown = False
        self.used_default_team = False

    def person(self, resource: str | None) -> int:
        if resource is None:
            return self.unknown()
        person_id = self.by_name.get(resource)
        if person_id is None:
            person_id = self.by_name[resource] = self.plan.handles[handle_for(resource)]
        return person_id

    def team(self, group: str) -> int:
        team_id = self.plan.team_ids.get(group[:120])
        if team_id is None:  # only the default team is not planned from the log's groups
            assert group == DEFAULT_TEAM
            self.used_default_team = True
            return self.plan.default_team_id
        return team_id

    def unknown(self) -> int:
        """The one person standing in for every placeholder resource of the import."""
        self.used_unknown = True
        return self.plan.unknown_id


# --- the replay, in worker processes ----------------------------------------------------------

# What each case's rows are written as before the transaction: the tables' own columns, with
# ids local to the part (requests and offers count from 1) or planned (a negative person or
# team: one the load creates). An event's payload that names its offer is kept in two pieces
# around the offer's number, which only the load knows.
SCRATCH_TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "request": (
        ("id", "request"),
        ("title", "text"),
        ("need", "text"),
        ("context", "text"),
        ("impact_customers", "int"),
        ("priority", "text"),
        ("requester_id", "person"),
        ("service_id", "int"),
        ("team_id", "team"),
        ("owner_id", "person"),
        ("state", "text"),
        ("waiting_on", "text"),
        ("confidential", "flag"),
        ("opened_at", "time"),
        ("accepted_at", "time"),
        ("resolved_at", "time"),
        ("closed_at", "time"),
        ("updated_at", "time"),
        ("resolution", "text"),
        ("next_update_due_at", "time"),
        ("update_escalate_at", "time"),
        ("resolve_due_at", "time"),
        ("clock_paused_at", "time"),
        ("paused_business_seconds", "float"),
        ("auto_close_at", "time"),
        ("bounce_count", "int"),
        ("version", "int"),
        ("source_case_id", "text"),
    ),
    "offer": (
        ("id", "offer"),
        ("request_id", "request"),
        ("kind", "text"),
        ("from_person_id", "person"),
        ("from_team_id", "team"),
        ("to_team_id", "team"),
        ("to_person_id", "person"),
        ("note", "text"),
        ("state", "text"),
        ("offered_at", "time"),
        ("due_at", "time"),
        ("answered_at", "time"),
        ("answered_by_id", "person"),
        ("decline_reason", "text"),
    ),
    "path_step": (
        ("request_id", "request"),
        ("team_id", "team"),
        ("entered_at", "time"),
        ("is_bounce", "flag"),
    ),
    "request_participant": (("request_id", "request"), ("person_id", "person")),
    "pause": (
        ("request_id", "request"),
        ("reason", "text"),
        ("note", "text"),
        ("started_at", "time"),
        ("started_by_id", "person"),
        ("ended_at", "time"),
    ),
    "event": (
        ("kind", "text"),
        ("at", "time"),
        ("request_id", "request"),
        ("actor_id", "person"),
        ("team_id", "team"),
        ("other_team_id", "team"),
        ("person_id", "person"),
        ("payload", "payload"),
        ("offer_id", "offer"),  # the offer the payload names, or NULL
        ("payload_tail", "text"),
    ),
}
# An offer id no offer has, to find where the real one goes in the payload's text.
_OFFER_MARK = -7_654_321_987
_OFFER_KEY = '"offer_id": '
_OFFER_MARK_TEXT = f"{_OFFER_KEY}{_OFFER_MARK}"


def _naive(value: datetime | None) -> str | None:
    """An instant as naive UTC text (how SQLite stores `UTCDateTime`; PostgreSQL reads it as a
    `timestamp` and the load puts it in UTC)."""
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:-6]


@dataclass(frozen=True)
class _PartTask:
    """One worker's share of the cases: keys [low, high) of the spill."""

    spill: str
    combinations: list[Combination]
    decisions: list[Decision]
    low: int
    high: int
    plan: DirectoryPlan
    name: str
    digest: str
    now: datetime
    scratch: str


@dataclass
class _PartResult:
    scratch: str
    requests: int
    offers: int
    summary: HistoryImportSummary
    used_unknown: bool
    used_default_team: bool
    problem: Problem | None = None


_progress_counter: Any = None  # in a worker: the shared count of log rows replayed


def _start_worker(counter: Any) -> None:
    global _progress_counter
    _progress_counter = counter


def _replay_in_worker(task: _PartTask) -> _PartResult:
    counter = _progress_counter

    def advance(amount: int) -> None:
        with counter.get_lock():
            counter.value += amount

    return _replay_part(task, advance if counter is not None else None)


def _replay_part(task: _PartTask, advance: Callable[[int], None] | None) -> _PartResult:
    """Replay the task's cases and write their rows to its scratch file."""
    directory = _PlannedDirectory(task.plan)
    summary = HistoryImportSummary()
    spill = sqlite3.connect(f"file:{task.spill}?mode=ro", uri=True)
    writer = _CaseWriter(directory, summary, task, Path(task.scratch))
    problem: Problem | None = None
    try:
        done = 0
        for case in spilled_cases(spill, task.combinations, task.low, task.high):
            writer.add(case)
            done += len(case.events)
            if advance is not None and done >= 5000:
                advance(done)
                done = 0
        writer.flush()
        if advance is not None and done:
            advance(done)
    except ImportRejected as exc:
        problem = exc.problems[0]
    except DomainError as exc:
        problem = Problem(task.name, None, exc.field or "", exc.detail)
    finally:
        writer.close()
        spill.close()
    return _PartResult(
        task.scratch,
        writer.requests,
        writer.offers,
        summary,
        directory.used_unknown,
        directory.used_default_team,
        problem,
    )


@contextmanager
def _replay(
    spill: Spill,
    plan: DirectoryPlan,
    name: str,
    digest: str,
    now: datetime,
    workers: int,
    progress: ProgressHook | None,
) -> Iterator[list[_PartResult]]:
    """Every case replayed into scratch files, by `workers` processes (0: in this one);
    ImportRejected naming the first case (in the log's order) that could not be."""
    with tempfile.TemporaryDirectory(prefix="followthrough-replay-") as folder:
        ranges = spill.key_ranges(max(1, workers))
        tasks = [
            _PartTask(
                str(spill.path),
                spill.combinations,
                spill.decisions,
                low,
                high,
                plan,
                name,
                digest,
                now,
                str(Path(folder) / f"part{number}.sqlite3"),
            )
            for number, (low, high) in enumerate(ranges)
        ]
        if progress is not None:
            progress.total(spill.facts.events)
        if workers == 0:
            results = [_replay_part(t, progress.advance if progress else None) for t in tasks]
        else:
            results = _replay_in_processes(tasks, workers, progress)
        problems = [r.problem for r in results if r.problem is not None]
        if problems:
            raise ImportRejected(problems[:1])
        yield results


def _replay_in_processes(
    tasks: list[_PartTask], workers: int, progress: ProgressHook | None
) -> list[_PartResult]:
    # Fresh interpreters (spawn), not forks: the parent may hold database connections and
    # threads that a fork would copy half-way.
    context = multiprocessing.get_context("spawn")
    counter = context.Value("q", 0)
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_start_worker, initargs=(counter,)
    ) as pool:
        futures = [pool.submit(_replay_in_worker, t) for t in tasks]
        reported = 0
        pending = set(futures)
        while pending:
            _, pending = wait(pending, timeout=0.25)
            if progress is not None:
                value = int(counter.value)
                if value > reported:
                    progress.advance(value - reported)
                    reported = value
        return [f.result() for f in futures]


def _first_text(attributes: Mapping[str, Any], names: tuple[str, ...]) -> str | None:
    if not _names_any(tuple(attributes), names):
        return None  # most rows: none of their columns holds text (asked for every row)
    lowered = {k.lower(): v for k, v in attributes.items()}
    for name in names:
        value = lowered.get(name)
        if value is not None and str(value).strip():
            return " ".join(str(value).split())
    return None


@lru_cache(maxsize=1024)  # a log's rows repeat a few sets of columns
def _names_any(keys: tuple[str, ...], names: tuple[str, ...]) -> bool:
    """Whether any of the column names is one of `names`, in any case."""
    return any(k.lower() in names for k in keys)


@lru_cache(maxsize=1024)
def _source_key(key: str) -> str:
    """Ids from the other system mean nothing here; they are kept, marked as the source's."""
    return f"source_{key}" if key.endswith(("_id", "_ids")) else key


class _CaseWriter:
    """Replays each case and writes its rows to a scratch file, a batch at a time."""

    def __init__(
        self,
        directory: _PlannedDirectory,
        summary: HistoryImportSummary,
        task: _PartTask,
        scratch: Path,
    ) -> None:
        self.directory = directory
        self.summary = summary
        self.name = task.name
        self.digest = task.digest
        self.now = task.now
        self.decisions = task.decisions
        self.services = task.plan.services
        self.batch: list[tuple[LogCase, CasePlan, ServiceFacts | None, dict[str, Any]]] = []
        self.requests = 0
        self.offers = 0
        # Each instant's text made once: a case's rows share their instants (an event's time
        # is its offer's, its path step's, its pause's), and isoformat costs more than a look-up.
        self.time_texts: dict[datetime, str | None] = {}
        self.out = sqlite3.connect(scratch)
        self.out.execute("PRAGMA journal_mode = OFF")
        self.out.execute("PRAGMA synchronous = OFF")
        for table, columns in SCRATCH_TABLES.items():
            self.out.execute(f"CREATE TABLE {table} ({', '.join(c for c, _ in columns)})")
        self.insert = {
            table: f"INSERT INTO {table} VALUES ({', '.join('?' for _ in columns)})"
            for table, columns in SCRATCH_TABLES.items()
        }

    def close(self) -> None:
        self.out.commit()
        self.out.close()

    def add(self, case: LogCase) -> None:
        if not case.events:
            self.summary.cases_without_rows += 1
            return
        d = self.directory
        try:
            steps = list(self._steps(case))
            if steps and steps[0].kind in BEGUN_FINISHED and all(s.kind != "opened" for s in steps):
                # The log shows nothing of its life before it was finished (an export cut by
                # date): when it was opened is unknown, and an opening made up at its resolution
                # would teach the timescale a request resolved in no time. Left out, counted.
                # (One that is opened later in the log is a clock out of step: replayed.)
                self.summary.cases_begun_finished += 1
                return
            attributes = case.attributes
            first_group = next((e.group for e in case.events if e.group), None)
            group = first_group or real_name(attributes.get("group")) or DEFAULT_TEAM
            first_team = d.team(group)
            service = self._service(_first_text(attributes, ("service",)), first_team)
            targets = lifecycle.targets_of(service)
            requester_name = real_name(attributes.get("requester"))
            if requester_name is not None:
                requester = d.person(requester_name)
            elif steps[0].kind == "opened" and case.events[0].resource is not None:
                requester = steps[0].actor_id
            else:
                requester = d.unknown()
            teams = {first_team, *(s.team_id for s in steps), *(s.other_team_id for s in steps)}
            words = self._request_words(case, service, group)
            context = CaseContext(
                calendars=d.calendars,
                accountable=d.accountable,
                # Only a team nobody is accountable for needs the unknown person as its owner.
                unknown_id=(
                    d.unknown()
                    if any(d.accountable.get(t) is None for t in teams if t is not None)
                    else -1
                ),
                requester_id=requester,
                targets=targets,
                title=words["title"],
                base={"imported_from": self.name, "case_id": case.case_id},
                resolve_target_known=service is not None,
            )
            plan = replay_case(steps, first_team, context)
        except (ValueError, OverflowError, DomainError) as exc:
            raise ImportRejected(
                [Problem(self.name, case.line, "case", f"case {case.case_id!r}: {exc}")]
            ) from None
        plan.events[0].payload["import_digest"] = self.digest
        self.summary.left_out.update(plan.left_out)
        self.summary.handoffs += sum(1 for o in plan.offers if o.kind == "handoff")
        self.summary.pauses += len(plan.pauses)
        self.batch.append((case, plan, service, words))
        if len(self.batch) >= CASE_BATCH:
            self.flush()

    def _steps(self, case: LogCase) -> Iterator[Step]:
        person, team = self.directory.person, self.directory.team
        decisions = self.decisions
        for event in case.events:
            decision = decisions[event.combination_id]
            if decision.kind == IGNORE:
                continue
            if decision.reason.startswith("unknown"):
                unmapped = self.summary.unmapped_activities
                unmapped[event.activity] = unmapped.get(event.activity, 0) + 1
            payload: dict[str, Any] = (
                {_source_key(k): v for k, v in event.extras.items()} if event.extras else {}
            )
            other_group = payload.pop("other_group", None)
            named = payload.pop("person", None)
            payload["activity"] = event.activity
            if event.lifecycle is not None:
                payload["lifecycle"] = event.lifecycle
            if event.status is not None:
                payload["status"] = event.status
            other = real_name(other_group)
            about = real_name(named)
            yield Step(
                kind=decision.kind,
                at=event.at,
                actor_id=person(event.resource),
                team_id=None if event.group is None else team(event.group),
                payload=payload,
                other_team_id=None if other is None else team(other),
                person_id=None if about is None else person(about),
                waiting_on=decision.waiting_on,
            )

    def _service(self, name: str | None, team_id: int) -> ServiceFacts | None:
        if not name:
            return None
        found = self.services.get(name, [])
        in_team = [s for s in found if s.team_id == team_id]
        if len(in_team) == 1:
            return in_team[0]
        return found[0] if len(found) == 1 else None

    def _request_words(
        self, case: LogCase, service: ServiceFacts | None, group: str
    ) -> dict[str, Any]:
        """Title and need: the log's own words where it has them, else the service (or the
        team) and the case id, so a reader can find the case in the other system."""
        attributes = case.attributes
        title = _first_text(attributes, TITLE_ATTRIBUTES)
        need = _first_text(attributes, NEED_ATTRIBUTES)
        if title is None or need is None:
            # Many exports repeat the ticket's summary on its rows rather than as a case column.
            for event in case.events:
                if event.extras:
                    title = title or _first_text(event.extras, TITLE_ATTRIBUTES)
                    need = need or _first_text(event.extras, NEED_ATTRIBUTES)
                    if title is not None and need is not None:
                        break
        if title is None:
            if need is not None:
                title = need
            else:
                label = (
                    service.name
                    if service is not None
                    else _first_text(attributes, SERVICE_ATTRIBUTES) or group
                )
                title = f"{label} — {case.case_id}"
        priority = str(attributes.get("priority") or "normal").lower()
        return {
            "title": title[:200],
            "need": need or f"Imported from {self.name}, case {case.case_id}.",
            "priority": priority if priority in rules.PRIORITIES else "normal",
        }

    def flush(self) -> None:
        """Write the buffered cases to the scratch file, with ids local to this part."""
        if not self.batch:
            return
        time = self.time
        requests: list[tuple[Any, ...]] = []
        offers: list[tuple[Any, ...]] = []
        steps: list[tuple[Any, ...]] = []
        participants: list[tuple[Any, ...]] = []
        pauses: list[tuple[Any, ...]] = []
        events: list[tuple[Any, ...]] = []
        calendars = self.directory.calendars
        dumps = json.dumps
        for case, plan, service, text in self.batch:
            self.requests += 1
            request_id = self.requests
            targets = lifecycle.targets_of(service)
            requests.append(self._request_row(request_id, case, plan, service, text))
            offer_id: dict[int, int] = {}
            for offer in plan.offers:
                due_at = offer.due_at
                if offer.state == "open":  # still to be accepted: the clock starts today
                    due_at = lifecycle.accept_due(
                        calendars.get(offer.to_team_id) or WorkingCalendar(), targets, self.now
                    )
                self.offers += 1
                offer_id[id(offer)] = number = self.offers
                offers.append(
                    (
                        number,
                        request_id,
                        offer.kind,
                        offer.from_person_id,
                        offer.from_team_id,
                        offer.to_team_id,
                        offer.to_person_id,
                        "",
                        offer.state,
                        time(offer.offered_at),
                        time(due_at),
                        time(offer.answered_at),
                        offer.answered_by_id,
                        offer.decline_reason,
                    )
                )
            steps.extend(
                (request_id, team, time(at), int(bounce)) for team, at, bounce in plan.path
            )
            participants.extend((request_id, p) for p in sorted(plan.participants))
            pauses.extend(
                (request_id, p.reason, "", time(p.started_at), p.started_by_id, time(p.ended_at))
                for p in plan.pauses
            )
            for e in plan.events:
                payload = e.payload
                about: int | None = None
                tail: str | None = None
                if e.offer is None:
                    stored = dumps(payload)
                else:
                    about = offer_id[id(e.offer)]
                    payload["offer_id"] = _OFFER_MARK
                    head, tail = dumps(payload).split(_OFFER_MARK_TEXT, 1)
                    stored = head + _OFFER_KEY
                    payload["offer_id"] = about
                events.append(
                    (
                        e.kind,
                        time(e.at),
                        request_id,
                        e.actor_id,
                        e.team_id,
                        e.other_team_id,
                        e.person_id,
                        stored,
                        about,
                        tail,
                    )
                )
        out, insert = self.out, self.insert
        out.executemany(insert["request"], requests)
        out.executemany(insert["offer"], offers)
        out.executemany(insert["path_step"], steps)
        out.executemany(insert["request_participant"], participants)
        out.executemany(insert["pause"], pauses)
        out.executemany(insert["event"], events)
        self.summary.requests += len(self.batch)
        self.summary.events += len(events)
        self.batch = []

    def time(self, value: datetime | None) -> str | None:
        """`_naive(value)`, each distinct instant worked out once (bounded)."""
        if value is None:
            return None
        texts = self.time_texts
        text = texts.get(value)
        if text is None:
            if len(texts) >= TIME_TEXTS:
                texts.clear()
            text = texts[value] = _naive(value)
        return text

    def _request_row(
        self,
        request_id: int,
        case: LogCase,
        plan: CasePlan,
        service: ServiceFacts | None,
        text: dict[str, Any],
    ) -> tuple[Any, ...]:
        # The clocks of a request still open or resolved start today, not in the log's past.
        r = lifecycle.restart_clocks(
            plan.request,
            self.directory.calendars.get(plan.request.team_id) or WorkingCalendar(),
            lifecycle.targets_of(service),
            self.now,
        )
        time = self.time
        return (
            request_id,
            text["title"],
            text["need"],
            "",
            0,
            text["priority"],
            r.requester_id,
            None if service is None else service.id,
            r.team_id,
            r.owner_id,
            str(r.state),
            None if r.waiting_on is None else str(r.waiting_on),
            int(service is not None and service.confidential),
            time(r.opened_at),
            time(r.accepted_at),
            time(r.resolved_at),
            time(r.closed_at),
            time(plan.events[-1].at),
            r.resolution,
            time(r.next_update_due_at),
            time(r.update_escalate_at),
            time(r.resolve_due_at),
            time(r.clock_paused_at),
            r.paused_business_seconds,
            time(r.auto_close_at),
            r.bounce_count,
            1,
            case.case_id[:200],
        )


# --- the load: one transaction ----------------------------------------------------------------


def _load(
    session: Session, spill: Spill, plan: DirectoryPlan, parts: list[_PartResult]
) -> HistoryImportSummary:
    """Create the planned people and teams, then load every part's rows; all in the
    caller's transaction, with nothing to wait for."""
    name = spill.name
    summary = HistoryImportSummary(
        log_rows=spill.facts.events, placeholder_rows=spill.facts.placeholder_rows
    )
    for part in parts:
        s = part.summary
        summary.requests += s.requests
        summary.events += s.events
        summary.handoffs += s.handoffs
        summary.pauses += s.pauses
        summary.cases_without_rows += s.cases_without_rows
        summary.cases_begun_finished += s.cases_begun_finished
        summary.left_out.update(s.left_out)
        for activity, count in s.unmapped_activities.items():
            summary.unmapped_activities[activity] = (
                summary.unmapped_activities.get(activity, 0) + count
            )
    try:
        connection = session.connection()
        # The search documents are made once for all the imported requests, after their rows
        # are in, rather than recomputed by the triggers per participant, offer and event row
        # (SQLite: the triggers are dropped and put back in this transaction, which holds the
        # only write turn; PostgreSQL: skipped with the foreign keys' where the role may).
        suspended = (
            None if connection.dialect.name == "postgresql" else suspend_triggers(connection)
        )
        bulk = BulkRows(session)
        try:
            people, teams = _create_directory(
                session,
                bulk,
                plan,
                summary,
                unknown=any(p.used_unknown for p in parts),
                default_team=any(p.used_default_team for p in parts),
            )
            loaded = bulk.load_parts(
                SCRATCH_TABLES,
                [(Path(p.scratch), p.requests, p.offers) for p in parts],
                people,
                teams,
                search_made_after=True,
            )
        finally:
            bulk.close()
        if (suspended is not None or loaded.search_skipped) and loaded.first_request is not None:
            rebuild_documents(connection, loaded.first_request, loaded.last_request or 0)
        if suspended is not None:
            resume_triggers(connection, suspended)
    except DomainError as exc:
        raise ImportRejected([Problem(name, None, exc.field or "", exc.detail)]) from None
    except MissingReference as exc:
        raise ImportRejected([Problem(name, None, "", f"could not be written: {exc}")]) from None
    except DBAPIError as exc:
        reason = str(exc.orig).splitlines()[0] if exc.orig is not None else str(exc)
        raise ImportRejected([Problem(name, None, "", f"could not be written: {reason}")]) from None
    return summary


def _create_directory(
    session: Session,
    bulk: BulkRows,
    plan: DirectoryPlan,
    summary: HistoryImportSummary,
    *,
    unknown: bool,
    default_team: bool,
) -> tuple[dict[int, int], dict[int, int]]:
    """Insert the planned people, departments, teams and memberships; the real id of each
    planned symbol (people, teams)."""
    new_people = plan.new_people
    if plan.optional_unknown and not unknown:
        new_people = new_people[:-1]
    new_teams = plan.new_teams
    if plan.optional_default_team and not default_team:
        new_teams = new_teams[:-1]
    people: dict[int, int] = {}
    if new_people:
        _insert(session, Person, new_people)
        fresh = {p["handle"]: -number for number, p in enumerate(new_people, 1)}
        for handle, person_id in session.execute(select(Person.handle, Person.id)):
            symbol = fresh.get(handle)
            if symbol is not None:
                people[symbol] = person_id
        summary.people_created += len(new_people)
    teams: dict[int, int] = {}
    if new_teams:
        departments = dict(session.execute(select(Department.name, Department.id)).all())
        missing = sorted({d for _, d in new_teams} - set(departments))
        if missing:
            _insert(session, Department, [{"name": d} for d in missing])
            departments = dict(session.execute(select(Department.name, Department.id)).all())
            summary.departments_created += len(missing)
        _insert(session, Team, [{"name": t, "department_id": departments[d]} for t, d in new_teams])
        fresh = {t: -number for number, (t, _) in enumerate(new_teams, 1)}
        for team_name, team_id in session.execute(select(Team.name, Team.id)):
            symbol = fresh.get(team_name)
            if symbol is not None:
                teams[symbol] = team_id
        summary.teams_created += len(new_teams)

    def person(planned: int) -> int:
        return people[planned] if planned < 0 else planned

    if plan.members:
        # Tens of thousands of rows: straight to the driver (an ORM statement of that many
        # values costs seconds to compile). The organisation snapshot already knows the
        # organisation changed: the teams these members join were inserted just now.
        bulk.insert(
            "membership",
            ("team_id", "person_id"),
            [(teams[t], person(p)) for t, p in plan.members],
        )
        team = cast(Table, Team.__table__)
        session.execute(
            update(team).where(team.c.id == bindparam("team")).values(lead_id=bindparam("lead")),
            [{"team": teams[t], "lead": person(p)} for t, p in plan.leads.items()],
        )
    return people, teams


def _insert(session: Session, model: type[Any], rows: list[dict[str, Any]]) -> None:
    # The ORM-enabled statement: the organisation snapshot sees the organisation changed.
    # One multi-row INSERT per chunk: psycopg's executemany sends tens of thousands of
    # memberships one statement each (seconds on PostgreSQL).
    for start in range(0, len(rows), ORG_ROWS_PER_INSERT):
        session.execute(insert(model).values(rows[start : start + ORG_ROWS_PER_INSERT]))
