"""Reading another system's event log (XES or CSV) into a spill file, case by case.

A log of a million events is never held in memory: the first pass reads the file row by row,
checks each row (naming the file and line of every problem) and writes it to a temporary
SQLite file; the second pass reads the spill back sorted by case and time, so a CSV need not be
grouped by case. On the way the first pass counts what the import needs before it writes
anything: each distinct (activity, lifecycle, status) combination, the people, the groups (with
their department attribute) and who worked in which group. What stays in memory grows with the
number of distinct cases, people and groups, not with the number of events.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import math
import multiprocessing
import os
import sqlite3
import tempfile
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import lru_cache
from itertools import groupby
from pathlib import Path
from typing import Any, Protocol
from xml.parsers import expat

from followthrough.fields import EARLIEST, LATEST
from followthrough.history.log_mapping import IGNORE, Combination, Decision, LogMapping
from followthrough.org.importer import Problem

MAX_PROBLEMS = 50
# The longest text one cell or attribute may hold (a request's need holds 10,000 characters).
MAX_FIELD_CHARS = 10_000
SPILL_BATCH = 10_000
# Distinct texts of a row's other columns kept encoded and decoded (bounded).
JSON_CACHE = 4096
# Distinct instants kept as the spill's text (bounded).
TIME_CACHE = 65536

# Resources and groups that name nobody: one "unknown" person stands in for all of them.
PLACEHOLDERS = frozenset({"", "-", "--", "?", "n/a", "na", "none", "null", "unknown", "nobody"})

# Kinds whose actor works in the row's group: they make the actor a member of a team the import
# creates. Opening, closing, reopening and rating are the requester's as often as the team's.
MEMBER_KINDS = frozenset(
    {
        "accepted",
        "paused",
        "resumed",
        "clarification_asked",
        "resolved",
        "update_posted",
        "promise_made",
    }
)

# Attributes (case or event) that hold a status when no status attribute is named.
STATUS_ATTRIBUTES = ("status", "ticket_status", "ticket status", "lifecycle:state")


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


def real_name(value: Any) -> str | None:
    """The text of a resource or group, or None when it is a placeholder ("-", "Unknown")."""
    if value is None:
        return None
    return _real_name(str(value))


@lru_cache(maxsize=65536)  # a log names the same people and groups on row after row
def _real_name(value: str) -> str | None:
    text = " ".join(value.split())
    return None if text.lower() in PLACEHOLDERS else text


@dataclass(slots=True)
class LogEvent:
    line: int | None
    activity: str
    at: datetime
    resource: str | None
    group: str | None
    lifecycle: str | None = None
    status: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    combination_id: int = -1  # the spill's number for (activity, lifecycle, status)

    @property
    def combination(self) -> Combination:
        return Combination(self.activity, self.lifecycle, self.status)


@dataclass
class LogCase:
    case_id: str
    line: int | None
    attributes: dict[str, Any] = field(default_factory=dict)
    events: list[LogEvent] = field(default_factory=list)


@dataclass
class LogFacts:
    """What the first pass learnt: enough to build the organisation and to show the dry run."""

    cases: int = 0
    events: int = 0
    combinations: Counter[Combination] = field(default_factory=Counter)
    decisions: dict[Combination, Decision] = field(default_factory=dict)
    people: dict[str, None] = field(default_factory=dict)  # in order of first appearance
    placeholder_rows: int = 0
    groups: dict[str, str | None] = field(default_factory=dict)  # group -> department value
    workers: dict[tuple[str, str], None] = field(default_factory=dict)  # (group, person)
    first_line: dict[Combination, int | None] = field(default_factory=dict)
    first: datetime | None = None
    last: datetime | None = None


@dataclass(frozen=True)
class CsvHalf:
    """A later part of a CSV log, read by another process into a spill file of its own."""

    path: Path
    facts: LogFacts
    combinations: list[Combination]
    counts: list[int]
    keys: dict[str, int]  # case id -> the part's key, in order of first appearance
    problems: list[Problem]


class Spill:
    """The log's rows in a temporary SQLite file, read back one case at a time in time order."""

    def __init__(
        self, name: str, mapping: LogMapping, problems: list[Problem], file: Path | None = None
    ) -> None:
        """`file`: where to keep the rows (a part of the log read by another process, see
        `read_csv`); by default a temporary folder of the spill's own."""
        self.name = name
        self.mapping = mapping
        self.problems = problems
        self.facts = LogFacts()
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        if file is None:
            self._folder = tempfile.TemporaryDirectory(prefix="followthrough-import-")
            file = Path(self._folder.name) / "spill.sqlite3"
        self._file = file
        self._db = sqlite3.connect(self._file)
        self._db.executescript(
            """
            PRAGMA journal_mode = OFF;
            PRAGMA synchronous = OFF;
            PRAGMA temp_store = FILE;
            PRAGMA cache_size = -65536;
            CREATE TABLE log_case (key INTEGER PRIMARY KEY, case_id TEXT, line INTEGER);
            CREATE TABLE case_attribute (
                key INTEGER, name TEXT, value TEXT, PRIMARY KEY (key, name)
            ) WITHOUT ROWID;
            CREATE TABLE log_event (
                key INTEGER, seq INTEGER, line INTEGER, at TEXT, combination INTEGER,
                resource TEXT, grp TEXT, extras TEXT
            );
            """
        )
        self._keys: dict[str, int] = {}
        # Each distinct (activity, lifecycle, status), numbered in order of first sight.
        self._combination_ids: dict[tuple[str, str | None, str | None], int] = {}
        self.combinations: list[Combination] = []
        self.decisions: list[Decision] = []
        self._counts: list[int] = []
        self._events: list[tuple[Any, ...]] = []
        self._attributes: list[tuple[int, str, str]] = []
        self._json_of: dict[tuple[tuple[str, Any], ...], str] = {}
        self._time_texts: dict[datetime, str] = {}

    def close(self) -> None:
        self._db.close()
        if self._folder is not None:
            self._folder.cleanup()

    def __enter__(self) -> Spill:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def full(self) -> bool:
        return len(self.problems) >= MAX_PROBLEMS

    def decision(self, combination: Combination) -> Decision:
        decision = self.facts.decisions.get(combination)
        if decision is None:
            decision = self.facts.decisions[combination] = self.mapping.decide(combination)
        return decision

    # --- writing --------------------------------------------------------------------------

    def case_key(self, case_id: str, line: int | None, *, unique: bool = False) -> int | None:
        """The spill's key for a case; with `unique` (an XES trace) a second trace of the same
        id is a problem and gets None."""
        key = self._keys.get(case_id)
        if key is not None:
            if unique:
                self.problems.append(
                    Problem(self.name, line, "case", f"case {case_id!r} appears twice")
                )
                return None
            return key
        key = self._keys[case_id] = len(self._keys) + 1
        self._db.execute("INSERT INTO log_case VALUES (?, ?, ?)", (key, case_id, line))
        self.facts.cases += 1
        return key

    def add_attributes(self, key: int, line: int | None, attributes: dict[str, Any]) -> None:
        requester = real_name(attributes.get("requester"))
        if requester is not None:
            self.facts.people.setdefault(requester)
        group = real_name(attributes.get("group"))
        if group is not None:
            self.facts.groups.setdefault(group, None)
        for name, value in attributes.items():
            if _text_problem(self, line, f"case:{name}", name) or _text_problem(
                self, line, f"case:{name}", value
            ):
                continue
            self._attributes.append((key, name, json.dumps(value, default=str)))

    def add_event(self, key: int, event: LogEvent) -> None:
        """Spill one row, after checking every text it holds."""
        if any(
            _text_problem(self, event.line, field_name, value)
            for field_name, value in (
                ("activity", event.activity),
                ("resource", event.resource),
                ("group", event.group),
                ("lifecycle:transition", event.lifecycle),
                ("status", event.status),
                *((name, name) for name in event.extras),
                *event.extras.items(),
            )
        ):
            return
        self.add_checked(
            key,
            event.line,
            event.at,
            event.activity,
            event.lifecycle,
            event.status,
            event.resource,
            event.group,
            event.extras,
        )

    def add_checked(
        self,
        key: int,
        line: int | None,
        at: datetime,
        activity: str,
        lifecycle: str | None,
        status: str | None,
        resource: str | None,
        group: str | None,
        extras: dict[str, Any],
    ) -> None:
        """Spill one row whose texts are known to be fine (the hot path of a CSV)."""
        facts = self.facts
        facts.events += 1
        raw = (activity, lifecycle, status)
        number = self._combination_ids.get(raw)
        if number is None:
            number = self._combination_ids[raw] = len(self.combinations)
            combination = Combination(activity, lifecycle, status)
            self.combinations.append(combination)
            self.decisions.append(self.decision(combination))
            self._counts.append(0)
            facts.first_line[combination] = line
        self._counts[number] += 1
        kind = self.decisions[number].kind
        if resource is None:
            facts.placeholder_rows += 1
        else:
            facts.people.setdefault(resource)
        if group is not None:
            if facts.groups.get(group) is None:
                department = None
                attribute = self.mapping.department_attribute
                if attribute is not None and extras.get(attribute) is not None:
                    department = real_name(extras[attribute])
                facts.groups[group] = department
            if resource is not None and kind in MEMBER_KINDS:
                facts.workers.setdefault((group, resource))
        if "other_group" in extras or "person" in extras:
            # Our own exports name the other team of a handoff and the person it is about.
            for name, names in (("other_group", facts.groups), ("person", facts.people)):
                named = real_name(extras.get(name))
                if named is not None:
                    names.setdefault(named, None)
        if facts.first is None or at < facts.first:
            facts.first = at
        if facts.last is None or at > facts.last:
            facts.last = at
        if kind == IGNORE:
            return
        self._events.append(
            (
                key,
                facts.events,
                line,
                self._time_text(at),
                number,
                resource,
                group,
                self._extras_json(extras) if extras else None,
            )
        )
        if len(self._events) >= SPILL_BATCH:
            self._flush()

    def _time_text(self, at: datetime) -> str:
        """The instant as the spill keeps it; rows often share their time (a log to the minute
        or second), and isoformat costs more than a look-up."""
        text = self._time_texts.get(at)
        if text is None:
            if len(self._time_texts) >= TIME_CACHE:
                self._time_texts.clear()
            text = self._time_texts[at] = at.isoformat(timespec="microseconds")
        return text

    def _extras_json(self, extras: dict[str, Any]) -> str:
        """The row's other columns as JSON; most logs repeat a few combinations (an impact,
        a priority) on row after row, each encoded once."""
        key = tuple(extras.items())
        try:
            text = self._json_of.get(key)
        except TypeError:  # a value that cannot be a key (an XES list): encoded each time
            return json.dumps(extras)
        if text is None:
            if len(self._json_of) >= JSON_CACHE:
                self._json_of.clear()
            text = self._json_of[key] = json.dumps(extras)
        return text

    def _flush(self) -> None:
        self._db.executemany("INSERT INTO log_event VALUES (?, ?, ?, ?, ?, ?, ?, ?)", self._events)
        self._db.executemany(
            "INSERT OR IGNORE INTO case_attribute VALUES (?, ?, ?)", self._attributes
        )
        self._events.clear()
        self._attributes.clear()

    def half_read(self) -> CsvHalf:
        """What `merge` needs of this spill, a later part of a log read by another process."""
        self._flush()
        self._db.commit()
        return CsvHalf(
            self._file, self.facts, self.combinations, self._counts, self._keys, self.problems
        )

    def merge(self, half: CsvHalf, lines: int) -> None:
        """Add the rows of the part of the same log that follows this spill's, read into a
        spill of its own (`half_read`): the same keys, numbers and order as reading the whole
        file here would have given. `lines`: the file's lines before that part."""
        facts, seen = self.facts, half.facts
        cases = []
        for case_id, half_key in half.keys.items():
            key = self._keys.get(case_id)
            if key is None:
                key = self._keys[case_id] = len(self._keys) + 1
                facts.cases += 1
                cases.append((half_key, key, 1))
            else:
                cases.append((half_key, key, 0))
        numbers = []
        for number, combination in enumerate(half.combinations):
            raw = (combination.activity, combination.lifecycle, combination.status)
            mine = self._combination_ids.get(raw)
            if mine is None:
                mine = self._combination_ids[raw] = len(self.combinations)
                self.combinations.append(combination)
                self.decisions.append(self.decision(combination))
                self._counts.append(0)
                first = seen.first_line.get(combination)
                facts.first_line[combination] = None if first is None else first + lines
            self._counts[mine] += half.counts[number]
            numbers.append((number, mine))
        before = facts.events
        facts.events += seen.events
        facts.placeholder_rows += seen.placeholder_rows
        for person in seen.people:
            facts.people.setdefault(person)
        for group, department in seen.groups.items():
            if facts.groups.get(group) is None:  # the first row naming a department counts
                facts.groups[group] = department
        for pair in seen.workers:
            facts.workers.setdefault(pair)
        if seen.first is not None and (facts.first is None or seen.first < facts.first):
            facts.first = seen.first
        if seen.last is not None and (facts.last is None or seen.last > facts.last):
            facts.last = seen.last
        self._flush()  # this spill's case attributes first: the first value of a name counts
        db = self._db
        db.execute(
            "CREATE TEMP TABLE half_case (half INTEGER PRIMARY KEY, key INTEGER, new INTEGER)"
        )
        db.execute("CREATE TEMP TABLE half_combination (half INTEGER PRIMARY KEY, mine INTEGER)")
        db.executemany("INSERT INTO half_case VALUES (?, ?, ?)", cases)
        db.executemany("INSERT INTO half_combination VALUES (?, ?)", numbers)
        db.commit()
        db.execute("ATTACH DATABASE ? AS half", (str(half.path),))
        try:
            db.execute(
                "INSERT INTO log_case SELECT k.key, c.case_id, c.line + ? FROM half.log_case c "
                "JOIN half_case k ON k.half = c.key WHERE k.new ORDER BY k.key",
                (lines,),
            )
            db.execute(
                "INSERT INTO log_event SELECT k.key, e.seq + ?, e.line + ?, e.at, m.mine, "
                "e.resource, e.grp, e.extras FROM half.log_event e "
                "JOIN half_case k ON k.half = e.key "
                "JOIN half_combination m ON m.half = e.combination ORDER BY e.rowid",
                (before, lines),
            )
            db.execute(
                "INSERT OR IGNORE INTO case_attribute SELECT k.key, a.name, a.value "
                "FROM half.case_attribute a JOIN half_case k ON k.half = a.key"
            )
            db.execute("DROP TABLE half_case")
            db.execute("DROP TABLE half_combination")
            db.commit()
        finally:
            db.execute("DETACH DATABASE half")

    def finish_reading(self) -> None:
        self._flush()
        self.facts.combinations = Counter(dict(zip(self.combinations, self._counts, strict=True)))
        # Covering, so reading back in case order is one pass over the index, not a jump into
        # the table for every row.
        self._db.execute(
            "CREATE INDEX ix_log_event_case ON log_event "
            "(key, at, seq, line, combination, resource, grp, extras)"
        )
        self._db.commit()

    # --- reading back ----------------------------------------------------------------------

    @property
    def path(self) -> Path:
        """The spill file; once read, other processes may open it to read cases back."""
        return self._file

    @property
    def folder(self) -> Path:
        """Where the spill's files are; removed when it closes."""
        return self._file.parent

    def key_ranges(self, parts: int) -> list[tuple[int, int]]:
        """The case keys split into at most `parts` runs [low, high) of about equal rows."""
        total = self.facts.events or 1
        ranges: list[tuple[int, int]] = []
        low, seen = 1, 0
        rows = self._db.execute("SELECT key, COUNT(*) FROM log_event GROUP BY key ORDER BY key")
        for key, count in rows:
            seen += count
            if len(ranges) < parts - 1 and seen >= total * (len(ranges) + 1) / parts:
                ranges.append((low, key + 1))
                low = key + 1
        ranges.append((low, self.facts.cases + 1))
        return [r for r in ranges if r[0] < r[1]]

    def rows_after(self, at: datetime) -> list[tuple[int | None, str]]:
        """The line and time of each row later than `at`, in file order (at most MAX_PROBLEMS).
        The spill's times are UTC texts of one width, so they compare as they sort."""
        return self._db.execute(
            "SELECT line, at FROM log_event WHERE at > ? ORDER BY line LIMIT ?",
            (at.astimezone(UTC).isoformat(timespec="microseconds"), MAX_PROBLEMS),
        ).fetchall()

    def case_ids(self) -> Iterator[tuple[str, int | None]]:
        """Each case's id and the line it first appears on, in order of first appearance."""
        return iter(self._db.execute("SELECT case_id, line FROM log_case ORDER BY key"))

    def cases(self) -> Iterator[LogCase]:
        """Every case with its attributes and its mapped (not ignored) events in time order
        (ties keep file order). A case whose every row was ignored comes with no events."""
        return spilled_cases(self._db, self.combinations, 1, self.facts.cases + 1)


