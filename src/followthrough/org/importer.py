"""Importing the organisation from a YAML file or CSV files: departments, teams, people, services.

The import validates everything first — shapes, then references between rows and to what is
already in the database — and writes only when there is nothing wrong, in the caller's unit of
work. Every problem names the file, the line and the field. Re-importing is idempotent: rows
are matched by name (departments, teams), handle (people) or team and name (services) and
updated; fields a row leaves out keep their current value; nothing is ever deleted. The formats
are described in docs/import-export.md.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from followthrough.errors import InvalidInput
from followthrough.fields import AutoCloseDays, Hours, RefusesNul
from followthrough.org import service as org
from followthrough.org.models import Department, Holiday, Membership, Person, Service, Team

# --- problems ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file, located as precisely as the format allows."""

    file: str
    line: int | None
    field: str
    reason: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}: line {self.line}"
        return f"{where}: {self.field}: {self.reason}" if self.field else f"{where}: {self.reason}"


class ImportRejected(InvalidInput):
    """An import found problems and wrote nothing; `problems` lists them in file order."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        first = problems[0]
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        super().__init__(f"{first}{more}", field=first.field or None)
        self.problems = list(problems)


def _loc(parts: Iterable[str | int]) -> str:
    """A pydantic-style location as a readable path: ("teams", 2, "lead") -> "teams[2].lead"."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


@dataclass(frozen=True)
class Where:
    """Where a row came from, so later checks can name its file, line and fields."""

    file: str
    line: int | None
    prefix: str = ""
    field_lines: Mapping[str, int] = field(default_factory=dict)

    def problem(self, field_name: str, reason: str) -> Problem:
        line = self.field_lines.get(field_name, self.line)
        name = f"{self.prefix}.{field_name}" if self.prefix else field_name
        return Problem(self.file, line, name, reason)


# --- the shapes -------------------------------------------------------------------------------

HANDLE = re.compile(r"^[a-z0-9._-]{1,64}$")
DAY_NAMES = {"mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7}
HOURS = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")

Name = Annotated[str, Field(min_length=1, max_length=120)]
LongName = Annotated[str, Field(min_length=1, max_length=200)]


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class Row(RefusesNul):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class DepartmentRow(Row):
    name: Name


class HolidayRow(Row):
    day: date
    name: Annotated[str, Field(max_length=120)] = ""


class TeamHolidayRow(HolidayRow):
    """A holiday in holidays.csv, which names its team."""

    team: Name


def parse_working_days(value: Any) -> str:
    """ISO weekday digits ("12345"), or day names ("mon,tue,wed"), as a sorted digit string."""
    if isinstance(value, int):
        value = str(value)
    if isinstance(value, list):
        value = ",".join(str(v) for v in value)
    if not isinstance(value, str):
        raise ValueError("working days must be ISO weekday digits like 12345 or names like mon,tue")
    text = value.strip().lower()
    if text.isdigit():
        days = {int(c) for c in text}
    else:
        days = set()
        for part in re.split(r"[\s,;]+", text):
            if not part:
                continue
            if part.isdigit() and len(part) == 1:
                days.add(int(part))
            elif part[:3] in DAY_NAMES:
                days.add(DAY_NAMES[part[:3]])
            else:
                raise ValueError(f"{part!r} is not a day of the week")
    if not days or not days <= set(range(1, 8)):
        raise ValueError("working days must be ISO weekdays 1 (Monday) to 7 (Sunday)")
    return "".join(str(d) for d in sorted(days))


def parse_business_hours(value: str) -> tuple[int, int]:
    """'09:00-17:00' as (start, end) minutes after local midnight."""
    match = HOURS.match(value.strip())
    if match is None:
        raise ValueError("business hours must look like 09:00-17:00")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if m1 > 59 or m2 > 59 or not 0 <= start < end <= 24 * 60:
        raise ValueError("business hours must start before they end, within one day")
    return start, end


class TeamRow(Row):
    name: Name
    department: Name
    timezone: str = "UTC"
    business_hours: str = "09:00-17:00"
    working_days: str = "12345"
    holidays: list[HolidayRow] = []
    lead: str | None = None
    duty_owner: str | None = None
    triage: bool = False

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r} (use a name like Europe/London)"
            ) from None
        return value

    @field_validator("business_hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        parse_business_hours(value)
        return value

    @field_validator("working_days", mode="before")
    @classmethod
    def _days(cls, value: Any) -> str:
        return parse_working_days(value)

    @field_validator("lead", "duty_owner", mode="before")
    @classmethod
    def _handle(cls, value: Any) -> Any:
        value = _strip(value)
        return value.lower() if isinstance(value, str) and value else (value or None)


class PersonRow(Row):
    handle: str
    name: LongName
    email: Annotated[str, Field(max_length=254)]
    teams: list[Name] = []
    admin: bool = False

    @field_validator("handle", mode="before")
    @classmethod
    def _handle(cls, value: Any) -> Any:
        value = _strip(value)
        if isinstance(value, str):
            value = value.lower()
            if not HANDLE.match(value):
                raise ValueError("a handle is 1-64 letters, digits, '.', '-' or '_'")
        return value

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        local, at, domain = value.partition("@")
        if not (local and at and domain) or " " in value:
            raise ValueError(f"{value!r} is not an email address")
        return value

    @field_validator("teams", mode="before")
    @classmethod
    def _team_list(cls, value: Any) -> Any:
        # In CSV a person's teams are one cell, separated by ";".
        if isinstance(value, str):
            return [part for part in (p.strip() for p in value.split(";")) if part]
        return value


class ServiceRow(Row):
    team: Name
    name: LongName
    description: Annotated[str, Field(max_length=10_000)] = ""
    confidential: bool = False
    accept_target_hours: Hours = 4.0
    update_every_hours: Hours = 8.0
    resolve_target_hours: Hours = 24.0
    auto_close_days: AutoCloseDays = 5


class OrgDocument(Row):
    """The whole YAML file."""

    departments: list[DepartmentRow] = []
    teams: list[TeamRow] = []
    people: list[PersonRow] = []
    services: list[ServiceRow] = []


@dataclass
class OrgSpec:
    """A validated (in shape) organisation, each row with where it came from."""

    departments: list[tuple[DepartmentRow, Where]] = field(default_factory=list)
    teams: list[tuple[TeamRow, Where]] = field(default_factory=list)
    holidays: list[tuple[TeamHolidayRow, Where]] = field(default_factory=list)
    people: list[tuple[PersonRow, Where]] = field(default_factory=list)
    services: list[tuple[ServiceRow, Where]] = field(default_factory=list)


@dataclass
class OrgImportSummary:
    """How many rows of each kind were created and updated."""

    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)

    def count(self, what: str, *, created: bool) -> None:
        target = self.created if created else self.updated
        target[what] = target.get(what, 0) + 1


