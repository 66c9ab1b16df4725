"""Importing another system's ticket history (XES or CSV) as requests and events."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from followthrough.db import Base, Database
from followthrough.history.export import export_events
from followthrough.history.importer import ImportRejected, handle_for, import_history, kind_of
from followthrough.history.models import Event
from followthrough.org.models import Department, Membership, Person, Team
from followthrough.requests.models import Offer, PathStep, Pause, Request
from tests.factories import World
from tests.history.conftest import History

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
XES = "{http://www.xes-standard.org/}"

TICKETS_CSV = """\
case_id,activity,timestamp,resource,group,title,channel
T-1,Create,2026-01-05T09:00:00Z,Mia Requester,Service Desk,Printer on fire,phone
T-1,Assign,2026-01-05T09:10:00Z,Sam Agent,Service Desk,,
T-1,Forward,2026-01-05T10:00:00Z,Sam Agent,Facilities,,
T-1,Accept,2026-01-05T10:30:00Z,Fay Fixer,Facilities,,
T-1,Call customer,2026-01-05T11:00:00Z,Fay Fixer,Facilities,,phone
T-1,Assign,2026-01-05T12:00:00Z,Sam Agent,Service Desk,,
T-1,Resolve,2026-01-05T13:00:00Z,Sam Agent,Service Desk,,
T-1,Close,2026-01-06T09:00:00Z,Mia Requester,Service Desk,,
T-2,Resolve,2026-01-07T12:00:00+01:00,Sam Agent,Service Desk,,
T-2,Create,2026-01-07T09:00:00,Mia Requester,Service Desk,Mouse missing,
T-2,Reopen,2026-01-08T09:00:00Z,Mia Requester,Service Desk,,
T-3,Create,2026-01-09T09:00:00Z,Mia Requester,Facilities,Door stuck,
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _import(db: Database, path: Path, **options: object) -> None:
    with db.unit_of_work() as session:
        import_history(session, path, NOW, **options)  # type: ignore[arg-type]


def _row_counts(db: Database) -> dict[str, int]:
    with db.unit_of_work() as session:
        return {
            t.name: session.scalar(select(func.count()).select_from(t)) or 0
            for t in Base.metadata.sorted_tables
        }


def _rejected(db: Database, path: Path, **options: object) -> list[str]:
    before = _row_counts(db)
    with pytest.raises(ImportRejected) as caught:
        _import(db, path, **options)
    assert _row_counts(db) == before
    return [str(p) for p in caught.value.problems]


def _request(db: Database, case_id: str) -> Request:
    with db.unit_of_work() as session:
        request_id = session.scalar(
            select(Event.request_id).where(
                Event.kind == "opened", Event.payload["case_id"].as_string() == case_id
            )
        )
        request = session.get(Request, request_id)
        assert request is not None
        session.expunge(request)
        return request


def _events(db: Database, request_id: int) -> list[Event]:
    with db.unit_of_work() as session:
        return list(
            session.scalars(select(Event).where(Event.request_id == request_id).order_by(Event.id))
        )


def _handles(db: Database) -> dict[int, str]:
    with db.unit_of_work() as session:
        return dict(session.execute(select(Person.id, Person.handle)).all())


def _teams(db: Database) -> dict[int, str]:
    with db.unit_of_work() as session:
        return dict(session.execute(select(Team.id, Team.name)).all())


def test_a_csv_ticket_log_becomes_requests_people_and_teams(db: Database, tmp_path: Path) -> None:
    _import(db, _write(tmp_path, "tickets.csv", TICKETS_CSV))
    handles, teams = _handles(db), _teams(db)
    assert set(handles.values()) == {"mia.requester", "sam.agent", "fay.fixer"}
    assert set(teams.values()) == {"Service Desk", "Facilities"}
    with db.unit_of_work() as session:
        departments = set(session.scalars(select(Department.name)))
        members = {
            (teams[t], handles[p])
            for t, p in session.execute(select(Membership.team_id, Membership.person_id))
        }
    assert departments == {"Imported"}
    assert members == {("Service Desk", "sam.agent"), ("Facilities", "fay.fixer")}

    t1 = _request(db, "T-1")
    assert t1.title == "Printer on fire"
    assert t1.state == "closed"
    assert handles[t1.owner_id] == "sam.agent"  # the last to accept it
    assert handles[t1.requester_id] == "mia.requester"
    assert teams[t1.team_id] == "Service Desk"
    assert t1.opened_at == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    assert t1.accepted_at == datetime(2026, 1, 5, 9, 10, tzinfo=UTC)
    assert t1.resolved_at == datetime(2026, 1, 5, 13, 0, tzinfo=UTC)
    assert t1.closed_at == datetime(2026, 1, 6, 9, 0, tzinfo=UTC)
    assert t1.bounce_count == 1
    events = _events(db, t1.id)
    # The intake offer and the handoff back to the Service Desk are made up (the log only
    # shows Sam working there again); the Forward is the log's own.
    assert [e.kind for e in events] == [
        "opened",
        "offered",
        "accepted",
        "offered",
        "accepted",
        "update_posted",
        "offered",
        "accepted",
        "resolved",
        "closed",
    ]
    assert [e.payload.get("synthetic", False) for e in events] == [
        False, True, False, False, False, False, True, False, False, False
    ]  # fmt: skip
    assert events[5].payload["activity"] == "Call customer"
    assert events[5].payload["channel"] == "phone"
    assert teams[events[3].team_id or 0] == "Service Desk"  # offered from ...
    assert teams[events[3].other_team_id or 0] == "Facilities"  # ... to
    assert events[4].payload["waited_seconds"] == 30 * 60  # forwarded 10:00, accepted 10:30
    assert events[7].payload["bounce"] is True
    assert all(e.payload["imported_from"] == "tickets.csv" for e in events)
    with db.unit_of_work() as session:
        path = [
            (teams[s.team_id], s.is_bounce)
            for s in session.scalars(
                select(PathStep).where(PathStep.request_id == t1.id).order_by(PathStep.id)
            )
        ]
    assert path == [("Service Desk", False), ("Facilities", False), ("Service Desk", True)]