def spilled_cases(
    db: sqlite3.Connection, combinations: list[Combination], low: int, high: int
) -> Iterator[LogCase]:
    """The spilled cases whose keys are in [low, high), as `Spill.cases` describes them."""
    attribute_rows = _batches(
        db.execute(
            "SELECT key, name, value FROM case_attribute WHERE key >= ? AND key < ? ORDER BY key",
            (low, high),
        )
    )
    next_attribute = next(attribute_rows, None)
    events = _batches(
        db.execute(
            "SELECT key, line, at, combination, resource, grp, extras "
            "FROM log_event WHERE key >= ? AND key < ? ORDER BY key, at, seq",
            (low, high),
        )
    )
    next_event = next(events, None)
    parsed: dict[str, dict[str, Any]] = {}  # each distinct extras text decoded once
    for key, case_id, line in db.execute(
        "SELECT key, case_id, line FROM log_case WHERE key >= ? AND key < ? ORDER BY key",
        (low, high),
    ).fetchall():
        case = LogCase(case_id, line)
        while next_attribute is not None and next_attribute[0] <= key:
            if next_attribute[0] == key:
                case.attributes[next_attribute[1]] = json.loads(next_attribute[2])
            next_attribute = next(attribute_rows, None)
        while next_event is not None and next_event[0] == key:
            _, e_line, at, number, resource, group, extras = next_event
            combination = combinations[number]
            if extras:
                values = parsed.get(extras)
                if values is None:
                    if len(parsed) >= JSON_CACHE:
                        parsed.clear()
                    values = parsed[extras] = json.loads(extras)
                extras = dict(values)  # the event's own copy
            case.events.append(
                LogEvent(
                    e_line,
                    combination.activity,
                    datetime.fromisoformat(at),
                    resource,
                    group,
                    combination.lifecycle,
                    combination.status,
                    extras or {},
                    number,
                )
            )
            next_event = next(events, None)
        yield case