# --- reading ----------------------------------------------------------------------------------

CSV_SECTIONS: dict[str, type[Row]] = {
    "departments": DepartmentRow,
    "teams": TeamRow,
    "holidays": TeamHolidayRow,
    "people": PersonRow,
    "services": ServiceRow,
}


# An organisation file is read whole into memory: this is far beyond any real company's.
MAX_FILE_BYTES = 10 * 1024 * 1024


class _PlainYamlLoader(yaml.SafeLoader):
    """YAML without aliases: a `*name` could repeat a whole section, and nested aliases expand
    exponentially ("billion laughs"), which PyYAML does not limit."""

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed; write the value out", mark
            )
        return super().compose_node(parent, index)


def _too_large(path: Path) -> Problem | None:
    """A problem if the file is beyond MAX_FILE_BYTES (checked before reading any of it)."""
    try:
        size = path.stat().st_size
    except OSError:
        return None  # reading it reports the reason
    if size > MAX_FILE_BYTES:
        limit = MAX_FILE_BYTES // (1024 * 1024)
        return Problem(path.name, None, "", f"the file is larger than the {limit} MB limit")
    return None


def read_org(paths: Sequence[Path]) -> OrgSpec:
    """Read a YAML file, a folder of CSV files, or CSV files named for their section."""
    if len(paths) == 1 and paths[0].suffix.lower() in (".yaml", ".yml"):
        return read_org_yaml(paths[0])
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = [path / f"{section}.csv" for section in CSV_SECTIONS]
            files.extend(p for p in found if p.exists())
            if not any(p.exists() for p in found):
                raise ImportRejected(
                    [Problem(path.name, None, "", "no departments/teams/people/services CSV files")]
                )
        else:
            files.append(path)
    return read_org_csv(files)


