"""Importing another system's ticket history (an XES or CSV event log) as requests and events.

Cases become requests, activities become events of a mapped kind, resources become people and
groups become teams, so a team can start from its real history. The result keeps the product's
invariants: one owner, a state that follows the last lifecycle event, a team path with bounces,
and events in time order. The whole import is one transaction: any problem, and nothing is
written. The formats and the activity mapping are in docs/import-export.md.
"""

from __future__ import annotations

import csv
import hashlib
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol
from xml.parsers import expat

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from followthrough.fields import EARLIEST, LATEST
from followthrough.history.models import Event
from followthrough.history.service import EVENT_KINDS
from followthrough.org import service as org
from followthrough.org.importer import ImportRejected, Problem
from followthrough.org.models import Department, Membership, Person, Service, Team
from followthrough.org.rules import add_business_hours
from followthrough.requests import rules
from followthrough.requests.models import (
    Offer,
    PathStep,
    Pause,
    Request,
    RequestParticipant,
)
from followthrough.requests.service import targets_of

LogFormat = Literal["xes", "csv"]

IMPORTED_DEPARTMENT = "Imported"
DEFAULT_TEAM = "Imported"
PLACEHOLDER_HANDLE = "imported"
MAX_PROBLEMS = 50
EVENT_BATCH = 5000
# A log is streamed, never held whole; beyond this it is not one desk's history.
MAX_FILE_BYTES = 1024**3
# The longest text one cell or attribute may hold (a request's need holds 10,000 characters).
MAX_FIELD_CHARS = 10_000


def _words(activity: str) -> str:
    return " ".join(re.sub(r"[^0-9a-z]+", " ", activity.lower()).split())


_MAPPED_WORDS: dict[str, tuple[str, ...]] = {
    "opened": ("open", "create", "created", "new", "submit", "submitted", "register",
               "registered", "report", "reported", "log", "logged", "raise", "raised"),
    "accepted": ("assign", "assigned", "accept", "take", "taken", "take over", "pick up",
                 "picked up", "start", "started", "start work", "in progress", "own"),
    "offered": ("handoff", "hand off", "handover", "hand over", "forward", "forwarded",
                "transfer", "transferred", "reassign", "reassigned", "route", "routed",
                "dispatch", "dispatched", "offer"),
    "declined": ("decline", "reject", "rejected", "refuse", "refused", "send back"),
    "withdrawn": ("withdraw", "recall", "recalled"),
    "escalated": ("escalate", "escalation"),
    "paused": ("pause", "wait", "waiting", "on hold", "hold", "suspend", "suspended",
               "await", "awaiting", "pending"),
    "resumed": ("resume", "unhold", "continue", "continued", "reactivate", "reactivated"),
    "clarification_asked": ("ask", "request info", "request information", "need info",
                            "ask requester", "clarify"),
    "clarification_answered": ("info received", "answer", "answered", "clarified"),
    "update_posted": ("update", "updated", "comment", "commented", "note", "reply", "replied",
                      "respond", "responded", "post update"),
    "promise_made": ("promise",),
    "resolved": ("resolve", "solve", "solved", "fix", "fixed", "complete", "completed", "done",
                 "finish", "finished"),
    "reopened": ("reopen", "re open", "re opened"),
    "closed": ("close", "archive", "archived", "cancel", "cancelled", "canceled"),
}  # fmt: skip

# Activity (lower case, words only) -> event kind. Our own kinds map to themselves, so an
# exported log comes back unchanged.
ACTIVITY_KINDS: dict[str, str] = {
    **{_words(kind): kind for kind in EVENT_KINDS},
    **{_words(word): kind for kind, words in _MAPPED_WORDS.items() for word in words},
}

# Kinds that move the request's state; everything else leaves it as it was.
STATE_AFTER: dict[str, str] = {
    "opened": rules.NEW,
    "accepted": rules.IN_PROGRESS,
    "paused": rules.WAITING,
    "resumed": rules.IN_PROGRESS,
    "clarification_asked": rules.NEEDS_CLARIFICATION,
    "clarification_answered": rules.IN_PROGRESS,
    "resolved": rules.RESOLVED,
    "reopened": rules.IN_PROGRESS,
    "closed": rules.CLOSED,
}

