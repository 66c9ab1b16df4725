"""Scenario files: a company's departments, services, customer journeys and behaviour model.

A scenario is plain TOML checked against the models below. Mistakes are reported with the
file, line and field (`insurance.toml line 42: departments[2].staff: ...`), so a facilitator
can fix a file without reading Python. Nothing here knows about the game or any UI.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from followthrough.errors import InvalidInput
from followthrough.practice.sim.calendar import HOURS_PER_WEEK

Level = Annotated[float, Field(ge=0.0, le=1.0)]
Chance = Annotated[float, Field(ge=0.0, le=1.0)]
Positive = Annotated[float, Field(gt=0.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
# One value of a shape or an arrival profile: relative (the whole is scaled to a mean), so a
# bound far above any real ratio keeps a sum of them finite.
Weight = Annotated[float, Field(ge=0.0, le=1e9)]
Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]


class _Model(BaseModel):
    # No infinite or NaN number anywhere: a file's `inf` is refused with its line, not run.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Effect(_Model):
    """A behaviour that moves in a straight line from a level of 0 to a level of 1."""

    at_0: float
    at_1: float

    def at(self, level: float) -> float:
        return self.at_0 + (self.at_1 - self.at_0) * level


class Behaviour(_Model):
    """How the people side turns into behaviour; the defaults are documented in docs/practice.md."""

    # Receiving team's ownership: mean hours before an offered handoff is accepted.
    accept_hours: Effect = Effect(at_0=8.0, at_1=0.5)
    # Mean of sender's and receiver's communication: chance a handoff bounces back.
    bounce: Effect = Effect(at_0=0.25, at_1=0.02)
    # Mean hours the sender needs to fix and re-send a bounced handoff.
    reroute_hours: Positive = 2.0
    # Mean of ownership and communication: multiplies each service's error rate.
    error_factor: Effect = Effect(at_0=2.0, at_1=0.5)
    # Mean of ownership and communication of the customer-facing team: update given on time.
    update_kept: Effect = Effect(at_0=0.5, at_1=0.97)
    # Emotional intelligence of the customer-facing team: a missed update becomes a complaint.
    complaint_after_miss: Effect = Effect(at_0=0.45, at_1=0.10)
    # Turnover at the reference engagement, and its relative change per +0.10 engagement.
    turnover_per_year: Chance = 0.15
    reference_engagement: Level = 0.6
    turnover_change_per_10_points: float = Field(default=-0.081, gt=-1.0)
    vacancy_days: Positive = 45.0
    # Customer satisfaction after a case starts at 1 and loses these amounts (floored at 0).
    satisfaction_per_late_day: NonNegative = 0.04
    satisfaction_per_missed_update: NonNegative = 0.10
    satisfaction_per_error: NonNegative = 0.25
    satisfaction_per_complaint: NonNegative = 0.10
    # Chance that a customer leaves after a case with satisfaction 0 (linear in 1 - satisfaction).
    churn_when_unhappy: Chance = 0.30


class Customers(_Model):
    """The external customer base and what it is worth."""

    base: int = Field(gt=0)
    revenue_per_year: NonNegative
    background_churn_per_year: Chance = 0.08


class Department(_Model):
    """A team with staff, opening hours and people-side levels between 0 and 1."""

    id: Identifier
    name: str
    staff: int = Field(gt=0)
    opens: float = Field(default=9.0, ge=0.0, lt=24.0)
    closes: float = Field(default=17.0, gt=0.0, le=24.0)
    cost_per_person_per_year: NonNegative = 50_000.0
    hiring_cost: NonNegative = 8_000.0
    ownership: Level = 0.5
    communication: Level = 0.5
    emotional_intelligence: Level = 0.5
    engagement: Level = 0.6
    # Its own working week (weekday numbers, 0 Monday), where it differs from the scenario's.
    workdays: tuple[int, ...] | None = Field(default=None, min_length=1)
    # Hours its local clock is ahead of the scenario's (its time zone): `opens` and `closes`
    # are local hours, and the scenario's own clock is the one the requests arrive on.
    hours_ahead: float = Field(default=0.0, ge=-24.0, le=24.0)
    # The acceptance delay's shape: equally likely values, scaled so their mean is the delay
    # its ownership gives. Empty: exponential.
    accept_shape: tuple[Weight, ...] = ()
    # Days it does not work although its week says so (its holidays), counted on its local
    # clock from day 0, the Monday of the run's first week.
    holidays: tuple[Annotated[int, Field(ge=0)], ...] = ()
    # Hours of the run's clock (from day 0's midnight) from which the requests it is offered
    # count in its mean hours to accept: a fit calibrating a team that changed how it accepts
    # against the months since the change measures the simulation over the same months.
    accept_counted_from: float = Field(default=0.0, ge=0.0)


class Service(_Model):
    """A piece of work a department does for others, with its time and error behaviour."""

    id: Identifier
    name: str
    department: Identifier
    hours: Positive
    cv: NonNegative = 1.0
    error_rate: Chance = 0.0
    found_downstream: Chance = 0.8
    target_hours: Positive | None = None
    # The work time's shape: equally likely values, scaled so their mean is `hours` (`cv` is
    # then unused). Empty: a gamma distribution with `hours` and `cv`.
    shape: tuple[Weight, ...] = ()


class Step(_Model):
    """One step of a journey; its sub-requests must all come back before the step starts."""

    service: Identifier
    sub_requests: tuple[Identifier, ...] = ()


class Journey(_Model):
    """A kind of case (a claim, a policy change) that flows through internal requests."""

    id: Identifier
    name: str
    per_day: Positive
    owner: Identifier
    external: bool = True
    promise_days: Positive = 10.0
    update_every_hours: Positive | None = None
    # Cases raised only while the owner is at work (a desk's requests), instead of at any hour,
    # or by the scenario's arrival_profile if it has one; per_day stays the mean per calendar day.
    working_hours_only: bool = False
    steps: tuple[Step, ...] = Field(min_length=1)


class Scenario(_Model):
    """A whole company to simulate."""

    name: str
    description: str = ""
    days: int = Field(default=365, gt=0)
    currency: str = "EUR"
    workdays: tuple[int, ...] = Field(default=(0, 1, 2, 3, 4), min_length=1)
    # When in the week the requests of working hours arrive: 168 weights, one per hour of the
    # week on the scenario's clock (Monday 00:00-01:00 first). Empty: the owner's working hours.
    arrival_profile: tuple[Weight, ...] = ()
    # Hours after Monday 00:00 of the first week when the run starts (a run of a real period
    # that starts on a Wednesday starts at 48): the week's calendar stays where it is.
    starts_at: float = Field(default=0.0, ge=0.0, lt=168.0)
    complaint_service: Identifier | None = None
    behaviour: Behaviour = Behaviour()
    customers: Customers
    departments: tuple[Department, ...] = Field(min_length=1)
    services: tuple[Service, ...] = Field(min_length=1)
    journeys: tuple[Journey, ...] = Field(min_length=1)

    def department(self, department_id: str) -> Department:
        return next(d for d in self.departments if d.id == department_id)

    def with_department(self, department_id: str, **changes: float | int) -> Scenario:
        """A copy with one department's fields changed (staffing, levels)."""
        departments = tuple(
            d.model_copy(update=changes) if d.id == department_id else d for d in self.departments
        )
        return self.model_copy(update={"departments": departments})


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a scenario file: where, which field, and what."""

    line: int | None
    field: str
    message: str


class InvalidScenario(InvalidInput):
    """A scenario file that cannot be simulated; `problems` lists every mistake found."""

    title = "Invalid scenario"

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        self.source = source
        self.problems = tuple(problems)
        super().__init__("\n".join(describe(source, p) for p in self.problems))


def describe(source: str, problem: Problem) -> str:
    """`insurance.toml line 42: departments[2].staff: must be > 0`."""
    where = f"{source} line {problem.line}" if problem.line else source
    field = f" {problem.field}:" if problem.field else ""
    return f"{where}:{field} {problem.message}"


SHIPPED = ("insurance", "professional_services")


def shipped_scenario_path(name: str) -> Path:
    """Path of a scenario that ships with the package, by name (`insurance`)."""
    if name not in SHIPPED:
        raise InvalidInput(f"no shipped scenario is called {name!r}; try one of {SHIPPED}")
    return Path(str(resources.files("followthrough.practice") / "scenarios" / f"{name}.toml"))


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Read and check a scenario file, or a shipped scenario by name."""
    path = Path(name_or_path)
    if not path.suffix and str(name_or_path) in SHIPPED:
        path = shipped_scenario_path(str(name_or_path))
    if not path.is_file():
        raise InvalidInput(f"no scenario file at {path}")
    return parse_scenario(path.read_text(encoding="utf-8"), source=path.name)


