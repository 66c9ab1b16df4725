"""What each row of another system's log means here: rules over activity, lifecycle and status.

A log row is read as a *combination*: its activity (`concept:name`), its XES lifecycle
transition (`lifecycle:transition`) and its status (a status attribute, or the lifecycle value
when a help desk stores its status there, as "Accepted" / "Wait - User"). Rules are tried in
order, the user's (a mapping file, `--map`) before the built-in ones; the first that matches
decides the event kind, or that the row is ignored. A rule leaves out what it does not care
about. When no rule matches, the words of the status and then of the activity are looked up
(`ACTIVITY_KINDS`); a row nothing knows is kept as a note (`update_posted`). The mapping file
also says how teams group into departments. All of it is pure: no database, no file handles
beyond reading the mapping file.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from followthrough.history.service import EVENT_KINDS
from followthrough.org.importer import ImportRejected, Problem

IGNORE = "ignore"
UNMAPPED = "update_posted"

# What a paused request waits on (requests/rules.WAIT_REASONS plus the clarification pause).
WAITING_ON = ("requester", "outside", "sub_request")


def words(text: str) -> str:
    """Lower-case words only: "Wait - User" -> "wait user"; the key every rule compares by."""
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text.lower()).split())


_MAPPED_WORDS: dict[str, tuple[str, ...]] = {
    "opened": ("open", "create", "created", "new", "submit", "submitted", "register",
               "registered", "report", "reported", "log", "logged", "raise", "raised"),
    "accepted": ("assign", "assigned", "accept", "accepted", "take", "taken", "take over",
                 "pick up", "picked up", "start", "started", "start work", "in progress", "own"),
    "offered": ("handoff", "hand off", "handover", "hand over", "forward", "forwarded",
                "transfer", "transferred", "reassign", "reassigned", "route", "routed",
                "dispatch", "dispatched", "offer", "queued", "awaiting assignment"),
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
                      "respond", "responded", "post update", "unmatched"),
    "promise_made": ("promise",),
    "resolved": ("resolve", "resolved", "solve", "solved", "fix", "fixed", "complete",
                 "completed", "done", "finish", "finished"),
    "reopened": ("reopen", "re open", "re opened", "reopened"),
    "closed": ("close", "closed", "archive", "archived", "cancel", "cancelled", "canceled"),
}  # fmt: skip

# Activity or status words -> event kind. Our own kinds map to themselves, so an exported log
# comes back unchanged.
ACTIVITY_KINDS: dict[str, str] = {
    **{words(kind): kind for kind in EVENT_KINDS},
    **{words(word): kind for kind, names in _MAPPED_WORDS.items() for word in names},
}

# The XES standard lifecycle model (IEEE 1849, lifecycle extension "standard"). A status kept
# in `lifecycle:transition` is anything else.
STANDARD_TRANSITIONS = frozenset(
    {
        "schedule",
        "assign",
        "reassign",
        "start",
        "suspend",
        "resume",
        "complete",
        "autoskip",
        "manualskip",
        "withdraw",
        "ate abort",
        "pi abort",
        "unknown",
    }
)

# Kinds a status names with authority: "Closed" in a status column closes whatever the activity.
STATE_KINDS = frozenset(
    {
        "opened",
        "accepted",
        "offered",
        "paused",
        "resumed",
        "clarification_asked",
        "clarification_answered",
        "resolved",
        "reopened",
        "closed",
    }
)


@dataclass(frozen=True)
class Combination:
    """One distinct (activity, lifecycle transition, status) of a log, as written there."""

    activity: str
    lifecycle: str | None = None
    status: str | None = None

    @property
    def effective_status(self) -> str | None:
        """The status attribute, else a lifecycle value outside the standard model."""
        if self.status:
            return self.status
        if self.lifecycle and words(self.lifecycle) not in STANDARD_TRANSITIONS:
            return self.lifecycle
        return None


@dataclass(frozen=True)
class Rule:
    """Rows whose activity, lifecycle and status match become `kind` (an event kind or
    "ignore"). A field left out matches anything; a value ending in `*` matches by prefix;
    matching compares words only (case and punctuation do not matter)."""

    kind: str
    activity: str | None = None
    lifecycle: str | None = None
    status: str | None = None
    waiting_on: str | None = None
    source: str = "built-in"

    def matches(self, combination: Combination) -> bool:
        return (
            _field_matches(self.activity, combination.activity)
            and _field_matches(self.lifecycle, combination.lifecycle)
            and _field_matches(self.status, combination.effective_status)
        )

    def describe(self) -> str:
        parts = [
            f"{name} {value}"
            for name, value in (
                ("activity", self.activity),
                ("lifecycle", self.lifecycle),
                ("status", self.status),
            )
            if value is not None
        ]
        return f"{self.source}: " + (", ".join(parts) or "any row")


def _field_matches(pattern: str | None, value: str | None) -> bool:
    if pattern is None:
        return True
    if value is None:
        return False
    if pattern.endswith("*"):
        return words(value).startswith(words(pattern[:-1]))
    return words(value) == words(pattern)


# Help-desk statuses as the big ticketing systems log them (ServiceNow, Volvo IT's VINST
# logs: "Accepted/In Progress", "Queued/Awaiting Assignment", "Completed/Closed"), and the
# XES standard lifecycle. Order matters: the first match wins.
BUILT_IN_RULES: tuple[Rule, ...] = (
    # A wait on the user or the customer is the requester owing an answer; any other wait is
    # on someone outside (a vendor, an implementation, a change window).
    Rule("paused", status="wait user", waiting_on="requester"),
    Rule("paused", status="wait customer", waiting_on="requester"),
    Rule("paused", status="wait*", waiting_on="outside"),
    Rule("paused", status="on hold", waiting_on="outside"),
    Rule("paused", status="pending*", waiting_on="outside"),
    Rule("accepted", status="in progress"),
    Rule("accepted", status="assigned"),
    Rule("offered", status="awaiting assignment"),
    Rule("offered", status="queued"),
    Rule("resolved", status="resolved"),
    Rule("resolved", status="in call"),  # solved during the first call
    Rule("closed", status="closed"),
    Rule("closed", status="cancelled"),
    Rule("closed", status="canceled"),
    Rule(UNMAPPED, activity="unmatched"),
    # The XES standard lifecycle: a suspended activity stops the clock until it resumes;
    # the bookkeeping transitions before work starts say nothing a request needs.
    Rule("paused", lifecycle="suspend", waiting_on="outside"),
    Rule("resumed", lifecycle="resume"),
    Rule("closed", lifecycle="pi_abort"),
    *(
        Rule(IGNORE, lifecycle=transition)
        for transition in (
            "schedule",
            "assign",
            "reassign",
            "start",
            "autoskip",
            "manualskip",
            "withdraw",
            "ate_abort",
        )
    ),
)


@dataclass(frozen=True)
class Decision:
    """What a combination becomes, and why (shown by the dry run)."""

    kind: str
    waiting_on: str | None
    reason: str


@dataclass
class LogMapping:
    """The rules for one import, and how its teams group into departments."""

    rules: Sequence[Rule] = ()
    departments: Mapping[str, str] = field(default_factory=dict)
    department_attribute: str | None = None
    department_pattern: re.Pattern[str] | None = None
    status_attribute: str | None = None

    def decide(self, combination: Combination) -> Decision:
        """The kind a combination becomes: the user's rules, the built-in rules, then the
        words of its status and its activity; a note when nothing knows it."""
        for rule in (*self.rules, *BUILT_IN_RULES):
            if rule.matches(combination):
                waiting = rule.waiting_on
                if rule.kind == "paused" and waiting is None:
                    waiting = _waiting_on(combination)
                return Decision(rule.kind, waiting, rule.describe())
        status = combination.effective_status
        by_status = ACTIVITY_KINDS.get(words(status)) if status else None
        by_activity = ACTIVITY_KINDS.get(words(combination.activity))
        # "Open" or "New" in a status column says nothing new after the first row.
        if by_status in STATE_KINDS and by_status != "opened":
            kind, reason = by_status, "status name"
        elif by_activity is not None:
            kind, reason = by_activity, "activity name"
        elif by_status is not None:
            kind, reason = by_status, "status name"
        else:
            return Decision(UNMAPPED, None, "unknown: kept as a note")
        return Decision(kind, _waiting_on(combination) if kind == "paused" else None, reason)

    def is_known(self, combination: Combination) -> bool:
        return self.decide(combination).reason != "unknown: kept as a note"

    def department_of(self, team: str, attribute: str | None) -> str | None:
        """The department a new team joins: named in the mapping file, else the department
        attribute's value, else the team name's match of the department pattern."""
        if team in self.departments:
            return self.departments[team]
        if self.department_attribute is not None and attribute:
            return attribute
        if self.department_pattern is not None:
            found = self.department_pattern.search(team)
            if found:
                return (found.group(1) if found.groups() else found.group(0)).strip() or None
        return None


def _waiting_on(combination: Combination) -> str:
    text = words(" ".join(filter(None, (combination.activity, combination.effective_status))))
    return "requester" if re.search(r"\b(user|customer|requester|caller)\b", text) else "outside"


def rule_from(entry: Mapping[str, Any], where: str, source: str) -> tuple[Rule | None, list[str]]:
    """A rule from a mapping-file entry, or the reasons it is not one."""
    problems: list[str] = []
    unknown = set(entry) - {"activity", "lifecycle", "status", "kind", "waiting_on"}
    if unknown:
        problems.append(f"{where}: unknown keys {', '.join(sorted(unknown))}")
    kind = entry.get("kind")
    if not isinstance(kind, str) or (kind not in EVENT_KINDS and kind != IGNORE):
        problems.append(f"{where}: kind must be an event kind or 'ignore', not {kind!r}")
    for key in ("activity", "lifecycle", "status", "waiting_on"):
        if key in entry and not isinstance(entry[key], str):
            problems.append(f"{where}: {key} must be text")
    waiting_on = entry.get("waiting_on")
    if waiting_on is not None and waiting_on not in WAITING_ON:
        problems.append(f"{where}: waiting_on must be one of {', '.join(WAITING_ON)}")
    if problems:
        return None, problems
    return (
        Rule(
            str(kind),
            activity=entry.get("activity"),
            lifecycle=entry.get("lifecycle"),
            status=entry.get("status"),
            waiting_on=waiting_on,
            source=source,
        ),
        [],
    )


def load_mapping(
    path: Path | None,
    *,
    activity_map: Mapping[str, str] | None = None,
    department_attribute: str | None = None,
    department_pattern: str | None = None,
    status_attribute: str | None = None,
) -> LogMapping:
    """The mapping for an import: the file's rules (TOML or YAML), then `--map` entries.

    The file holds `[[rule]]` tables (activity, lifecycle, status, kind, waiting_on), and may
    hold `[departments]` (team name = department name), `department_attribute`,
    `department_pattern` (a regular expression over the team name; its first group, or the
    whole match, names the department) and `status_attribute`. Raises ImportRejected naming
    the file and the entry.
    """
    name = "--map" if path is None else path.name
    problems: list[Problem] = []
    content: dict[str, Any] = {}
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
            if path.suffix.lower() == ".toml":
                content = tomllib.loads(text)
            else:
                content = yaml.safe_load(text) or {}
        except OSError as exc:
            raise ImportRejected([Problem(name, None, "", exc.strerror or str(exc))]) from None
        except (tomllib.TOMLDecodeError, yaml.YAMLError, UnicodeDecodeError) as exc:
            raise ImportRejected([Problem(name, None, "", f"not a mapping file: {exc}")]) from None
        if not isinstance(content, dict):
            raise ImportRejected([Problem(name, None, "", "expected a table of settings")])
    unknown = set(content) - {
        "rule",
        "rules",
        "departments",
        "department_attribute",
        "department_pattern",
        "status_attribute",
    }
    for key in sorted(unknown):
        problems.append(Problem(name, None, key, "unknown setting"))
    rules: list[Rule] = []
    entries = content.get("rule", content.get("rules", []))
    if not isinstance(entries, list):
        problems.append(Problem(name, None, "rule", "expected a list of rules"))
        entries = []
    for index, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            problems.append(Problem(name, None, f"rule {index}", "expected a table"))
            continue
        rule, reasons = rule_from(entry, f"rule {index}", "your")
        problems.extend(Problem(name, None, f"rule {index}", r.split(": ", 1)[1]) for r in reasons)
        if rule is not None:
            rules.append(rule)
    for activity, kind in (activity_map or {}).items():
        rule, reasons = rule_from({"activity": activity, "kind": kind}, activity, "your")
        problems.extend(Problem("--map", None, activity, r.split(": ", 1)[1]) for r in reasons)
        if rule is not None:
            rules.append(rule)
    departments = content.get("departments", {})
    if not isinstance(departments, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in departments.items()
    ):
        problems.append(Problem(name, None, "departments", "expected team = department names"))
        departments = {}
    attribute = department_attribute or content.get("department_attribute")
    pattern_text = department_pattern or content.get("department_pattern")
    pattern = None
    if pattern_text is not None:
        try:
            pattern = re.compile(str(pattern_text))
        except re.error as exc:
            problems.append(Problem(name, None, "department_pattern", f"not a pattern: {exc}"))
    status = status_attribute or content.get("status_attribute")
    if problems:
        raise ImportRejected(problems)
    return LogMapping(
        rules=tuple(rules),
        departments={k.strip(): v.strip() for k, v in departments.items()},
        department_attribute=None if attribute is None else str(attribute),
        department_pattern=pattern,
        status_attribute=None if status is None else str(status),
    )