# Events about an offer name the other party's team; they do not move the request.
OFFER_KINDS = frozenset({"offered", "declined", "withdrawn", "escalated"})


def kind_of(activity: str, extra: Mapping[str, str] | None = None) -> str | None:
    """The event kind for an activity name, or None when the mapping does not know it."""
    key = _words(activity)
    if extra:
        for name, kind in extra.items():
            if _words(name) == key:
                return kind
    return ACTIVITY_KINDS.get(key)


# --- reading the log --------------------------------------------------------------------------


@dataclass
class LogEvent:
    line: int | None
    activity: str
    at: datetime
    resource: str | None
    group: str | None
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass
class LogCase:
    case_id: str
    line: int | None
    attributes: dict[str, Any] = field(default_factory=dict)
    events: list[LogEvent] = field(default_factory=list)


class ProgressHook(Protocol):
    """Told how much work there is and how much is done; the CLI draws it as a bar."""

    def total(self, amount: int) -> None: ...

    def advance(self, amount: int) -> None: ...


def parse_time(text: str) -> datetime:
    """An ISO 8601 instant; without an offset it is read as UTC. ValueError outside the years
    the desk plans in (fields.EARLIEST to fields.LATEST)."""
    value = datetime.fromisoformat(text.strip())
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value
    # Compared before converting: 9999-12-31T23:00-05:00 would overflow on the way to UTC.
    if not EARLIEST <= value <= LATEST:
        raise ValueError(f"{text.strip()!r} is outside {EARLIEST.year} to {LATEST.year}")
    return value.astimezone(UTC)


def _text_problems(name: str, case: LogCase) -> Iterator[Problem]:
    """Text PostgreSQL cannot store (a NUL character) or longer than MAX_FIELD_CHARS, by line."""

    def check(line: int | None, field_name: str, value: Any) -> Iterator[Problem]:
        if not isinstance(value, str):
            return
        if "\x00" in value:
            yield Problem(name, line, field_name, "contains a NUL (\\x00) character")
        elif len(value) > MAX_FIELD_CHARS:
            yield Problem(name, line, field_name, f"longer than {MAX_FIELD_CHARS} characters")

    yield from check(case.line, "case", case.case_id)
    for key, value in case.attributes.items():
        yield from check(case.line, f"case:{key}", key)
        yield from check(case.line, f"case:{key}", value)
    for event in case.events:
        yield from check(event.line, "activity", event.activity)
        yield from check(event.line, "resource", event.resource)
        yield from check(event.line, "group", event.group)
        for key, value in event.extras.items():
            yield from check(event.line, key, key)
            yield from check(event.line, key, value)


CSV_ALIASES = {
    "case:concept:name": "case_id",
    "case": "case_id",
    "concept:name": "activity",
    "time:timestamp": "timestamp",
    "org:resource": "resource",
    "org:group": "group",
    "title": "case:title",
}
CSV_REQUIRED = ("case_id", "activity", "timestamp")


def read_csv_log(
    path: Path, problems: list[Problem], progress: ProgressHook | None = None
) -> Iterator[LogCase]:
    """Cases of a CSV event log, in the order each case first appears."""
    name = path.name
    cases: dict[str, LogCase] = {}
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            problems.append(Problem(name, 1, "", "the file is empty"))
            return
        columns = [CSV_ALIASES.get(c.strip().lower(), c.strip()) for c in header]
        missing = [c for c in CSV_REQUIRED if c not in columns]
        for column in missing:
            problems.append(Problem(name, 1, column, "required column is missing"))
        if missing:
            return
        line = reader.line_num
        for cells in reader:
            start, line = line + 1, reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(cells) > len(columns):
                problems.append(Problem(name, start, "", "more cells than the header has columns"))
                continue
            row = {c: v.strip() for c, v in zip(columns, cells, strict=False) if v.strip()}
            event = _csv_event(name, start, row, problems)
            if event is None:
                continue
            case_id = row["case_id"]
            case = cases.get(case_id)
            if case is None:
                case = cases[case_id] = LogCase(case_id, start)
            for column, value in row.items():
                if column.startswith("case:"):
                    case.attributes.setdefault(column.removeprefix("case:"), value)
            case.events.append(event)
    if progress is not None:
        progress.total(sum(len(c.events) for c in cases.values()))
    yield from cases.values()