def _batches(cursor: sqlite3.Cursor) -> Iterator[Any]:
    """A cursor's rows, fetched a batch at a time."""
    while True:
        rows = cursor.fetchmany(SPILL_BATCH)
        if not rows:
            return
        yield from rows


def _text_problem(spill: Spill, line: int | None, field_name: str, value: Any) -> bool:
    """Text PostgreSQL cannot store (a NUL character) or longer than MAX_FIELD_CHARS."""
    if not isinstance(value, str):
        return False
    if "\x00" in value:
        spill.problems.append(
            Problem(spill.name, line, field_name, "contains a NUL (\\x00) character")
        )
        return True
    if len(value) > MAX_FIELD_CHARS:
        spill.problems.append(
            Problem(spill.name, line, field_name, f"longer than {MAX_FIELD_CHARS} characters")
        )
        return True
    return False


# --- CSV --------------------------------------------------------------------------------------

CSV_ALIASES = {
    "case:concept:name": "case_id",
    "case": "case_id",
    "case id": "case_id",
    "concept:name": "activity",
    "time:timestamp": "timestamp",
    "org:resource": "resource",
    "org:group": "group",
    "lifecycle:transition": "lifecycle",
    "transition": "lifecycle",
    "title": "case:title",
}
CSV_REQUIRED = ("case_id", "activity", "timestamp")
CSV_KNOWN = frozenset({"case_id", "activity", "timestamp", "resource", "group", "lifecycle"})


