"""Exporting requests and the event history as CSV, JSON Lines and XES (IEEE 1849-2016).

Exports stream: rows come from the database in batches (`yield_per`, a server-side cursor on
PostgreSQL) and are written as they arrive, so ten million events never sit in memory. Only the
small organisation tables (people, teams, services) are loaded whole, to turn ids into names.
The formats are described in docs/import-export.md.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any, Literal, TextIO
from xml.sax.saxutils import quoteattr

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from followthrough.history.models import Event
from followthrough.org.models import Person, Service, Team
from followthrough.requests.models import Request

RequestFormat = Literal["csv", "jsonl"]
EventFormat = Literal["csv", "jsonl", "xes"]
Advance = Callable[[int], None]

BATCH = 2000

REQUEST_COLUMNS = (
    "id",
    "title",
    "state",
    "waiting_on",
    "priority",
    "service",
    "team",
    "owner",
    "requester",
    "parent_id",
    "confidential",
    "impact_customers",
    "opened_at",
    "accepted_at",
    "resolved_at",
    "closed_at",
    "desired_by",
    "resolve_due_at",
    "bounce_count",
)

EVENT_COLUMNS = (
    "id",
    "request_id",
    "kind",
    "at",
    "actor",
    "team",
    "other_team",
    "person",
    "payload",
)

XES_NAMESPACE = "http://www.xes-standard.org/"
XES_EXTENSIONS = (
    ("Concept", "concept", "http://www.xes-standard.org/concept.xesext"),
    ("Time", "time", "http://www.xes-standard.org/time.xesext"),
    ("Organizational", "org", "http://www.xes-standard.org/org.xesext"),
    ("Lifecycle", "lifecycle", "http://www.xes-standard.org/lifecycle.xesext"),
)
# Attribute keys the exporter writes itself; payload keys with these names are left out.
XES_RESERVED = frozenset(
    {
        "concept:name",
        "time:timestamp",
        "org:resource",
        "org:group",
        "lifecycle:transition",
        "other_group",
        "person",
    }
)
# XML 1.0 cannot carry most control characters, even escaped.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def iso(value: datetime | None) -> str | None:
    """ISO 8601 with microseconds and a UTC offset, so nothing is lost on the way back in."""
    return None if value is None else value.isoformat(timespec="microseconds")


class _Names:
    """Ids of the small organisation tables turned into the names exports show."""

    def __init__(self, session: Session) -> None:
        self.people: dict[int, str] = dict(session.execute(select(Person.id, Person.handle)).all())
        self.teams: dict[int, str] = dict(session.execute(select(Team.id, Team.name)).all())
        self.services: dict[int, str] = dict(
            session.execute(select(Service.id, Service.name)).all()
        )

    def person(self, person_id: int | None) -> str | None:
        return None if person_id is None else self.people.get(person_id)

    def team(self, team_id: int | None) -> str | None:
        return None if team_id is None else self.teams.get(team_id)

    def service(self, service_id: int | None) -> str | None:
        return None if service_id is None else self.services.get(service_id)


def count_requests(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Request)) or 0


def count_events(session: Session, *, with_request_only: bool = False) -> int:
    query = select(func.count()).select_from(Event)
    if with_request_only:
        query = query.where(Event.request_id.is_not(None))
    return session.scalar(query) or 0


def request_records(session: Session) -> Iterator[dict[str, Any]]:
    """One record per request, in id order, streamed in batches."""
    names = _Names(session)
    r = Request
    query = (
        select(
            r.id,
            r.title,
            r.state,
            r.waiting_on,
            r.priority,
            r.service_id,
            r.team_id,
            r.owner_id,
            r.requester_id,
            r.parent_id,
            r.confidential,
            r.impact_customers,
            r.opened_at,
            r.accepted_at,
            r.resolved_at,
            r.closed_at,
            r.desired_by,
            r.resolve_due_at,
            r.bounce_count,
        )
        .order_by(r.id)
        .execution_options(yield_per=BATCH)
    )
    for row in session.execute(query):
        yield {
            "id": row.id,
            "title": row.title,
            "state": row.state,
            "waiting_on": row.waiting_on,
            "priority": row.priority,
            "service": names.service(row.service_id),
            "team": names.team(row.team_id),
            "owner": names.person(row.owner_id),
            "requester": names.person(row.requester_id),
            "parent_id": row.parent_id,
            "confidential": row.confidential,
            "impact_customers": row.impact_customers,
            "opened_at": iso(row.opened_at),
            "accepted_at": iso(row.accepted_at),
            "resolved_at": iso(row.resolved_at),
            "closed_at": iso(row.closed_at),
            "desired_by": iso(row.desired_by),
            "resolve_due_at": iso(row.resolve_due_at),
            "bounce_count": row.bounce_count,
        }


def event_records(session: Session) -> Iterator[dict[str, Any]]:
    """Every event in id order (the order they were written), streamed in batches."""
    names = _Names(session)
    e = Event
    query = (
        select(
            e.id,
            e.request_id,
            e.kind,
            e.at,
            e.actor_id,
            e.team_id,
            e.other_team_id,
            e.person_id,
            e.payload,
        )
        .order_by(e.id)
        .execution_options(yield_per=BATCH)
    )
    for row in session.execute(query):
        yield {
            "id": row.id,
            "request_id": row.request_id,
            "kind": row.kind,
            "at": iso(row.at),
            "actor": names.person(row.actor_id),
            "team": names.team(row.team_id),
            "other_team": names.team(row.other_team_id),
            "person": names.person(row.person_id),
            "payload": row.payload or {},
        }


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return value


def _write_records(
    records: Iterator[Mapping[str, Any]],
    columns: tuple[str, ...],
    out: TextIO,
    fmt: Literal["csv", "jsonl"],
    advance: Advance | None,
) -> int:
    count = 0
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for record in records:
            writer.writerow([_csv_cell(record[c]) for c in columns])
            count += 1
            if advance is not None:
                advance(1)
    else:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False, sort_keys=False))
            out.write("\n")
            count += 1
            if advance is not None:
                advance(1)
    return count


def export_requests(
    session: Session, out: TextIO, fmt: RequestFormat, advance: Advance | None = None
) -> int:
    """Write one row per request as CSV or JSON Lines; returns how many were written."""
    if fmt not in ("csv", "jsonl"):
        raise ValueError(f"requests export as csv or jsonl, not {fmt!r}")
    return _write_records(request_records(session), REQUEST_COLUMNS, out, fmt, advance)


def export_events(
    session: Session, out: TextIO, fmt: EventFormat, advance: Advance | None = None
) -> int:
    """Write the full event history as CSV, JSON Lines or XES; returns how many were written.

    XES holds one trace per request, so events without a request (feedback between colleagues)
    are only in the CSV and JSON Lines exports.
    """
    if fmt == "xes":
        return write_xes(session, out, advance)
    if fmt not in ("csv", "jsonl"):
        raise ValueError(f"events export as csv, jsonl or xes, not {fmt!r}")
    return _write_records(event_records(session), EVENT_COLUMNS, out, fmt, advance)


# --- XES --------------------------------------------------------------------------------------


def _xml_text(value: str) -> str:
    return _XML_ILLEGAL.sub("\ufffd", value)


def _attribute(key: str, value: Any) -> str:
    """One XES attribute element, typed by the Python value."""
    if isinstance(value, bool):
        tag, text = "boolean", "true" if value else "false"
    elif isinstance(value, int):
        tag, text = "int", str(value)
    elif isinstance(value, float):
        tag, text = "float", repr(value)
    elif isinstance(value, datetime):
        tag, text = "date", iso(value) or ""
    elif isinstance(value, str):
        tag, text = "string", value
    else:
        tag, text = "string", json.dumps(value, sort_keys=True, separators=(",", ":"))
    return f"<{tag} key={quoteattr(_xml_text(key))} value={quoteattr(_xml_text(text))}/>"


def _xes_header() -> str:
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<log xes.version="1849-2016" xes.features="" xmlns="{XES_NAMESPACE}">',
    ]
    for name, prefix, uri in XES_EXTENSIONS:
        lines.append(
            f"  <extension name={quoteattr(name)} prefix={quoteattr(prefix)} uri={quoteattr(uri)}/>"
        )
    lines += [
        '  <global scope="trace">',
        '    <string key="concept:name" value="__INVALID__"/>',
        "  </global>",
        '  <global scope="event">',
        '    <string key="concept:name" value="__INVALID__"/>',
        '    <date key="time:timestamp" value="1970-01-01T00:00:00.000000+00:00"/>',
        '    <string key="lifecycle:transition" value="complete"/>',
        "  </global>",
        '  <classifier name="Activity" keys="concept:name"/>',
        '  <string key="concept:name" value="Followthrough event history"/>',
    ]
    return "\n".join(lines) + "\n"


def write_xes(session: Session, out: TextIO, advance: Advance | None = None) -> int:
    """Write the history as an IEEE 1849 XES log: a trace per request, an event per history row.

    Every event is atomic, so its lifecycle:transition is "complete"; the product's own event
    kind is the activity (concept:name).
    """
    names = _Names(session)
    e, r = Event, Request
    query = (
        select(
            e.request_id,
            e.id,
            e.kind,
            e.at,
            e.actor_id,
            e.team_id,
            e.other_team_id,
            e.person_id,
            e.payload,
            r.title,
            r.state,
            r.service_id,
            r.requester_id,
        )
        .join(r, r.id == e.request_id)
        .order_by(e.request_id, e.id)
        .execution_options(yield_per=BATCH)
    )
    out.write(_xes_header())
    current: int | None = None
    count = 0
    for row in session.execute(query):
        if row.request_id != current:
            if current is not None:
                out.write("  </trace>\n")
            current = row.request_id
            out.write("  <trace>\n")
            out.write(f"    {_attribute('concept:name', str(row.request_id))}\n")
            out.write(f"    {_attribute('title', row.title)}\n")
            out.write(f"    {_attribute('state', row.state)}\n")
            service = names.service(row.service_id)
            if service is not None:
                out.write(f"    {_attribute('service', service)}\n")
            requester = names.person(row.requester_id)
            if requester is not None:
                out.write(f"    {_attribute('requester', requester)}\n")
        parts = [
            _attribute("concept:name", row.kind),
            _attribute("time:timestamp", row.at),
            _attribute("lifecycle:transition", "complete"),
        ]
        for key, value in (
            ("org:resource", names.person(row.actor_id)),
            ("org:group", names.team(row.team_id)),
            ("other_group", names.team(row.other_team_id)),
            ("person", names.person(row.person_id)),
        ):
            if value is not None:
                parts.append(_attribute(key, value))
        for key, value in sorted((row.payload or {}).items()):
            if key not in XES_RESERVED and value is not None:
                parts.append(_attribute(key, value))
        out.write("    <event>\n")
        out.write("".join(f"      {part}\n" for part in parts))
        out.write("    </event>\n")
        count += 1
        if advance is not None:
            advance(1)
    if current is not None:
        out.write("  </trace>\n")
    out.write("</log>\n")
    return count