def _yaml_lines(node: yaml.Node, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str, int]]:
    """Every location in a YAML document with its 1-based line."""
    yield _loc(path), node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                yield _loc((*path, key.value)), key.start_mark.line + 1
                for loc, line in _yaml_lines(value, (*path, key.value)):
                    if loc != _loc((*path, key.value)):
                        yield loc, line
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _yaml_lines(item, (*path, index))


def read_org_yaml(path: Path) -> OrgSpec:
    name = path.name
    oversized = _too_large(path)
    if oversized is not None:
        raise ImportRejected([oversized])
    try:
        text = path.read_text(encoding="utf-8")
        node = yaml.compose(text, Loader=_PlainYamlLoader)
        document = yaml.load(text, Loader=_PlainYamlLoader)
    except RecursionError:
        raise ImportRejected([Problem(name, None, "", "nested too deeply")]) from None
    except OSError as exc:
        raise ImportRejected([Problem(name, None, "", exc.strerror or str(exc))]) from None
    except UnicodeDecodeError:
        raise ImportRejected([Problem(name, None, "", "not UTF-8 text")]) from None
    except yaml.MarkedYAMLError as exc:
        line = None if exc.problem_mark is None else exc.problem_mark.line + 1
        raise ImportRejected([Problem(name, line, "", f"not valid YAML: {exc.problem}")]) from None
    lines = dict(_yaml_lines(node)) if node is not None else {}
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise ImportRejected([Problem(name, 1, "", "the file must be a mapping of sections")])
    try:
        parsed = OrgDocument.model_validate(document)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = _loc(error["loc"])
            line = _nearest_line(lines, tuple(error["loc"]))
            problems.append(Problem(name, line, loc, _reason(error)))
        raise ImportRejected(problems) from None

    def where(section: str, index: int) -> Where:
        prefix = f"{section}[{index}]"
        fields = {k[len(prefix) + 1 :]: v for k, v in lines.items() if k.startswith(prefix + ".")}
        return Where(name, lines.get(prefix), prefix, fields)

    spec = OrgSpec()
    spec.departments = [(d, where("departments", i)) for i, d in enumerate(parsed.departments)]
    spec.teams = [(t, where("teams", i)) for i, t in enumerate(parsed.teams)]
    spec.people = [(p, where("people", i)) for i, p in enumerate(parsed.people)]
    spec.services = [(s, where("services", i)) for i, s in enumerate(parsed.services)]
    for index, (team, team_where) in enumerate(spec.teams):
        for h, holiday in enumerate(team.holidays):
            prefix = f"teams[{index}].holidays[{h}]"
            spec.holidays.append(
                (
                    TeamHolidayRow(team=team.name, day=holiday.day, name=holiday.name),
                    Where(name, lines.get(prefix, team_where.line), prefix),
                )
            )
    return spec


def _nearest_line(lines: Mapping[str, int], loc: tuple[str | int, ...]) -> int | None:
    for end in range(len(loc), -1, -1):
        line = lines.get(_loc(loc[:end]))
        if line is not None:
            return line
    return None


def _reason(error: Any) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown field"
    if error["type"] == "missing":
        return "is required"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def read_org_csv(paths: Sequence[Path]) -> OrgSpec:
    """CSV files named departments.csv, teams.csv, holidays.csv, people.csv, services.csv."""
    spec = OrgSpec()
    problems: list[Problem] = []
    for path in paths:
        section = path.stem.lower()
        model = CSV_SECTIONS.get(section)
        if model is None or path.suffix.lower() != ".csv":
            expected = ", ".join(f"{s}.csv" for s in CSV_SECTIONS)
            problems.append(Problem(path.name, None, "", f"expected one of {expected}"))
            continue
        for row, where in _csv_rows(path, model, problems):
            getattr(spec, section).append((row, where))
    if problems:
        raise ImportRejected(problems)
    return spec