def read_csv(
    path: Path,
    spill: Spill,
    progress: ProgressHook | None = None,
    *,
    quick: bool = True,
    split: bool = False,
) -> None:
    """Spill every row of a CSV event log; rows of a case may be anywhere in the file.

    Most rows of a real log are plain (every column there, the required ones filled, a time
    that reads): those take a quick path that reads the columns by position. Any other row
    takes the general path, which names what is wrong. `quick=False` sends every row the
    general way (the tests compare the two).

    `split`: a file of SPLIT_FROM_BYTES or more is read in two parts at once, the second by
    another process into a spill of its own, merged into this one once both are read; the
    result is the same as reading it whole here (see `_cut`). Only for a caller that holds
    no transaction: this waits for the other process."""
    name = spill.name
    problems = spill.problems
    with path.open(newline="", encoding="utf-8-sig") as handle:
        size = path.stat().st_size
        if progress is not None:
            progress.total(size)
        try:
            header, reader, delimiter = _header(handle)
        except csv.Error as exc:
            problems.append(Problem(name, 1, "", f"not valid CSV: {_csv_reason(exc)}"))
            return
        if header is None:
            problems.append(Problem(name, 1, "", "the file is empty"))
            return
        rows = _CsvRows.of(header, spill, quick)
        if rows is None:
            return
        cut = _cut(path, size) if split and size >= SPLIT_FROM_BYTES else None
        if cut is None:
            rows.read(reader, reader.line_num, progress, None)
            return
        offset, lines = cut
        part = (path, header, offset, spill.mapping, quick, spill.folder, delimiter)
        with _half_reader() as pool:
            other = pool.submit(_read_half, *part)
            if rows.read(reader, reader.line_num, progress, lines):
                try:
                    half = other.result()
                except (BrokenProcessPool, OSError):  # no process could start: read it here
                    half = _read_half(*part)
                spill.merge(half, lines)
                _add_problems(spill, half.problems, lines)
                if progress is not None:
                    progress.advance(size - offset)