def _csv_event(
    name: str, line: int, row: dict[str, str], problems: list[Problem]
) -> LogEvent | None:
    bad = False
    for column in CSV_REQUIRED:
        if column not in row:
            problems.append(Problem(name, line, column, "is required"))
            bad = True
    if bad:
        return None
    try:
        at = parse_time(row["timestamp"])
    except ValueError:
        problems.append(
            Problem(name, line, "timestamp", f"{row['timestamp']!r} is not an ISO 8601 time")
        )
        return None
    known = {"case_id", "activity", "timestamp", "resource", "group"}
    return LogEvent(
        line=line,
        activity=row["activity"],
        at=at,
        resource=row.get("resource"),
        group=row.get("group"),
        extras={k: v for k, v in row.items() if k not in known and not k.startswith("case:")},
    )


_XES_VALUE_TAGS = frozenset({"string", "date", "int", "float", "boolean", "id"})


def _xes_value(tag: str, text: str) -> Any:
    if tag == "int":
        return int(text)
    if tag == "float":
        number = float(text)
        if not math.isfinite(number):  # JSON (the event payload) has no NaN or infinity
            raise ValueError(text)
        return number
    if tag == "boolean":
        return text.strip().lower() == "true"
    if tag == "date":
        return parse_time(text)
    return text


def read_xes_log(
    path: Path, problems: list[Problem], progress: ProgressHook | None = None
) -> Iterator[LogCase]:
    """Traces of an XES file, streamed: only one trace is held in memory at a time."""
    name = path.name
    parser = expat.ParserCreate()
    done: list[LogCase] = []
    stack: list[str] = []
    trace: LogCase | None = None
    event: dict[str, Any] | None = None
    event_line = 0
    seen_log = False

    def local(tag: str) -> str:
        return tag.rsplit(":", 1)[-1]

    def start(tag: str, attrs: dict[str, str]) -> None:
        nonlocal trace, event, event_line, seen_log
        tag = local(tag)
        line = parser.CurrentLineNumber
        parent = stack[-1] if stack else None
        stack.append(tag)
        if parent is None:
            if tag != "log":
                problems.append(Problem(name, line, tag, "an XES file starts with <log>"))
            seen_log = True
        elif tag == "trace" and parent == "log":
            trace = LogCase("", line)
        elif tag == "event" and parent == "trace":
            event, event_line = {}, line
        elif tag in _XES_VALUE_TAGS and parent in ("trace", "event"):
            key, text = attrs.get("key"), attrs.get("value")
            if key is None or text is None:
                problems.append(Problem(name, line, tag, "an attribute needs key and value"))
                return
            try:
                value = _xes_value(tag, text)
            except ValueError:
                problems.append(Problem(name, line, key, f"{text!r} is not a valid {tag}"))
                return
            if parent == "event" and event is not None:
                event[key] = value
            elif parent == "trace" and trace is not None:
                trace.attributes[key] = value

    def end(tag: str) -> None:
        nonlocal trace, event
        tag = local(tag)
        stack.pop()
        if tag == "event" and event is not None and trace is not None and stack[-1:] == ["trace"]:
            logged = _xes_event(name, event_line, event, problems)
            if logged is not None:
                trace.events.append(logged)
            event = None
        elif tag == "trace" and trace is not None and stack == ["log"]:
            case_id = trace.attributes.pop("concept:name", None)
            if case_id is None or str(case_id).strip() == "":
                problems.append(Problem(name, trace.line, "concept:name", "the trace has no id"))
            else:
                trace.case_id = str(case_id).strip()
                done.append(trace)
            trace = None

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    size = path.stat().st_size
    if progress is not None:
        progress.total(size)
    with path.open("rb") as handle:
        while True:
            chunk = handle.read(1 << 16)
            try:
                parser.Parse(chunk, not chunk)
            except expat.ExpatError as exc:
                problems.append(
                    Problem(name, exc.lineno, "", f"not valid XML: {expat.ErrorString(exc.code)}")
                )
                return
            if progress is not None:
                progress.advance(len(chunk))
            yield from done
            done.clear()
            if not chunk:
                break
    if not seen_log:
        problems.append(Problem(name, None, "", "the file holds no XES log"))