def parse_scenario(text: str, source: str = "scenario.toml") -> Scenario:
    """Check TOML text against the schema; raise `InvalidScenario` naming lines and fields."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        line = re.search(r"line (\d+)", str(error))
        raise InvalidScenario(
            source, [Problem(int(line.group(1)) if line else None, "", str(error))]
        ) from error
    lines = key_lines(text)
    try:
        scenario = Scenario.model_validate(document)
    except ValidationError as error:
        problems = [
            _problem(lines, tuple(e["loc"]), _plain_message(e["msg"])) for e in error.errors()
        ]
        raise InvalidScenario(source, problems) from error
    problems = [_problem(lines, loc, message) for loc, message in reference_problems(scenario)]
    if problems:
        raise InvalidScenario(source, problems)
    return scenario


Location = tuple[str | int, ...]


def reference_problems(scenario: Scenario) -> list[tuple[Location, str]]:
    """Cross-references the schema alone cannot check: unknown or duplicate ids, hours."""
    found: list[tuple[Location, str]] = []
    for kind, ids in (
        ("departments", [d.id for d in scenario.departments]),
        ("services", [s.id for s in scenario.services]),
        ("journeys", [j.id for j in scenario.journeys]),
    ):
        seen: set[str] = set()
        for index, item_id in enumerate(ids):
            if item_id in seen:
                found.append(((kind, index, "id"), f"{item_id!r} is used twice"))
            seen.add(item_id)
    departments = {d.id for d in scenario.departments}
    services = {s.id for s in scenario.services}
    for index, department in enumerate(scenario.departments):
        if department.closes <= department.opens:
            found.append(((("departments", index, "closes")), "must be later than opens"))
        for day_index, day in enumerate(department.workdays or ()):
            if not 0 <= day <= 6:
                found.append(
                    (
                        ("departments", index, "workdays", day_index),
                        "must be a weekday number, 0 (Monday) to 6",
                    )
                )
        if department.accept_shape and not sum(department.accept_shape) > 0:
            found.append((("departments", index, "accept_shape"), "must have a value above 0"))
    if scenario.arrival_profile and (
        len(scenario.arrival_profile) != HOURS_PER_WEEK or not sum(scenario.arrival_profile) > 0
    ):
        found.append(
            (("arrival_profile",), f"must be {HOURS_PER_WEEK} weights, one above 0 at least")
        )
    for index, day in enumerate(scenario.workdays):
        if not 0 <= day <= 6:
            found.append((("workdays", index), "must be a weekday number, 0 (Monday) to 6"))
    for index, service in enumerate(scenario.services):
        if service.shape and not sum(service.shape) > 0:
            found.append((("services", index, "shape"), "must have a value above 0"))
        if service.department not in departments:
            found.append(
                (("services", index, "department"), _unknown(service.department, "department"))
            )
    if scenario.complaint_service is not None and scenario.complaint_service not in services:
        found.append((("complaint_service",), _unknown(scenario.complaint_service, "service")))
    for j, journey in enumerate(scenario.journeys):
        if journey.owner not in departments:
            found.append((("journeys", j, "owner"), _unknown(journey.owner, "department")))
        for s, step in enumerate(journey.steps):
            if step.service not in services:
                found.append(
                    (("journeys", j, "steps", s, "service"), _unknown(step.service, "service"))
                )
            for r, sub in enumerate(step.sub_requests):
                if sub not in services:
                    found.append(
                        (("journeys", j, "steps", s, "sub_requests", r), _unknown(sub, "service"))
                    )
    return found


def _unknown(name: str, kind: str) -> str:
    return f"no {kind} has the id {name!r}"


def _plain_message(message: str) -> str:
    return (
        message.replace("Input should be greater than or equal to", "must be >=")
        .replace("Input should be greater than", "must be >")
        .replace("Input should be less than or equal to", "must be <=")
        .replace("Input should be less than", "must be <")
        .replace("Extra inputs are not permitted", "unknown field (check the spelling)")
        .replace("Field required", "missing")
    )


def _problem(lines: dict[Location, int], loc: Location, message: str) -> Problem:
    return Problem(_line_of(lines, loc), field_path(loc), message)


def field_path(loc: Iterable[str | int]) -> str:
    """`("departments", 2, "staff")` reads as `departments[2].staff`."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _line_of(lines: dict[Location, int], loc: Location) -> int | None:
    # The most specific place that exists: a missing field points at its table.
    for end in range(len(loc), 0, -1):
        line = lines.get(loc[:end])
        if line is not None:
            return line
    return None


