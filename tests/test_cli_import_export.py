"""`followthrough import` and `followthrough export` from the command line."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from followthrough.cli import app
from followthrough.db import Base, Database
from followthrough.history.models import Event
from tests.factories import World
from tests.history.conftest import make_history

ORG = """\
teams:
  - {name: Desk, department: Operations, lead: sam}
people:
  - {handle: sam, name: Sam Agent, email: sam@example.com, teams: [Desk]}
"""

LOG = """\
case_id,activity,timestamp,resource,group
A,Create,2026-01-05T09:00:00Z,mia,Desk
A,Assign,2026-01-05T09:10:00Z,sam,Desk
A,Resolve,2026-01-05T10:00:00Z,sam,Desk
"""


def _run(db: Database, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [*args, "--database-url", db.url])
    return result.exit_code, result.stdout, result.stderr


def _counts(db: Database) -> dict[str, int]:
    with db.unit_of_work() as session:
        return {
            t.name: session.scalar(select(func.count()).select_from(t)) or 0
            for t in Base.metadata.sorted_tables
        }


def test_import_org_then_history_then_export_requests(db: Database, tmp_path: Path) -> None:
    org = tmp_path / "org.yaml"
    org.write_text(ORG)
    log = tmp_path / "log.csv"
    log.write_text(LOG)
    code, _, err = _run(db, "import", "org", str(org))
    assert code == 0, err
    assert "created 1 people, 1 departments, 1 teams" in err
    with db.unit_of_work(readonly=True) as session:  # audited like an admin's edits
        (audit,) = session.execute(
            select(Event.actor_id, Event.payload).where(Event.kind == "organisation_imported")
        ).all()
    actor, payload = audit
    assert actor is None
    assert payload["files"] == "org.yaml"
    assert "1 people" in payload["created"]
    assert payload["updated"] == "nothing"
    code, _, err = _run(db, "import", "history", str(log), "--format", "csv")
    assert code == 0, err
    # opened, the intake offer (made up: the log has none), accepted, resolved
    assert "imported 1 requests and 4 events from 3 log rows" in err
    code, out, _ = _run(db, "export", "requests", "--format", "jsonl")
    assert code == 0
    (record,) = [json.loads(line) for line in out.splitlines()]
    assert (record["state"], record["owner"], record["team"]) == ("resolved", "sam", "Desk")


def test_export_events_as_xes_to_a_file(db: Database, world: World, tmp_path: Path) -> None:
    make_history(db, world)
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "desk.xes"
    code, out, err = _run(db, "export", "events", "--format", "xes", "--output", str(target))
    assert code == 0, err
    assert out == ""
    root = ET.parse(target).getroot()
    assert root.get("xes.version") == "1849-2016"
    assert len(root.findall("{http://www.xes-standard.org/}trace")) == 3
    assert [p.name for p in folder.iterdir()] == ["desk.xes"]  # no partial file left behind


def test_export_events_as_csv_to_standard_output(db: Database, world: World) -> None:
    make_history(db, world)
    code, out, _ = _run(db, "export", "events")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("id,request_id,kind,at,")
    assert len(lines) == 1 + _counts(db)["event"]


def test_bad_org_file_prints_file_line_field_and_exits_2(db: Database, tmp_path: Path) -> None:
    org = tmp_path / "org.yaml"
    org.write_text(ORG.replace("lead: sam", "lead: bob"))
    before = _counts(db)
    code, out, err = _run(db, "import", "org", str(org))
    assert code == 2
    assert out == ""
    assert err.strip() == "error: org.yaml: line 2: teams[0].lead: no person with handle 'bob'"
    assert _counts(db) == before


def test_bad_history_file_prints_every_problem_and_changes_nothing(
    db: Database, tmp_path: Path
) -> None:
    log = tmp_path / "log.csv"
    log.write_text(
        LOG.replace("2026-01-05T09:10:00Z", "soon").replace(",Desk\nA,Resolve", ",Desk\n,Resolve")
    )
    before = _counts(db)
    code, _, err = _run(db, "import", "history", str(log))
    assert code == 2
    assert err.splitlines() == [
        "error: log.csv: line 3: timestamp: 'soon' is not an ISO 8601 time",
        "error: log.csv: line 4: case_id: is required",
    ]
    assert _counts(db) == before


def test_unknown_formats_and_mappings_are_refused(db: Database, tmp_path: Path) -> None:
    log = tmp_path / "log.csv"
    log.write_text(LOG)
    assert _run(db, "export", "requests", "--format", "xes")[0] == 2
    code, _, err = _run(db, "export", "events", "--format", "xml")
    assert (code, err.strip()) == (2, "error: --format: 'xml' is not one of csv, jsonl, xes")
    code, _, err = _run(db, "import", "history", str(log), "--map", "Create")
    assert (code, err.strip()) == (2, "error: --map: 'Create' is not ACTIVITY=KIND")
    code, _, err = _run(db, "import", "history", str(log), "--map", "Create=born")
    assert (code, err.strip()) == (
        2,
        "error: --map: Create: kind must be an event kind or 'ignore', not 'born'",
    )
    code, _, err = _run(db, "import", "history", str(tmp_path / "missing.csv"))
    assert (code, err.strip()) == (2, "error: missing.csv: No such file or directory")
    assert _counts(db)["request"] == 0