def _xes_event(
    name: str, line: int, attributes: dict[str, Any], problems: list[Problem]
) -> LogEvent | None:
    activity = attributes.pop("concept:name", None)
    at = attributes.pop("time:timestamp", None)
    if activity is None or str(activity).strip() == "":
        problems.append(Problem(name, line, "concept:name", "the event has no activity"))
        return None
    if not isinstance(at, datetime):
        problems.append(Problem(name, line, "time:timestamp", "the event has no date"))
        return None
    resource = attributes.pop("org:resource", None)
    group = attributes.pop("org:group", None)
    attributes.pop("lifecycle:transition", None)
    return LogEvent(
        line=line,
        activity=str(activity).strip(),
        at=at,
        resource=None if resource is None else str(resource).strip() or None,
        group=None if group is None else str(group).strip() or None,
        extras={
            k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in attributes.items()
        },
    )


# --- writing ----------------------------------------------------------------------------------


def handle_for(resource: str) -> str:
    """A sign-in handle derived from a resource name: "Ann Lee" -> "ann.lee"."""
    handle = re.sub(r"[^a-z0-9_-]+", ".", resource.strip().lower()).strip(".")
    return handle[:64].strip(".") or "person"


@dataclass
class HistoryImportSummary:
    requests: int = 0
    events: int = 0
    people_created: int = 0
    teams_created: int = 0
    unmapped_activities: dict[str, int] = field(default_factory=dict)