def test_events_are_put_in_time_order_and_naive_times_read_as_utc(
    db: Database, tmp_path: Path
) -> None:
    _import(db, _write(tmp_path, "tickets.csv", TICKETS_CSV))
    t2 = _request(db, "T-2")
    events = _events(db, t2.id)
    # Resolving withdraws the intake offer nobody accepted, as on the desk.
    assert [e.kind for e in events] == ["opened", "offered", "withdrawn", "resolved", "reopened"]
    assert [e.at for e in events] == sorted(e.at for e in events)
    assert t2.opened_at == datetime(2026, 1, 7, 9, 0, tzinfo=UTC)
    assert events[3].at == datetime(2026, 1, 7, 11, 0, tzinfo=UTC)
    assert t2.state == "in_progress"  # reopened after the resolution
    assert t2.resolved_at is None
    assert t2.next_update_due_at is not None  # it owes updates from the import on
    assert t2.next_update_due_at > NOW


def test_a_case_nobody_accepted_waits_on_an_intake_offer(db: Database, tmp_path: Path) -> None:
    _import(db, _write(tmp_path, "tickets.csv", TICKETS_CSV))
    t3 = _request(db, "T-3")
    assert t3.state == "new"
    assert _handles(db)[t3.owner_id] == "fay.fixer"  # the lead of the team the import created
    with db.unit_of_work() as session:
        offer = session.scalar(select(Offer).where(Offer.request_id == t3.id))
    assert offer is not None
    assert (offer.kind, offer.state, offer.to_team_id) == ("intake", "open", t3.team_id)
    assert offer.due_at > NOW


def test_an_existing_team_and_person_are_used_not_duplicated(
    db: Database, world: World, tmp_path: Path
) -> None:
    log = "case_id,activity,timestamp,resource,group\nX,Create,2026-01-05T09:00:00Z,asha,Claims\n"
    _import(db, _write(tmp_path, "x.csv", log))
    request = _request(db, "X")
    assert request.team_id == world.teams["claims"]
    assert request.requester_id == world.people["asha"]
    assert request.owner_id == world.people["carl"]  # the Claims lead is its duty owner
    with db.unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(Person)) == len(world.people)


def test_the_same_file_is_not_imported_twice(db: Database, tmp_path: Path) -> None:
    path = _write(tmp_path, "tickets.csv", TICKETS_CSV)
    _import(db, path)
    assert _rejected(db, path) == ["tickets.csv: this file was already imported (3 requests)"]


def test_a_bad_timestamp_names_the_line_and_field_and_writes_nothing(
    db: Database, tmp_path: Path
) -> None:
    text = TICKETS_CSV.replace("2026-01-05T11:00:00Z", "yesterday")
    assert _rejected(db, _write(tmp_path, "tickets.csv", text)) == [
        "tickets.csv: line 6: timestamp: 'yesterday' is not an ISO 8601 time"
    ]


def test_missing_columns_and_cells_are_named(db: Database, tmp_path: Path) -> None:
    no_column = "case_id,activity,resource\nA,Create,x\n"
    assert _rejected(db, _write(tmp_path, "a.csv", no_column)) == [
        "a.csv: line 1: timestamp: required column is missing"
    ]
    no_cell = (
        "case_id,activity,timestamp\nA,Create,2026-01-05T09:00:00Z\n,Close,2026-01-05T10:00Z\n"
    )
    assert _rejected(db, _write(tmp_path, "b.csv", no_cell)) == [
        "b.csv: line 3: case_id: is required"
    ]


def test_unmapped_activities_can_be_mapped_or_refused(db: Database, tmp_path: Path) -> None:
    log = (
        "case_id,activity,timestamp,resource,group\n"
        "A,Create,2026-01-05T09:00:00Z,x,Desk\n"
        "A,Wibble,2026-01-05T10:00:00Z,x,Desk\n"
    )
    path = _write(tmp_path, "a.csv", log)
    assert _rejected(db, path, reject_unmapped=True) == [
        "a.csv: line 3: activity: unmapped 'Wibble'"
    ]
    _import(db, path, activity_map={"wibble": "resolved"})
    assert _request(db, "A").state == "resolved"


