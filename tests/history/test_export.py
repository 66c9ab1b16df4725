"""Exporting requests and the event history: CSV, JSON Lines and IEEE 1849 XES."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from datetime import datetime

import pytest
from sqlalchemy import func, select

from followthrough.db import Database
from followthrough.history.export import (
    EVENT_COLUMNS,
    REQUEST_COLUMNS,
    export_events,
    export_requests,
)
from followthrough.history.models import Event
from tests.history.conftest import History

XES = "{http://www.xes-standard.org/}"


def _export(db: Database, what: str, fmt: str) -> str:
    out = io.StringIO()
    with db.unit_of_work(readonly=True) as session:
        if what == "requests":
            export_requests(session, out, fmt)  # type: ignore[arg-type]
        else:
            export_events(session, out, fmt)  # type: ignore[arg-type]
    return out.getvalue()


def test_requests_csv_has_one_row_per_request_with_names_and_times(
    db: Database, history: History
) -> None:
    rows = list(csv.DictReader(io.StringIO(_export(db, "requests", "csv"))))
    assert tuple(rows[0]) == REQUEST_COLUMNS
    by_id = {int(r["id"]): r for r in rows}
    assert set(by_id) == {history.bounced, history.waiting, history.untouched}
    bounced = by_id[history.bounced]
    assert bounced["state"] == "closed"
    assert bounced["team"] == "Policy Admin"
    assert bounced["owner"] == "cleo"
    assert bounced["requester"] == "asha"
    assert bounced["service"] == "Correct a policy document"
    assert bounced["bounce_count"] == "1"
    assert bounced["opened_at"] == "2026-03-02T09:00:00.000000+00:00"
    assert bounced["closed_at"] == "2026-03-02T12:30:00.000000+00:00"
    assert by_id[history.waiting]["waiting_on"] == "outside"
    assert by_id[history.untouched]["owner"] == "dan"
    assert by_id[history.untouched]["accepted_at"] == ""


def test_requests_json_lines_are_one_object_per_request(db: Database, history: History) -> None:
    records = [json.loads(line) for line in _export(db, "requests", "jsonl").splitlines()]
    assert [r["id"] for r in records] == sorted(
        [history.bounced, history.waiting, history.untouched]
    )
    assert records[0]["confidential"] is False
    assert records[0]["bounce_count"] == 1
    assert records[2]["accepted_at"] is None


def test_events_csv_and_json_lines_hold_every_event_in_order(
    db: Database, history: History
) -> None:
    with db.unit_of_work(readonly=True) as session:
        total = session.scalar(select(func.count()).select_from(Event))
    rows = list(csv.DictReader(io.StringIO(_export(db, "events", "csv"))))
    records = [json.loads(line) for line in _export(db, "events", "jsonl").splitlines()]
    assert tuple(rows[0]) == EVENT_COLUMNS
    assert len(rows) == len(records) == total
    assert [int(r["id"]) for r in rows] == [r["id"] for r in records]
    handoff = next(r for r in records if r["kind"] == "offered" and r["other_team"] == "Claims")
    assert handoff["actor"] == "cleo"
    assert handoff["team"] == "Policy Admin"
    assert handoff["payload"]["note"] == "claims must check"
    assert json.loads(rows[records.index(handoff)]["payload"]) == handoff["payload"]


def test_xes_is_an_ieee_1849_log_with_a_trace_per_request(db: Database, history: History) -> None:
    root = ET.fromstring(_export(db, "events", "xes"))
    assert root.tag == f"{XES}log"
    assert root.get("xes.version") == "1849-2016"
    prefixes = {e.get("prefix"): e.get("uri") for e in root.findall(f"{XES}extension")}
    assert set(prefixes) == {"concept", "time", "org", "lifecycle"}
    assert all(uri and uri.endswith(".xesext") for uri in prefixes.values())
    traces = root.findall(f"{XES}trace")
    names = [_attributes(t)["concept:name"] for t in traces]
    assert names == [str(i) for i in sorted([history.bounced, history.waiting, history.untouched])]
    bounced = traces[names.index(str(history.bounced))]
    assert _attributes(bounced)["title"] == "Policy P-1 has the wrong address"
    events = [_attributes(e) for e in bounced.findall(f"{XES}event")]
    assert [e["concept:name"] for e in events] == [
        "opened",
        "offered",
        "accepted",
        "offered",
        "accepted",
        "offered",
        "accepted",
        "resolved",
        "closed",
    ]
    stamps = [datetime.fromisoformat(e["time:timestamp"]) for e in events]
    assert stamps == sorted(stamps)
    assert all(s.utcoffset() is not None for s in stamps)
    assert events[4]["org:resource"] == "carl"
    assert events[4]["org:group"] == "Claims"
    assert events[3]["other_group"] == "Claims"
    assert all(e["lifecycle:transition"] == "complete" for e in events)
    assert events[7]["resolution"] == "Address corrected"


def test_xes_attributes_are_typed_and_text_is_escaped(db: Database, history: History) -> None:
    root = ET.fromstring(_export(db, "events", "xes"))
    event_elements = root.iter(f"{XES}event")
    tags = {(child.tag.removeprefix(XES), child.get("key")) for e in event_elements for child in e}
    assert ("date", "time:timestamp") in tags
    assert ("boolean", "intake") in tags
    assert ("int", "offer_id") in tags
    assert ("float", "waited_seconds") in tags
    notes = [a.get("value") for a in root.iter(f"{XES}string") if a.get("key") == "note"]
    assert "the broker" in notes


def test_an_empty_database_exports_an_empty_but_valid_log(db: Database) -> None:
    root = ET.fromstring(_export(db, "events", "xes"))
    assert root.findall(f"{XES}trace") == []
    assert _export(db, "requests", "jsonl") == ""
    assert _export(db, "events", "csv").strip() == ",".join(EVENT_COLUMNS)


def test_progress_is_reported_per_exported_row(db: Database, history: History) -> None:
    ticks: list[int] = []
    with db.unit_of_work(readonly=True) as session:
        written = export_events(session, io.StringIO(), "xes", ticks.append)
    assert written == len(ticks) > 0


def test_an_unknown_format_is_refused(db: Database) -> None:
    with db.unit_of_work(readonly=True) as session, pytest.raises(ValueError, match="xml"):
        export_events(session, io.StringIO(), "xml")  # type: ignore[arg-type]


def _attributes(element: ET.Element) -> dict[str, str]:
    return {
        str(child.get("key")): str(child.get("value"))
        for child in element
        if child.tag.removeprefix(XES) in ("string", "date", "int", "float", "boolean")
    }