class _Directory:
    """People and teams by name, created on first use, cached for the whole import."""

    def __init__(self, session: Session, summary: HistoryImportSummary) -> None:
        self.session = session
        self.summary = summary
        self.people: dict[str, int] = dict(session.execute(select(Person.handle, Person.id)).all())
        self.teams: dict[str, Team] = {t.name: t for t in session.scalars(select(Team))}
        self.created_teams: set[int] = set()
        self.members: set[tuple[int, int]] = set()
        self.department_id: int | None = None

    def person(self, resource: str) -> int:
        handle = handle_for(resource)
        person_id = self.people.get(handle)
        if person_id is None:
            email = f"{handle}@imported.invalid"
            taken = self.session.scalar(select(Person.id).where(Person.email == email))
            if taken is not None:
                email = f"{handle}.{len(self.people)}@imported.invalid"
            person = org.add_person(self.session, handle, resource.strip()[:200], email)
            person_id = self.people[handle] = person.id
            self.summary.people_created += 1
        return person_id

    def team(self, group: str) -> Team:
        team = self.teams.get(group)
        if team is None:
            if self.department_id is None:
                department = self.session.scalar(
                    select(Department).where(Department.name == IMPORTED_DEPARTMENT)
                )
                if department is None:
                    department = org.add_department(self.session, IMPORTED_DEPARTMENT)
                self.department_id = department.id
            team = self.teams[group] = org.add_team(self.session, self.department_id, group)
            self.created_teams.add(team.id)
            self.summary.teams_created += 1
        return team

    def worked_in(self, team: Team, person_id: int) -> None:
        """A resource acting in a team this import created becomes a member (the first, lead)."""
        if team.id not in self.created_teams or (team.id, person_id) in self.members:
            return
        if team.lead_id is None:
            team.lead_id = person_id
        self.session.add(Membership(team_id=team.id, person_id=person_id))
        self.members.add((team.id, person_id))

    def accountable(self, team: Team) -> int | None:
        return rules.effective_duty_owner(team.duty_owner_id, team.lead_id)

    def placeholder(self) -> int:
        if PLACEHOLDER_HANDLE not in self.people:
            return self.person(PLACEHOLDER_HANDLE)
        return self.people[PLACEHOLDER_HANDLE]


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
    reject_unmapped: bool = False,
    progress: ProgressHook | None = None,
) -> HistoryImportSummary:
    """Import every case of the log, or raise ImportRejected naming each problem.

    Raises before returning if anything is wrong; the caller's unit of work then rolls back, so
    nothing is written. `now` starts the clocks (acceptance, updates, auto-close) of imported
    requests that are still open or resolved.
    """
    name = path.name
    fmt = fmt or ("xes" if path.suffix.lower() == ".xes" else "csv")
    for activity, kind in (activity_map or {}).items():
        if kind not in EVENT_KINDS:
            raise ImportRejected([Problem(name, None, activity, f"unknown event kind {kind!r}")])
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            reason = f"the file is larger than the limit of {MAX_FILE_BYTES:,} bytes"
            raise ImportRejected([Problem(name, None, "", reason)])
        digest = file_digest(path)
    except OSError as exc:
        raise ImportRejected([Problem(name, None, "", exc.strerror or str(exc))]) from None
    previous = already_imported(session, digest)
    if previous:
        raise ImportRejected(
            [Problem(name, None, "", f"this file was already imported ({previous} requests)")]
        )
    problems: list[Problem] = []
    summary = HistoryImportSummary()
    directory = _Directory(session, summary)
    writer = _CaseWriter(session, directory, summary, name, digest, now, activity_map)
    reader = read_xes_log if fmt == "xes" else read_csv_log
    seen: dict[str, int | None] = {}
    try:
        for case in reader(path, problems, progress):
            if case.case_id in seen:
                problems.append(
                    Problem(name, case.line, "case", f"case {case.case_id!r} appears twice")
                )
            seen[case.case_id] = case.line
            problems.extend(_text_problems(name, case))
            if reject_unmapped:
                for event in case.events:
                    if kind_of(event.activity, activity_map) is None:
                        problems.append(
                            Problem(name, event.line, "activity", f"unmapped {event.activity!r}")
                        )
            if not case.events and not problems:
                problems.append(
                    Problem(name, case.line, "case", f"case {case.case_id!r} has no events")
                )
            if not problems:
                writer.write(case)
            if fmt == "csv" and progress is not None:
                progress.advance(len(case.events))
            if len(problems) >= MAX_PROBLEMS:
                break
        if not problems:
            writer.finish()
    except UnicodeDecodeError:
        problems.append(Problem(name, None, "", "not UTF-8 text"))
    except csv.Error as exc:
        problems.append(Problem(name, None, "", f"not valid CSV: {exc}"))
    if not problems and not seen:
        problems.append(Problem(name, None, "", "the log holds no cases"))
    if problems:
        raise ImportRejected(problems)
    return summary