# Cell separators tried in turn: the first that makes the header name the required columns is
# the file's (a spreadsheet in a country that writes decimal commas saves with semicolons).
DELIMITERS = (",", ";", "\t")


def _header(handle: Any) -> tuple[list[str] | None, Any, str]:
    """The header, a strict reader (a quoted cell must close, and close before a separator:
    a file cut off inside one is an error, not a shorter last row) positioned after it, and the
    cell separator. With no separator that names the required columns, the comma's reading
    (whose missing columns are then named)."""
    for delimiter in DELIMITERS:
        handle.seek(0)
        reader = csv.reader(handle, delimiter=delimiter, strict=True)
        try:
            header = next(reader, None)
        except csv.Error:  # another separator's quoting ('"case_id";"activity"' read at commas)
            continue
        if header is None or _names_required(header):
            return header, reader, delimiter
    handle.seek(0)
    reader = csv.reader(handle, strict=True)
    return next(reader, None), reader, DELIMITERS[0]


def _names_required(header: list[str]) -> bool:
    columns = {CSV_ALIASES.get(c.strip().lower(), c.strip()) for c in header}
    return all(c in columns for c in CSV_REQUIRED)


def _csv_reason(exc: csv.Error) -> str:
    """The csv module's complaint in the words of someone looking at the file."""
    text = str(exc)
    if text.startswith("unexpected end of data"):
        return "the file ends inside a quoted cell that opens here (is the file cut short?)"
    if text.startswith("field larger than field limit"):
        return f"a cell is longer than {MAX_FIELD_CHARS} characters"
    if "expected after" in text:
        return "a quoted cell goes on after its closing quote (a quote inside it not doubled?)"
    return text