def _csv_rows(path: Path, model: type[Row], problems: list[Problem]) -> Iterator[tuple[Any, Where]]:
    name = path.name
    columns = set(model.model_fields) - {"holidays"}
    required = {n for n, f in model.model_fields.items() if f.is_required()}
    oversized = _too_large(path)
    if oversized is not None:
        problems.append(oversized)
        return
    line: int | None = None
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            bad_header = False
            for column in header:
                if column.strip() not in columns:
                    problems.append(Problem(name, 1, column, "unknown column"))
                    bad_header = True
            for column in sorted(required - {c.strip() for c in header}):
                problems.append(Problem(name, 1, column, "required column is missing"))
                bad_header = True
            if bad_header:
                return
            line = reader.line_num
            for raw in reader:
                start, line = line + 1, reader.line_num
                where = Where(name, start)
                if None in raw:
                    problems.append(where.problem("", "more cells than the header has columns"))
                    continue
                values = {k.strip(): v for k, v in raw.items() if v is not None and v.strip()}
                try:
                    yield model.model_validate(values), where
                except ValidationError as exc:
                    for error in exc.errors():
                        problems.append(where.problem(_loc(error["loc"]), _reason(error)))
    except OSError as exc:
        problems.append(Problem(name, None, "", exc.strerror or str(exc)))
    except UnicodeDecodeError:
        problems.append(Problem(name, None, "", "not UTF-8 text"))
    except csv.Error as exc:
        # The reader stops at the line it could not read, one past the last row it gave.
        at = None if line is None else line + 1
        problems.append(Problem(name, at, "", f"not valid CSV: {exc}"))


# --- checking and writing ---------------------------------------------------------------------


@dataclass
class _Known:
    """What the database already holds, by the keys the file uses."""

    departments: dict[str, Department]
    teams: dict[str, Team]
    people: dict[str, Person]
    emails: dict[str, str]
    services: dict[tuple[str, str], Service]
    holidays: set[tuple[str, date]]


def _known(session: Session) -> _Known:
    teams = {t.name: t for t in session.scalars(select(Team))}
    team_names = {t.id: t.name for t in teams.values()}
    people = {p.handle: p for p in session.scalars(select(Person))}
    return _Known(
        departments={d.name: d for d in session.scalars(select(Department))},
        teams=teams,
        people=people,
        emails={p.email.lower(): p.handle for p in people.values()},
        services={(team_names[s.team_id], s.name): s for s in session.scalars(select(Service))},
        holidays={(team_names[h.team_id], h.day) for h in session.scalars(select(Holiday))},
    )


def check_org(session: Session, spec: OrgSpec) -> list[Problem]:
    """Every reference and uniqueness problem of the spec against itself and the database."""
    known = _known(session)
    problems: list[Problem] = []

    def once(rows: Iterable[tuple[Any, Where]], key: Any, field_name: str, what: str) -> None:
        seen: dict[Any, Where] = {}
        for row, where in rows:
            value = key(row)
            if value in seen:
                first = seen[value]
                problems.append(
                    where.problem(field_name, f"{what} is also on line {first.line}")
                    if first.line is not None
                    else where.problem(field_name, f"{what} appears twice")
                )
            else:
                seen[value] = where

    once(spec.departments, lambda d: d.name, "name", "this department")
    once(spec.teams, lambda t: t.name, "name", "this team")
    once(spec.people, lambda p: p.handle, "handle", "this handle")
    once(spec.people, lambda p: p.email.lower(), "email", "this email")
    once(spec.services, lambda s: (s.team, s.name), "name", "this team's service")
    once(spec.holidays, lambda h: (h.team, h.day), "day", "this team's holiday")

    handles = {p.handle for p, _ in spec.people}
    team_names = {t.name for t, _ in spec.teams} | set(known.teams)

    def person_exists(handle: str, where: Where, field_name: str) -> None:
        if handle in handles:
            return
        person = known.people.get(handle)
        if person is None:
            problems.append(where.problem(field_name, f"no person with handle {handle!r}"))
        elif not person.active:
            problems.append(where.problem(field_name, f"person {handle!r} is not active"))

    def team_exists(team: str, where: Where, field_name: str) -> None:
        if team not in team_names:
            problems.append(where.problem(field_name, f"no team named {team!r}"))

    for team, where in spec.teams:
        if team.lead is not None:
            person_exists(team.lead, where, "lead")
        if team.duty_owner is not None:
            person_exists(team.duty_owner, where, "duty_owner")
    for person, where in spec.people:
        owner = known.emails.get(person.email.lower())
        if owner is not None and owner != person.handle:
            problems.append(where.problem("email", f"{person.email!r} belongs to {owner!r}"))
        for index, team_name in enumerate(person.teams):
            field_name = "teams" if not where.prefix else f"teams[{index}]"
            team_exists(team_name, where, field_name)
    for service, where in spec.services:
        team_exists(service.team, where, "team")
    for holiday, where in spec.holidays:
        if "[" not in where.prefix:  # holidays nested in a YAML team name their team implicitly
            team_exists(holiday.team, where, "team")
    problems.sort(key=lambda p: (p.file, p.line or 0))
    return problems