_ARRAY_TABLE = re.compile(r"^\s*\[\[\s*([^\]]+?)\s*\]\]")
_TABLE = re.compile(r"^\s*\[\s*([^\]]+?)\s*\]")
_KEY = re.compile(r"^\s*([A-Za-z0-9_.\-\"' ]+?)\s*=")


def key_lines(text: str) -> dict[Location, int]:
    """Map each table and key of a TOML document to the line that defines it (1-based).

    A small line scanner rather than a full parser: tables, arrays of tables and dotted keys
    are followed; values spanning lines (inline arrays) are located by their key's line.
    """
    lines: dict[Location, int] = {}
    counts: dict[Location, int] = {}
    table: Location = ()
    depth = 0  # open brackets of a multi-line value: lines inside it define no keys
    in_text = False  # inside a multi-line string
    for number, raw in enumerate(text.splitlines(), start=1):
        if in_text:
            in_text = raw.count('"""') % 2 == 0
            continue
        line = _strip_comment(raw)
        if line.count('"""') % 2 == 1:
            in_text = True
        if depth == 0 and (match := _ARRAY_TABLE.match(line)):
            names = match.group(1).split(".")
            parent = (*_resolve(names[:-1], counts), names[-1].strip())
            index = counts.get(parent, 0)
            counts[parent] = index + 1
            table = (*parent, index)
            lines.setdefault(parent, number)
            lines[table] = number
        elif depth == 0 and (match := _TABLE.match(line)):
            table = _resolve(match.group(1).split("."), counts)
            lines[table] = number
        elif depth == 0 and (match := _KEY.match(line)):
            key = tuple(part.strip().strip("\"'") for part in match.group(1).split("."))
            lines[(*table, *key)] = number
        if not in_text:
            depth = max(0, depth + _opened(line))
    return lines


def _opened(line: str) -> int:
    outside = re.sub(r'"[^"]*"', "", line)
    return outside.count("[") + outside.count("{") - outside.count("]") - outside.count("}")


def _resolve(names: list[str], counts: dict[Location, int]) -> Location:
    # `[[journeys.steps]]` belongs to the latest `[[journeys]]` entry.
    path: Location = ()
    for name in names:
        path = (*path, name.strip())
        if path in counts:
            path = (*path, counts[path] - 1)
    return path


def _strip_comment(line: str) -> str:
    # Good enough for scenario files: a # inside a quoted string is kept.
    quoted = False
    for index, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif char == "#" and not quoted:
            return line[:index]
    return line