def _not_utf8(path: Path) -> Problem:
    """The first line of the file that is not UTF-8 (lines counted as the csv module counts
    them), with the byte that is not."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines = 1
    carriage = False
    with path.open("rb") as raw:
        for block in iter(lambda: raw.read(1 << 20), b""):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                # The decoder's input: at most three bytes of a character begun in the block
                # before (never a line end), then this block.
                line = lines + _line_ends(exc.object[: exc.start], carriage)
                byte = exc.object[exc.start]
                reason = f"not UTF-8 text (byte 0x{byte:02X}: is it cp1252 or latin-1?)"
                return Problem(path.name, line, "", f"{reason}; save the file as UTF-8")
            lines += _line_ends(block, carriage)
            carriage = block.endswith(b"\r")
    return Problem(path.name, None, "", "not UTF-8 text: the file ends inside a character")


# A CSV log at least this large is read in two parts at once (`read_csv`): below it, starting
# the other process costs more than it saves.
SPLIT_FROM_BYTES = 16 << 20


def _half_reader() -> Executor:
    """The other process for a CSV's second part: a fresh interpreter (spawn), not a fork of
    one that may hold connections and threads."""
    return ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))


def _cut(path: Path, size: int) -> tuple[int, int] | None:
    """Where to split the file: the byte offset just after a line break a little past the
    middle that has an even number of quotes before it (so, in a well-formed CSV, it ends a
    record), and the number of lines before it as the csv module counts them (a line ends at
    LF, CR LF or a lone CR). None if there is no such place.

    A quote inside an unquoted field ("a 5" screen") is a character of its own and can make
    the count lie; the reader of the first part checks that a record really ends there and,
    if none does, reads on to the end alone (`_CsvRows.read`)."""
    middle = size * 11 // 20  # a little past the middle: the other process starts later
    quotes = lines = 0
    carriage = False  # the last chunk ended in CR: an LF opening the next ends the same line
    with path.open("rb") as raw:
        done = 0
        while done < middle:
            chunk = raw.read(min(1 << 20, middle - done))
            if not chunk:
                return None
            quotes += chunk.count(b'"')
            lines += _line_ends(chunk, carriage)
            carriage = chunk.endswith(b"\r")
            done += len(chunk)
        while True:
            chunk = raw.read(1 << 16)
            if not chunk:
                return None
            at = 0
            while True:
                found = chunk.find(b"\n", at)
                if found < 0:
                    break
                quotes_before = quotes + chunk.count(b'"', 0, found)
                if quotes_before % 2 == 0:
                    head = chunk[: found + 1]
                    ends = lines + _line_ends(head, carriage)
                    return done + found + 1, ends
                at = found + 1
            quotes += chunk.count(b'"')
            lines += _line_ends(chunk, carriage)
            carriage = chunk.endswith(b"\r")
            done += len(chunk)


def _line_ends(chunk: bytes, carriage: bool) -> int:
    """Line ends in the chunk (LF, CR LF, lone CR); `carriage`: the text before it ended in CR,
    so an LF first here finishes that line end rather than making one."""
    ends = chunk.count(b"\n") + chunk.count(b"\r") - chunk.count(b"\r\n")
    if carriage and chunk.startswith(b"\n"):
        ends -= 1
    return ends


def _read_half(
    path: Path,
    header: list[str],
    offset: int,
    mapping: LogMapping,
    quick: bool,
    folder: Path,
    delimiter: str = DELIMITERS[0],
) -> CsvHalf:
    """Read the CSV from `offset` (just after a line break) to its end into a spill file of its
    own in `folder`; line numbers count from that offset."""
    problems: list[Problem] = []
    handle, file = tempfile.mkstemp(prefix="part-", suffix=".sqlite3", dir=folder)
    os.close(handle)  # SQLite makes an empty file a database
    spill = Spill(path.name, mapping, problems, file=Path(file))
    try:
        rows = _CsvRows.of(header, spill, quick)
        assert rows is not None  # the first part read the same header without a problem
        with path.open("rb") as raw:
            raw.seek(offset)
            text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
            try:
                rows.read(csv.reader(text, delimiter=delimiter, strict=True), 0, None, None)
            except UnicodeDecodeError:
                problems.append(_not_utf8(path))
        return spill.half_read()
    finally:
        spill._db.close()


def _add_problems(spill: Spill, problems: list[Problem], lines: int) -> None:
    """The second part's problems after the first's, with the lines they have in the file;
    like reading on, a row's problems at a time, until there are MAX_PROBLEMS."""
    shifted = [replace(p, line=None if p.line is None else p.line + lines) for p in problems]
    for _, same_row in groupby(shifted, key=lambda p: p.line):
        if spill.full():
            return
        spill.problems.extend(same_row)


class _CsvRows:
    """A CSV's rows into a spill, once its header is known."""

    def __init__(self, columns: list[str], spill: Spill, quick: bool) -> None:
        self.spill = spill
        self.columns = columns
        status = spill.mapping.status_attribute
        if status is None:
            status = next((c for c in columns if c.lower() in STATUS_ATTRIBUTES), None)
        self.status = status
        self.width = len(columns)
        self.has_case_columns = any(c.startswith("case:") for c in columns)
        self.plain = _PlainRows.of(columns, status) if quick else None

    @classmethod
    def of(cls, header: list[str], spill: Spill, quick: bool) -> _CsvRows | None:
        """None, with a problem for each, when a required column is missing."""
        columns = [CSV_ALIASES.get(c.strip().lower(), c.strip()) for c in header]
        missing = [c for c in CSV_REQUIRED if c not in columns]
        for column in missing:
            spill.problems.append(Problem(spill.name, 1, column, "required column is missing"))
        return None if missing else cls(columns, spill, quick)

    def read(
        self,
        reader: Any,
        line: int,
        progress: ProgressHook | None,
        stop_at: int | None,
    ) -> bool:
        """Spill the reader's rows; `line`: the lines read before. With `stop_at`, stop once
        the reader has read that many lines, if a record ends there: True when it did (the rest
        is another process's), False when the spill is full of problems or the file is read
        to its end."""
        read = 0
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return False
            except csv.Error as exc:  # named at the line its record starts on
                reason = f"not valid CSV: {_csv_reason(exc)}"
                self.spill.problems.append(Problem(self.spill.name, line + 1, "", reason))
                return False
            start, line = line + 1, reader.line_num
            if progress is not None:
                read += sum(map(len, cells)) + len(cells)
                if read >= 1 << 20:
                    progress.advance(read)
                    read = 0
            if not self._row(cells, start):
                return False
            if stop_at is not None and line >= stop_at:
                if line == stop_at:
                    return True
                stop_at = None  # a record runs across the cut: read on to the end alone

    def _row(self, cells: list[str], start: int) -> bool:
        """Spill one row; False when the spill is full of problems."""
        spill = self.spill
        plain = self.plain
        if plain is not None and len(cells) == self.width and plain.spill(cells, start, spill):
            return True
        columns = self.columns
        if len(cells) > self.width:
            if any(c.strip() for c in cells):
                spill.problems.append(
                    Problem(spill.name, start, "", "more cells than the header has columns")
                )
            return not spill.full()
        row = {c: v.strip() for c, v in zip(columns, cells, strict=False) if v and not v.isspace()}
        if not row:
            return True
        event = _csv_event(spill.name, start, row, spill.problems, self.status)
        if event is not None:
            key = spill.case_key(row["case_id"], start)
            assert key is not None
            if self.has_case_columns:
                case_attributes = {
                    c.removeprefix("case:"): v for c, v in row.items() if c.startswith("case:")
                }
                if case_attributes:
                    spill.add_attributes(key, start, case_attributes)
            # Checks each text and names a bad one; plain rows took the quick path above, so
            # the checks cost nothing that matters here.
            spill.add_event(key, event)
        return not spill.full()


class _PlainRows:
    """The quick path for a CSV's plain rows: the columns read by position, each distinct time
    text read once. It spills what the general path would spill for the same row."""

    def __init__(self, columns: list[str], status: str | None) -> None:
        place = {c: n for n, c in enumerate(columns)}
        self.case_id = place["case_id"]
        self.activity = place["activity"]
        self.timestamp = place["timestamp"]
        self.resource = place.get("resource")
        self.group = place.get("group")
        self.lifecycle = place.get("lifecycle")
        self.status = None if status is None else place.get(status)
        self.extras = [
            (n, c)
            for n, c in enumerate(columns)
            if c not in CSV_KNOWN and c != status and not c.startswith("case:")
        ]
        self.times: dict[str, datetime] = {}

    @classmethod
    def of(cls, columns: list[str], status: str | None) -> _PlainRows | None:
        """None when the header asks for the general path on every row: a column named twice
        (the last filled one counts) or a case attribute column."""
        if len(set(columns)) < len(columns) or any(c.startswith("case:") for c in columns):
            return None
        return cls(columns, status)

    def spill(self, cells: list[str], line: int, spill: Spill) -> bool:
        """Spill the row if it is plain; False (nothing spilled) for the general path."""
        case_id = cells[self.case_id].strip()
        activity = cells[self.activity].strip()
        stamp = cells[self.timestamp].strip()
        if not (case_id and activity and stamp):
            return False
        joined = "".join(cells)
        if "\x00" in joined or len(joined) > MAX_FIELD_CHARS:
            return False
        at = self.times.get(stamp)
        if at is None:
            try:
                at = parse_time(stamp)
            except ValueError:
                return False
            if len(self.times) >= TIME_CACHE:
                self.times.clear()
            self.times[stamp] = at
        key = spill.case_key(case_id, line)
        assert key is not None
        spill.add_checked(
            key,
            line,
            at,
            activity,
            _cell(cells, self.lifecycle),
            _cell(cells, self.status),
            real_name(_cell(cells, self.resource)),
            real_name(_cell(cells, self.group)),
            {c: v for n, c in self.extras if (v := cells[n].strip())},
        )
        return True


def _cell(cells: list[str], place: int | None) -> str | None:
    return None if place is None else (cells[place].strip() or None)


def _csv_event(
    name: str, line: int, row: dict[str, str], problems: list[Problem], status: str | None
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
    return LogEvent(
        line=line,
        activity=row["activity"],
        at=at,
        resource=real_name(row.get("resource")),
        group=real_name(row.get("group")),
        lifecycle=row.get("lifecycle"),
        status=None if status is None else row.get(status),
        extras={
            k: v
            for k, v in row.items()
            if k not in CSV_KNOWN and k != status and not k.startswith("case:")
        },
    )


# --- XES --------------------------------------------------------------------------------------

_XES_VALUE_TAGS = frozenset({"string", "date", "int", "float", "boolean", "id"})


def _xes_value(tag: str, text: str) -> Any:
    if tag == "int":
        return int(text)
    if tag == "float":
        number = float(text)
        # XES allows NaN and infinities (a measurement missing or off the scale); JSON (the
        # event payload) has neither, so such a value is kept as it was written.
        return number if math.isfinite(number) else text.strip()
    if tag == "boolean":
        return text.strip().lower() == "true"
    if tag == "date":
        return parse_time(text)
    return text


def read_xes(path: Path, spill: Spill, progress: ProgressHook | None = None) -> None:
    """Spill every trace of an XES file, streamed: one trace in memory at a time."""
    name = spill.name
    problems = spill.problems
    parser = expat.ParserCreate()
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
            logged = _xes_event(name, event_line, event, problems, spill.mapping.status_attribute)
            if logged is not None:
                trace.events.append(logged)
            event = None
        elif tag == "trace" and trace is not None and stack == ["log"]:
            _spill_trace(spill, trace)
            trace = None

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.buffer_text = True
    if progress is not None:
        progress.total(path.stat().st_size)
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
            if not chunk or spill.full():
                break
    if not seen_log:
        problems.append(Problem(name, None, "", "the file holds no XES log"))


def _spill_trace(spill: Spill, trace: LogCase) -> None:
    case_id = trace.attributes.pop("concept:name", None)
    if case_id is None or str(case_id).strip() == "":
        spill.problems.append(
            Problem(spill.name, trace.line, "concept:name", "the trace has no id")
        )
        return
    trace.case_id = str(case_id).strip()
    # A trace with no events (a log filtered down, a case only registered) is still a case of
    # the log, with nothing to replay: the import counts it and goes on.
    key = spill.case_key(trace.case_id, trace.line, unique=True)
    if key is None:
        return
    if trace.attributes:
        spill.add_attributes(
            key,
            trace.line,
            {
                k: v.isoformat() if isinstance(v, datetime) else v
                for k, v in trace.attributes.items()
            },
        )
    for logged in trace.events:
        spill.add_event(key, logged)


def _xes_event(
    name: str,
    line: int,
    attributes: dict[str, Any],
    problems: list[Problem],
    status_attribute: str | None,
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
    lifecycle = attributes.pop("lifecycle:transition", None)
    status_key = status_attribute or next(
        (k for k in attributes if k.lower() in STATUS_ATTRIBUTES), None
    )
    status = attributes.pop(status_key, None) if status_key is not None else None
    return LogEvent(
        line=line,
        activity=str(activity).strip(),
        at=at,
        resource=real_name(resource),
        group=real_name(group),
        lifecycle=None if lifecycle is None else str(lifecycle).strip() or None,
        status=None if status is None else str(status).strip() or None,
        extras={
            k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in attributes.items()
        },
    )


def read_log(
    path: Path,
    fmt: str,
    mapping: LogMapping,
    problems: list[Problem],
    progress: ProgressHook | None = None,
    *,
    split: bool = False,
) -> Spill:
    """The log spilled and counted; the caller closes the spill. Problems are appended.
    `split`: a large CSV may be read in two parts at once (`read_csv`)."""
    spill = Spill(path.name, mapping, problems)
    try:
        if fmt == "xes":
            read_xes(path, spill, progress)
        else:
            read_csv(path, spill, progress, split=split)
    except UnicodeDecodeError:
        problems.append(_not_utf8(path))
    except csv.Error as exc:
        problems.append(Problem(path.name, None, "", f"not valid CSV: {exc}"))
    except BaseException:
        spill.close()
        raise
    spill.finish_reading()
    return spill