def import_org(session: Session, spec: OrgSpec) -> OrgImportSummary:
    """Check the whole spec, then create or update every row; raises ImportRejected first."""
    problems = check_org(session, spec)
    if problems:
        raise ImportRejected(problems)
    summary = OrgImportSummary()
    departments = {d.name: d for d in session.scalars(select(Department))}
    for row, _ in spec.departments:
        if row.name not in departments:
            departments[row.name] = org.add_department(session, row.name)
            summary.count("departments", created=True)

    people = {p.handle: p for p in session.scalars(select(Person))}
    for person_row, _ in spec.people:
        person = people.get(person_row.handle)
        if person is None:
            people[person_row.handle] = org.add_person(
                session,
                person_row.handle,
                person_row.name,
                person_row.email,
                is_admin=person_row.admin,
            )
            summary.count("people", created=True)
            continue
        given = person_row.model_fields_set
        changed = _assign(
            person,
            {
                "name": person_row.name,
                "email": person_row.email,
                **({"is_admin": person_row.admin} if "admin" in given else {}),
            },
        )
        if changed:
            summary.count("people", created=False)
    session.flush()

    teams = {t.name: t for t in session.scalars(select(Team))}
    for team_row, _ in spec.teams:
        department = departments.get(team_row.department)
        if department is None:
            department = departments[team_row.department] = org.add_department(
                session, team_row.department
            )
            summary.count("departments", created=True)
        start, end = parse_business_hours(team_row.business_hours)
        lead = None if team_row.lead is None else people[team_row.lead].id
        duty = None if team_row.duty_owner is None else people[team_row.duty_owner].id
        team = teams.get(team_row.name)
        if team is None:
            team = teams[team_row.name] = org.add_team(
                session,
                department.id,
                team_row.name,
                timezone=team_row.timezone,
                day_start_minute=start,
                day_end_minute=end,
                working_days=team_row.working_days,
                lead_id=lead,
                duty_owner_id=duty,
            )
            team.is_triage = team_row.triage
            summary.count("teams", created=True)
            continue
        given = team_row.model_fields_set
        wanted: dict[str, Any] = {"department_id": department.id}
        if "timezone" in given:
            wanted["timezone"] = team_row.timezone
        if "business_hours" in given:
            wanted["day_start_minute"], wanted["day_end_minute"] = start, end
        if "working_days" in given:
            wanted["working_days"] = team_row.working_days
        if "lead" in given:
            wanted["lead_id"] = lead
        if "duty_owner" in given:
            wanted["duty_owner_id"] = duty
        if "triage" in given:
            wanted["is_triage"] = team_row.triage
        if _assign(team, wanted):
            summary.count("teams", created=False)
        for person_id in {lead, duty} - {None}:
            assert person_id is not None
            org.add_member(session, team.id, person_id)
    session.flush()

    holidays = {(h.team_id, h.day) for h in session.scalars(select(Holiday))}
    for holiday_row, _ in spec.holidays:
        team = teams[holiday_row.team]
        if (team.id, holiday_row.day) not in holidays:
            session.add(Holiday(team_id=team.id, day=holiday_row.day, name=holiday_row.name))
            holidays.add((team.id, holiday_row.day))
            summary.count("holidays", created=True)

    members = {(m.team_id, m.person_id) for m in session.scalars(select(Membership))}
    for person_row, _ in spec.people:
        person = people[person_row.handle]
        for team_name in person_row.teams:
            key = (teams[team_name].id, person.id)
            if key not in members:
                session.add(Membership(team_id=key[0], person_id=key[1]))
                members.add(key)
                summary.count("memberships", created=True)

    services = {(s.team_id, s.name): s for s in session.scalars(select(Service))}
    for service_row, _ in spec.services:
        team = teams[service_row.team]
        existing = services.get((team.id, service_row.name))
        values = service_row.model_dump(exclude={"team", "name"})
        if existing is None:
            services[(team.id, service_row.name)] = org.add_service(
                session, team.id, service_row.name, **values
            )
            summary.count("services", created=True)
        elif _assign(existing, {k: values[k] for k in service_row.model_fields_set & set(values)}):
            summary.count("services", created=False)
    session.flush()
    return summary


def _assign(row: object, values: Mapping[str, Any]) -> bool:
    """Set the attributes that differ; True if anything changed."""
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed
