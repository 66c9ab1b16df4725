"""Importing another system's ticket history (an XES or CSV event log) as requests and events.

Cases become requests, rows become events of the kind the mapping rules give them
(`log_mapping`), resources become people and groups become teams, so a team can start from its
real history and Insight reads it as it reads the desk's own. The import runs in three steps:

1. read the log into a spill file (`log_reader`), checking every row and counting the
   combinations, people and groups: nothing is written if anything is wrong, and a dry run
   stops here;
2. create the people, departments, teams and memberships the log needs, all at once, so the
   organisation changes once rather than with every case;
3. replay each case through the lifecycle (`case_replay`) and write its request, team path,
   offers, pauses and events with bulk inserts.

The whole import is one transaction: any problem, and nothing is written. The formats and the
mapping are in docs/import-export.md ("Bring your own history").
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, cast

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from followthrough.errors import DomainError
from followthrough.history.bulk_rows import BulkRows
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
    LogCase,
    LogFacts,
    ProgressHook,
    Spill,
    parse_time,
    read_log,
    real_name,
)
from followthrough.history.models import Event
from followthrough.org.importer import ImportRejected, Problem
from followthrough.org.models import Department, Holiday, Person, Service, Team
from followthrough.org.rules import WorkingCalendar
from followthrough.requests import lifecycle, rules
from followthrough.requests.models import Offer, PathStep, Pause, Request, RequestParticipant

__all__ = [
    "MAX_FIELD_CHARS",
    "HistoryImportSummary",
    "HistoryPreview",
    "ImportRejected",
    "handle_for",
    "import_history",
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
) -> Spill:
    """The log read into a spill, or ImportRejected naming every problem (up to 50)."""
    name = path.name
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            reason = f"the file is larger than the limit of {MAX_FILE_BYTES:,} bytes"
            raise ImportRejected([Problem(name, None, "", reason)])
    except OSError as exc:
        raise ImportRejected([Problem(name, None, "", exc.strerror or str(exc))]) from None
    problems: list[Problem] = []
    spill = read_log(path, _format(path, fmt), mapping, problems, progress)
    if reject_unmapped:
        for combination, line in spill.facts.first_line.items():
            if not mapping.is_known(combination):
                problems.append(
                    Problem(name, line, "activity", f"unmapped {combination.activity!r}")
                )
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
) -> HistoryPreview:
    """Read the log and say what each distinct (activity, lifecycle, status) combination
    becomes, with counts; writes nothing anywhere."""
    mapping = mapping or LogMapping()
    with _read(path, fmt, mapping, reject_unmapped, progress) as spill:
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
    """Import every case of the log, or raise ImportRejected naming each problem.

    Raises before returning if anything is wrong; the caller's unit of work then rolls back, so
    nothing is written. `now` starts the clocks (acceptance, updates, auto-close) of imported
    requests that are still open or resolved. `activity_map` (ACTIVITY -> KIND) adds rules
    before those of `mapping`.
    """
    name = path.name
    if mapping is None or activity_map:
        base = mapping or LogMapping()
        extra = load_mapping(None, activity_map=activity_map or {})
        mapping = LogMapping(
            rules=(*extra.rules, *base.rules),
            departments=base.departments,
            department_attribute=base.department_attribute,
            department_pattern=base.department_pattern,
            status_attribute=base.status_attribute,
        )
    try:
        digest = file_digest(path)
    except OSError as exc:
        raise ImportRejected([Problem(name, None, "", exc.strerror or str(exc))]) from None
    previous = already_imported(session, digest)
    if previous:
        raise ImportRejected(
            [Problem(name, None, "", f"this file was already imported ({previous} requests)")]
        )
    with _read(path, fmt, mapping, reject_unmapped, progress) as spill:
        summary = HistoryImportSummary(
            log_rows=spill.facts.events, placeholder_rows=spill.facts.placeholder_rows
        )
        try:
            bulk = BulkRows(session)
            try:
                directory = _Directory(session, spill.facts, mapping, summary, bulk)
                writer = _CaseWriter(session, directory, summary, name, digest, now, spill, bulk)
                if progress is not None:
                    progress.total(spill.facts.events)
                for case in spill.cases():
                    writer.add(case)
                    if progress is not None:
                        progress.advance(len(case.events))
                writer.flush()
            finally:
                bulk.close()
        except ImportRejected:
            raise
        except DomainError as exc:
            raise ImportRejected([Problem(name, None, exc.field or "", exc.detail)]) from None
        except DBAPIError as exc:
            reason = str(exc.orig).splitlines()[0] if exc.orig is not None else str(exc)
            raise ImportRejected(
                [Problem(name, None, "", f"could not be written: {reason}")]
            ) from None
    return summary


# --- the organisation -------------------------------------------------------------------------


class _Directory:
    """The people and teams of the log, created all at once before any request is written."""

    def __init__(
        self,
        session: Session,
        facts: LogFacts,
        mapping: LogMapping,
        summary: HistoryImportSummary,
        bulk: BulkRows,
    ) -> None:
        self.session = session
        self.summary = summary
        self.bulk = bulk
        self.handles: dict[str, int] = dict(session.execute(select(Person.handle, Person.id)).all())
        self.emails = set(session.scalars(select(Person.email)))
        self.team_ids: dict[str, int] = dict(session.execute(select(Team.name, Team.id)).all())
        self._create_people(list(facts.people))
        created = self._create_teams(facts, mapping)
        self._add_members(facts, created)
        self._load_teams()
        self._unknown: int | None = self.handles.get(UNKNOWN_HANDLE)
        self.by_name: dict[str, int] = {}

    def _create_people(self, names: Sequence[str]) -> None:
        rows: list[dict[str, Any]] = []
        for resource in names:
            handle = handle_for(resource)
            if handle in self.handles or any(r["handle"] == handle for r in rows[-1:]):
                continue
            self.handles[handle] = -1  # claimed; the id comes back after the insert
            rows.append({"handle": handle, "name": resource[:200], "email": self._email(handle)})
        if rows:
            self._insert(Person, rows)
            fresh = {r["handle"] for r in rows}
            for handle, person_id in self.session.execute(select(Person.handle, Person.id)):
                if handle in fresh:
                    self.handles[handle] = person_id
            self.summary.people_created += len(rows)

    def _email(self, handle: str) -> str:
        email = f"{handle}@imported.invalid"
        number = 1
        while email in self.emails:
            number += 1
            email = f"{handle}.{number}@imported.invalid"
        self.emails.add(email)
        return email

    def _insert(self, model: type[Any], rows: list[dict[str, Any]]) -> None:
        # The ORM-enabled statement: the organisation snapshot sees the organisation changed.
        # One multi-row INSERT per chunk: psycopg's executemany sends tens of thousands of
        # memberships one statement each (seconds on PostgreSQL).
        for start in range(0, len(rows), ORG_ROWS_PER_INSERT):
            self.session.execute(insert(model).values(rows[start : start + ORG_ROWS_PER_INSERT]))

    def _create_teams(self, facts: LogFacts, mapping: LogMapping) -> set[int]:
        wanted = {
            group[:120]: mapping.department_of(group, department)
            for group, department in facts.groups.items()
            if group[:120] not in self.team_ids
        }
        if not wanted:
            return set()
        departments = dict(self.session.execute(select(Department.name, Department.id)).all())
        missing = sorted(
            {(d or IMPORTED_DEPARTMENT)[:120] for d in wanted.values()} - set(departments)
        )
        if missing:
            self._insert(Department, [{"name": d} for d in missing])
            departments = dict(self.session.execute(select(Department.name, Department.id)).all())
            self.summary.departments_created += len(missing)
        self._insert(
            Team,
            [
                {"name": team, "department_id": departments[(d or IMPORTED_DEPARTMENT)[:120]]}
                for team, d in wanted.items()
            ],
        )
        self.team_ids = dict(self.session.execute(select(Team.name, Team.id)).all())
        self.summary.teams_created += len(wanted)
        return {self.team_ids[t] for t in wanted}

    def _add_members(self, facts: LogFacts, created: set[int]) -> None:
        """Whoever worked in a team this import created becomes a member; the first, its lead."""
        members: dict[tuple[int, int], None] = {}
        leads: dict[int, int] = {}
        for group, resource in facts.workers:
            team_id = self.team_ids[group[:120]]
            if team_id in created:
                person_id = self.handles[handle_for(resource)]
                members.setdefault((team_id, person_id))
                leads.setdefault(team_id, person_id)
        if members:
            # Tens of thousands of rows: straight to the driver (an ORM statement of that many
            # values costs seconds to compile). The organisation snapshot already knows the
            # organisation changed: the teams these members join were inserted just now.
            self.bulk.insert("membership", ("team_id", "person_id"), members)
            team = cast(Table, Team.__table__)
            self.session.execute(
                update(team)
                .where(team.c.id == bindparam("team"))
                .values(lead_id=bindparam("lead")),
                [{"team": t, "lead": p} for t, p in leads.items()],
            )

    def _load_teams(self) -> None:
        """Each team's calendar and accountable person, read once."""
        holidays: dict[int, set[Any]] = {}
        for team_id, day in self.session.execute(select(Holiday.team_id, Holiday.day)):
            holidays.setdefault(team_id, set()).add(day)
        self.calendars: dict[int, WorkingCalendar] = {}
        self.accountable: dict[int, int | None] = {}
        for t in self.session.execute(
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
            self.calendars[t.id] = WorkingCalendar(
                timezone=t.timezone,
                day_start_minute=t.day_start_minute,
                day_end_minute=t.day_end_minute,
                working_days=frozenset(int(d) for d in t.working_days),
                holidays=frozenset(holidays.get(t.id, ())),
            )
            self.accountable[t.id] = rules.effective_duty_owner(t.duty_owner_id, t.lead_id)

    def person(self, resource: str | None) -> int:
        if resource is None:
            return self.unknown()
        person_id = self.by_name.get(resource)
        if person_id is None:
            person_id = self.by_name[resource] = self.handles[handle_for(resource)]
        return person_id

    def team(self, group: str) -> int:
        team_id = self.team_ids.get(group[:120])
        if team_id is None:  # only the default team is made this late
            departments = dict(self.session.execute(select(Department.name, Department.id)).all())
            if IMPORTED_DEPARTMENT not in departments:
                self._insert(Department, [{"name": IMPORTED_DEPARTMENT}])
                self.summary.departments_created += 1
            department_id = self.session.scalar(
                select(Department.id).where(Department.name == IMPORTED_DEPARTMENT)
            )
            self._insert(Team, [{"name": group[:120], "department_id": department_id}])
            created = self.session.scalar(select(Team.id).where(Team.name == group[:120]))
            assert created is not None
            team_id = self.team_ids[group[:120]] = created
            self.calendars[team_id] = WorkingCalendar()
            self.accountable[team_id] = None
            self.summary.teams_created += 1
        return team_id

    def unknown(self) -> int:
        """The one person standing in for every placeholder resource of the import."""
        if self._unknown is None:
            self._insert(
                Person,
                [
                    {
                        "handle": UNKNOWN_HANDLE,
                        "name": UNKNOWN_NAME,
                        "email": self._email(UNKNOWN_HANDLE),
                    }
                ],
            )
            self._unknown = self.session.scalar(
                select(Person.id).where(Person.handle == UNKNOWN_HANDLE)
            )
            assert self._unknown is not None
            self.handles[UNKNOWN_HANDLE] = self._unknown
            self.summary.people_created += 1
        return self._unknown


# --- the requests -----------------------------------------------------------------------------

_TABLES = {
    model: cast(Table, model.__table__)
    for model in (Request, Offer, PathStep, Pause, RequestParticipant, Event)
}


def _first_text(attributes: Mapping[str, Any], names: Sequence[str]) -> str | None:
    if not any(k.lower() in names for k in attributes):
        return None  # most rows: none of their columns holds text (asked for every row)
    lowered = {k.lower(): v for k, v in attributes.items()}
    for name in names:
        value = lowered.get(name)
        if value is not None and str(value).strip():
            return " ".join(str(value).split())
    return None


@lru_cache(maxsize=1024)
def _source_key(key: str) -> str:
    """Ids from the other system mean nothing here; they are kept, marked as the source's."""
    return f"source_{key}" if key.endswith(("_id", "_ids")) else key


class _CaseWriter:
    """Replays each case and writes the requests, in batches of bulk inserts."""

    def __init__(
        self,
        session: Session,
        directory: _Directory,
        summary: HistoryImportSummary,
        name: str,
        digest: str,
        now: datetime,
        spill: Spill,
        bulk: BulkRows,
    ) -> None:
        self.session = session
        self.directory = directory
        self.summary = summary
        self.name = name
        self.digest = digest
        self.now = now
        self.spill = spill
        self.batch: list[tuple[LogCase, CasePlan, Service | None, dict[str, Any]]] = []
        self.bulk = bulk
        self.services: dict[str, list[Service]] = {}
        for service in session.scalars(select(Service).where(Service.active.is_(True))):
            self.services.setdefault(service.name, []).append(service)

    def add(self, case: LogCase) -> None:
        if not case.events:
            self.summary.cases_without_rows += 1
            return
        d = self.directory
        try:
            steps = list(self._steps(case))
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
        decisions = self.spill.decisions
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

    def _service(self, name: str | None, team_id: int) -> Service | None:
        if not name:
            return None
        found = self.services.get(name, [])
        in_team = [s for s in found if s.team_id == team_id]
        if len(in_team) == 1:
            return in_team[0]
        return found[0] if len(found) == 1 else None

    def _request_words(self, case: LogCase, service: Service | None, group: str) -> dict[str, Any]:
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
        """Write the buffered cases: ids first, so every row can name the rows it points to."""
        if not self.batch:
            return
        bulk = self.bulk
        time, flag = bulk.time, bulk.flag
        request_ids = bulk.reserve_ids("request", len(self.batch))
        offer_ids = iter(bulk.reserve_ids("offer", sum(len(p.offers) for _, p, _, _ in self.batch)))
        requests: list[tuple[Any, ...]] = []
        offers: list[tuple[Any, ...]] = []
        steps: list[tuple[Any, ...]] = []
        participants: list[tuple[Any, ...]] = []
        pauses: list[tuple[Any, ...]] = []
        events: list[tuple[Any, ...]] = []
        for request_id, (case, plan, service, text) in zip(request_ids, self.batch, strict=True):
            targets = lifecycle.targets_of(service)
            requests.append(self._request_row(request_id, case, plan, service, text))
            offer_id: dict[int, int] = {}
            for offer in plan.offers:
                due_at = offer.due_at
                if offer.state == "open":  # still to be accepted: the clock starts today
                    due_at = lifecycle.accept_due(
                        self.directory.calendars.get(offer.to_team_id) or WorkingCalendar(),
                        targets,
                        self.now,
                    )
                offer_id[id(offer)] = number = next(offer_ids)
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
                (request_id, team, time(at), flag(bounce)) for team, at, bounce in plan.path
            )
            participants.extend((request_id, p) for p in sorted(plan.participants))
            pauses.extend(
                (request_id, p.reason, "", time(p.started_at), p.started_by_id, time(p.ended_at))
                for p in plan.pauses
            )
            for e in plan.events:
                payload = e.payload
                if e.offer is not None:
                    payload["offer_id"] = offer_id[id(e.offer)]
                events.append(
                    (
                        e.kind,
                        time(e.at),
                        request_id,
                        e.actor_id,
                        e.team_id,
                        e.other_team_id,
                        e.person_id,
                        bulk.json(payload),
                    )
                )
        # Written while the next batch is replayed (requests first: the rest point to them).
        bulk.submit(
            [
                ("request", REQUEST_COLUMNS, requests),
                ("offer", OFFER_COLUMNS, offers),
                ("path_step", ("request_id", "team_id", "entered_at", "is_bounce"), steps),
                ("request_participant", ("request_id", "person_id"), participants),
                (
                    "pause",
                    ("request_id", "reason", "note", "started_at", "started_by_id", "ended_at"),
                    pauses,
                ),
                ("event", EVENT_COLUMNS, events),
            ]
        )
        self.summary.requests += len(self.batch)
        self.summary.events += len(events)
        self.batch = []

    def _request_row(
        self,
        request_id: int,
        case: LogCase,
        plan: CasePlan,
        service: Service | None,
        text: dict[str, Any],
    ) -> tuple[Any, ...]:
        # The clocks of a request still open or resolved start today, not in the log's past.
        r = lifecycle.restart_clocks(
            plan.request,
            self.directory.calendars.get(plan.request.team_id) or WorkingCalendar(),
            lifecycle.targets_of(service),
            self.now,
        )
        time = self.bulk.time
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
            self.bulk.flag(service is not None and service.confidential),
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


REQUEST_COLUMNS = (
    "id",
    "title",
    "need",
    "context",
    "impact_customers",
    "priority",
    "requester_id",
    "service_id",
    "team_id",
    "owner_id",
    "state",
    "waiting_on",
    "confidential",
    "opened_at",
    "accepted_at",
    "resolved_at",
    "closed_at",
    "updated_at",
    "resolution",
    "next_update_due_at",
    "update_escalate_at",
    "resolve_due_at",
    "clock_paused_at",
    "paused_business_seconds",
    "auto_close_at",
    "bounce_count",
    "version",
    "source_case_id",
)
EVENT_COLUMNS = (
    "kind",
    "at",
    "request_id",
    "actor_id",
    "team_id",
    "other_team_id",
    "person_id",
    "payload",
)
OFFER_COLUMNS = (
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
    "answered_at",
    "answered_by_id",
    "decline_reason",
)