def test_product_history_survives_an_xes_round_trip(
    db: Database, history: History, tmp_path: Path
) -> None:
    exported = _xes(db)
    before = _traces(exported)
    original = {
        rid: _summary(db, rid) for rid in (history.bounced, history.waiting, history.untouched)
    }
    _empty(db)
    _import(db, _write(tmp_path, "desk.xes", exported))
    after = _traces(_xes(db))
    assert sorted(after.values()) == sorted(before.values())
    for rid, summary in original.items():
        assert _summary(db, _request(db, str(rid)).id) == summary


def test_broken_xes_names_the_line(db: Database, tmp_path: Path) -> None:
    text = '<log xes.version="1849-2016">\n<trace>\n<event>\n</trace>\n</log>\n'
    (problem,) = _rejected(db, _write(tmp_path, "bad.xes", text))
    assert problem.startswith("bad.xes: line 4: not valid XML: mismatched tag")


def test_xes_events_need_an_activity_and_a_time(db: Database, tmp_path: Path) -> None:
    text = """<?xml version="1.0"?>
<log xes.version="1849-2016" xmlns="http://www.xes-standard.org/">
  <trace>
    <string key="concept:name" value="A"/>
    <event><string key="concept:name" value="Create"/></event>
    <event>
      <string key="concept:name" value="Close"/>
      <date key="time:timestamp" value="not a date"/>
    </event>
  </trace>
  <trace><event/></trace>
</log>
"""
    assert _rejected(db, _write(tmp_path, "log.xes", text)) == [
        "log.xes: line 5: time:timestamp: the event has no date",
        "log.xes: line 8: time:timestamp: 'not a date' is not a valid date",
        "log.xes: line 6: time:timestamp: the event has no date",
        "log.xes: line 11: concept:name: the event has no activity",
        "log.xes: line 11: concept:name: the trace has no id",
    ]


@pytest.mark.parametrize(
    ("activity", "kind"),
    [
        ("Assign", "accepted"),
        ("Accept", "accepted"),
        ("Resolve", "resolved"),
        ("Close", "closed"),
        ("Reopen", "reopened"),
        ("Update", "update_posted"),
        ("Handoff", "offered"),
        ("Forward", "offered"),
        ("On Hold", "paused"),
        ("update_posted", "update_posted"),
        ("clarification asked", "clarification_asked"),
        ("Make coffee", None),
    ],
)
def test_common_activity_names_map_to_event_kinds(activity: str, kind: str | None) -> None:
    assert kind_of(activity) == kind


@pytest.mark.parametrize(
    ("resource", "handle"),
    [("Ann Lee", "ann.lee"), ("asha", "asha"), ("O'Brien, Pat", "o.brien.pat"), ("???", "person")],
)
def test_handles_are_derived_from_resource_names(resource: str, handle: str) -> None:
    assert handle_for(resource) == handle


def _xes(db: Database) -> str:
    out = io.StringIO()
    with db.unit_of_work() as session:
        export_events(session, out, "xes")
    return out.getvalue()


def _traces(xes: str) -> dict[str, tuple[str, tuple[tuple[str, str, str], ...]]]:
    """Each trace's title and its (activity, time, resource) sequence, keyed by trace name."""
    traces = {}
    for trace in ET.fromstring(xes).iter(f"{XES}trace"):
        attributes = {a.get("key"): a.get("value") for a in trace}
        events = tuple(
            tuple(
                str({a.get("key"): a.get("value") for a in event}.get(key))
                for key in ("concept:name", "time:timestamp", "org:resource")
            )
            for event in trace.iter(f"{XES}event")
        )
        traces[str(attributes["concept:name"])] = (str(attributes["title"]), events)  # type: ignore[assignment]
    return traces  # type: ignore[return-value]


def _summary(db: Database, request_id: int) -> tuple[object, ...]:
    handles, teams = _handles(db), _teams(db)
    with db.unit_of_work() as session:
        request = session.get(Request, request_id)
        assert request is not None
        path = tuple(
            (teams[s.team_id], s.entered_at, s.is_bounce)
            for s in session.scalars(
                select(PathStep).where(PathStep.request_id == request_id).order_by(PathStep.id)
            )
        )
        pauses = session.scalar(
            select(func.count()).select_from(Pause).where(Pause.request_id == request_id)
        )
        return (
            request.title,
            request.state,
            request.waiting_on,
            handles[request.owner_id],
            handles[request.requester_id],
            teams[request.team_id],
            request.opened_at,
            request.accepted_at,
            request.resolved_at,
            request.closed_at,
            request.bounce_count,
            path,
            pauses,
        )


def _empty(db: Database) -> None:
    with db.unit_of_work() as session:
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(delete(table))