class _CaseWriter:
    """Turns one case into a request, its team path and its events."""

    def __init__(
        self,
        session: Session,
        directory: _Directory,
        summary: HistoryImportSummary,
        name: str,
        digest: str,
        now: datetime,
        activity_map: Mapping[str, str] | None,
    ) -> None:
        self.session = session
        self.directory = directory
        self.summary = summary
        self.name = name
        self.digest = digest
        self.now = now
        self.activity_map = activity_map
        self.pending: list[dict[str, Any]] = []
        self.services: dict[str, list[Service]] = {}
        for service in session.scalars(select(Service).where(Service.active.is_(True))):
            self.services.setdefault(service.name, []).append(service)

    def write(self, case: LogCase) -> None:
        d = self.directory
        events = sorted(case.events, key=lambda e: e.at)  # stable: ties keep file order
        first = events[0]
        default_group = case.attributes.get("group") or DEFAULT_TEAM
        team = d.team(first.group or str(default_group))
        path: list[int] = [team.id]
        steps = [PathStep(team_id=team.id, entered_at=first.at, is_bounce=False)]
        state = rules.NEW
        owner_id: int | None = None
        last_resource: int | None = None
        accepted_at = resolved_at = closed_at = paused_at = None
        waiting_on: str | None = None
        resolution: str | None = None
        bounces = 0
        participants: set[int] = set()
        rows: list[dict[str, Any]] = []

        base = {"imported_from": self.name, "case_id": case.case_id}
        mapped: list[tuple[LogEvent, str, dict[str, Any]]] = []
        for index, event in enumerate(events):
            kind = kind_of(event.activity, self.activity_map)
            payload: dict[str, Any] = {
                **{_source_key(k): v for k, v in event.extras.items()},
                **base,
                "activity": event.activity,
            }
            if kind is None:
                self.summary.unmapped_activities[event.activity] = (
                    self.summary.unmapped_activities.get(event.activity, 0) + 1
                )
                kind = "update_posted"
            if kind == "opened" and index > 0:
                kind = "update_posted"  # a request opens once; later "opened" rows are notes
            if index == 0 and kind != "opened":
                mapped.append((event, "opened", {**base, "synthetic": True}))
            mapped.append((event, kind, payload))
        mapped[0][2]["import_digest"] = self.digest

        requester = case.attributes.get("requester")
        first_actor = next((e.resource for e in events if e.resource), None)
        requester_id = d.person(str(requester or first_actor)) if requester or first_actor else None
        for event, kind, payload in mapped:
            actor = None if event.resource is None else d.person(event.resource)
            other_group = payload.pop("other_group", None)
            about = payload.pop("person", None)
            group_team = d.team(event.group) if event.group else team
            other_team_id = None if other_group is None else d.team(str(other_group)).id
            if kind in OFFER_KINDS:
                event_team = group_team
                if other_group is None and group_team.id != team.id:
                    if kind == "offered":
                        event_team, other_team_id = team, group_team.id
                    else:
                        other_team_id = team.id
            else:
                if group_team.id != team.id:
                    bounce = rules.is_bounce(path, group_team.id)
                    bounces += bounce
                    steps.append(
                        PathStep(team_id=group_team.id, entered_at=event.at, is_bounce=bounce)
                    )
                    path.append(group_team.id)
                    if kind == "accepted" and other_team_id is None:
                        other_team_id = team.id
                    team = group_team
                event_team = team
            if actor is not None:
                # The requester's own events (opening, confirming) do not make them a member.
                if kind != "opened" and actor != requester_id:
                    d.worked_in(event_team, actor)
                participants.add(actor)
                last_resource = actor
            person_id = None if about is None else d.person(str(about))
            if kind == "opened" and person_id is not None:
                owner_id = person_id  # the product's own logs name the first accountable owner
            if kind == "accepted" and actor is not None:
                owner_id = person_id = actor
                if accepted_at is None:
                    accepted_at = event.at
            new_state = STATE_AFTER.get(kind)
            if new_state is not None:
                state = new_state
                if kind == "paused":
                    paused_at, waiting_on = event.at, "outside"
                elif kind == "clarification_asked":
                    paused_at, waiting_on = event.at, "clarification"
                else:
                    paused_at, waiting_on = None, None
                if kind == "resolved":
                    resolved_at = event.at
                    resolution = str(payload.get("resolution") or "") or None
                    if accepted_at is None:
                        accepted_at = event.at
                elif kind == "closed":
                    closed_at = event.at
                    resolved_at = resolved_at or event.at
                    accepted_at = accepted_at or event.at
                elif kind == "reopened":
                    resolved_at = closed_at = None
                    resolution = None
            if kind == "accepted" and state == rules.NEW:
                state = rules.IN_PROGRESS
            rows.append(
                {
                    "kind": kind,
                    "at": event.at,
                    "actor_id": actor,
                    "team_id": event_team.id,
                    "other_team_id": other_team_id,
                    "person_id": person_id,
                    "payload": payload,
                }
            )

        if owner_id is None:
            owner_id = d.accountable(team) or last_resource or d.placeholder()
        requester_id = requester_id or owner_id
        participants |= {owner_id, requester_id}
        title = str(case.attributes.get("title") or f"Case {case.case_id}").strip()[:200]
        need = str(case.attributes.get("description") or "").strip()
        service = self._service(case.attributes.get("service"), team.id)
        priority = str(case.attributes.get("priority") or "normal").lower()
        request = Request(
            title=title or f"Case {case.case_id}"[:200],
            need=need or f"Imported from {self.name}, case {case.case_id}.",
            priority=priority if priority in rules.PRIORITIES else "normal",
            requester_id=requester_id,
            service_id=None if service is None else service.id,
            team_id=team.id,
            owner_id=owner_id,
            state=state,
            waiting_on=waiting_on,
            confidential=service is not None and service.confidential,
            opened_at=first.at,
            accepted_at=accepted_at if state != rules.NEW else None,
            resolved_at=resolved_at if state in (rules.RESOLVED, rules.CLOSED) else None,
            closed_at=closed_at if state == rules.CLOSED else None,
            updated_at=rows[-1]["at"],
            resolution=resolution if state in (rules.RESOLVED, rules.CLOSED) else None,
            clock_paused_at=paused_at,
            bounce_count=bounces,
        )
        self._start_clocks(request, service, team)
        self.session.add(request)
        self.session.flush()
        for step in steps:
            step.request_id = request.id
        self.session.add_all(steps)
        self.session.add_all(
            RequestParticipant(request_id=request.id, person_id=p) for p in sorted(participants)
        )
        if state == rules.NEW:
            self._open_intake_offer(request, service, team)
        if paused_at is not None and waiting_on is not None:
            self.session.add(
                Pause(
                    request_id=request.id,
                    reason=waiting_on,
                    started_at=paused_at,
                    started_by_id=owner_id,
                )
            )
        for row in rows:
            row["request_id"] = request.id
        self.pending.extend(rows)
        self.summary.requests += 1
        self.summary.events += len(rows)
        if len(self.pending) >= EVENT_BATCH:
            self.finish()

    def finish(self) -> None:
        """Write the events still buffered."""
        if self.pending:
            self.session.execute(insert(Event), self.pending)
            self.pending = []
        self.session.flush()

    def _service(self, name: Any, team_id: int) -> Service | None:
        if not name:
            return None
        found = self.services.get(str(name), [])
        in_team = [s for s in found if s.team_id == team_id]
        if len(in_team) == 1:
            return in_team[0]
        return found[0] if len(found) == 1 else None

    def _start_clocks(self, request: Request, service: Service | None, team: Team) -> None:
        """Open imported requests owe updates from now on; resolved ones auto-close as usual."""
        if request.state not in (rules.OPEN_STATES | {rules.RESOLVED}):
            return
        targets = targets_of(service)
        calendar = org.team_calendar(self.session, team.id)
        if request.state == rules.RESOLVED:
            request.auto_close_at = add_business_hours(
                calendar,
                self.now,
                targets.auto_close_days * calendar.business_seconds_per_day / 3600,
            )
            return
        request.resolve_due_at = add_business_hours(calendar, self.now, targets.resolve_hours)
        if request.waiting_on != "clarification":
            ladder = rules.update_ladder(calendar, self.now, targets.update_every_hours)
            request.next_update_due_at = ladder.due_at
            request.update_escalate_at = ladder.escalate_at

    def _open_intake_offer(self, request: Request, service: Service | None, team: Team) -> None:
        """A request nobody accepted waits on an open intake offer, as if opened today."""
        targets = targets_of(service)
        calendar = org.team_calendar(self.session, team.id)
        self.session.add(
            Offer(
                request_id=request.id,
                kind="intake",
                from_person_id=request.requester_id,
                to_team_id=team.id,
                offered_at=request.opened_at,
                due_at=add_business_hours(calendar, self.now, targets.accept_hours),
            )
        )


def _source_key(key: str) -> str:
    """Ids from the other system mean nothing here; they are kept, marked as the source's."""
    return f"source_{key}" if key.endswith(("_id", "_ids")) else key
