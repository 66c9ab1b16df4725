"""The history import with its replay in worker processes (`import_history_file`) writes exactly
what the import in one transaction (`import_history`) writes, and re-plans when the
organisation changes while it replays."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from bench.import_bench import write_log
from sqlalchemy import text
from sqlalchemy.orm import Session

from followthrough.db import Database
from followthrough.history import bulk_rows, importer, log_reader
from followthrough.history.importer import (
    HistoryImportSummary,
    ImportRejected,
    import_history,
    import_history_file,
)
from followthrough.history.log_mapping import load_mapping
from followthrough.org.models import Person
from tests.factories import World

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
MAPPING = load_mapping(None, department_pattern=r"^(D\d+)")

# Every imported row, named by what it means rather than by its surrogate ids (the two ways
# of importing take ids from the sequences at different times).
DUMPS = {
    "request": """
        SELECT r.source_case_id, r.title, r.need, r.priority, q.handle, o.handle, t.name,
               r.state, r.waiting_on, r.opened_at, r.accepted_at, r.resolved_at, r.closed_at,
               r.updated_at, r.resolution, r.next_update_due_at, r.update_escalate_at,
               r.resolve_due_at, r.clock_paused_at, r.paused_business_seconds,
               r.auto_close_at, r.bounce_count, r.confidential
        FROM request r JOIN person q ON q.id = r.requester_id
        JOIN person o ON o.id = r.owner_id JOIN team t ON t.id = r.team_id
        ORDER BY r.source_case_id""",
    "event": """
        SELECT r.source_case_id, e.kind, e.at, a.handle, t.name, ot.name, p.handle,
               e.payload
        FROM event e JOIN request r ON r.id = e.request_id
        LEFT JOIN person a ON a.id = e.actor_id LEFT JOIN team t ON t.id = e.team_id
        LEFT JOIN team ot ON ot.id = e.other_team_id LEFT JOIN person p ON p.id = e.person_id
        ORDER BY r.source_case_id, e.id""",
    "offer": """
        SELECT r.source_case_id, f.kind, fp.handle, ft.name, tt.name, f.state, f.offered_at,
               f.due_at, f.answered_at, ab.handle, f.decline_reason
        FROM offer f JOIN request r ON r.id = f.request_id
        JOIN person fp ON fp.id = f.from_person_id LEFT JOIN team ft ON ft.id = f.from_team_id
        JOIN team tt ON tt.id = f.to_team_id LEFT JOIN person ab ON ab.id = f.answered_by_id
        ORDER BY r.source_case_id, f.id""",
    "path_step": """
        SELECT r.source_case_id, t.name, s.entered_at, s.is_bounce
        FROM path_step s JOIN request r ON r.id = s.request_id JOIN team t ON t.id = s.team_id
        ORDER BY r.source_case_id, s.id""",
    "pause": """
        SELECT r.source_case_id, s.reason, s.started_at, p.handle, s.ended_at
        FROM pause s JOIN request r ON r.id = s.request_id
        JOIN person p ON p.id = s.started_by_id ORDER BY r.source_case_id, s.id""",
    "participant": """
        SELECT r.source_case_id, p.handle FROM request_participant s
        JOIN request r ON r.id = s.request_id JOIN person p ON p.id = s.person_id
        ORDER BY r.source_case_id, p.handle""",
    "membership": """
        SELECT t.name, p.handle, l.handle, d.name FROM membership m
        JOIN team t ON t.id = m.team_id JOIN person p ON p.id = m.person_id
        LEFT JOIN person l ON l.id = t.lead_id JOIN department d ON d.id = t.department_id
        ORDER BY t.name, p.handle""",
}


def _dump(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    dump: dict[str, list[tuple[Any, ...]]] = {}
    for table, query in DUMPS.items():
        rows = session.execute(text(query)).all()
        if table == "event":  # the offer's id is a surrogate too: its presence is what counts
            rows = [(*r[:-1], _without_offer_id(r[-1])) for r in rows]
        dump[table] = [tuple(r) for r in rows]
    dump["search"] = _search_documents(session)
    return dump


def _search_documents(session: Session) -> list[tuple[Any, ...]]:
    """Each imported request's search document, its scope's team and person ids named."""
    handles = {r[0]: r[1] for r in session.execute(text("SELECT id, handle FROM person"))}
    teams = {r[0]: r[1] for r in session.execute(text("SELECT id, name FROM team"))}

    def named(token: str) -> str:
        if token[:1] == "t" and token[1:].isdigit():
            return "team " + teams[int(token[1:])]
        if token[:1] == "p" and token[1:].isdigit():
            return "person " + handles[int(token[1:])]
        return token

    rows = session.execute(
        text(
            "SELECT r.source_case_id, s.title, s.body, s.cases, s.scope FROM request_search s "
            "JOIN request r ON r.id = s.request_id ORDER BY r.source_case_id"
        )
    ).all()
    return [(*r[:-1], sorted(named(t) for t in r[-1].split())) for r in rows]


def _without_offer_id(payload: Any) -> Any:
    values = json.loads(payload) if isinstance(payload, str) else dict(payload)
    if "offer_id" in values:
        values["offer_id"] = "an offer"
    return sorted(values.items(), key=lambda item: item[0])


def _in_one_transaction(db: Database, log: Path) -> tuple[HistoryImportSummary, dict[str, Any]]:
    """Import in one transaction, read everything back, and roll it all back."""
    session = db.sessions()
    try:
        summary = import_history(session, log, NOW, mapping=MAPPING)
        return summary, _dump(session)
    finally:
        session.rollback()
        session.close()


def test_workers_write_what_one_transaction_writes(
    db: Database, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "incidents.csv"
    write_log(log, 2000)  # hundreds of interleaved cases, waits, handoffs, placeholders
    # The one transaction loads the plain way, every trigger firing (the foreign keys' and
    # the search documents'); the workers' load with the search triggers suspended and the
    # documents made once at the end, and (on PostgreSQL) the foreign-key triggers off where
    # it may, with its own reference checks.
    monkeypatch.setattr(bulk_rows, "PRIVILEGED_BULK_LOAD", False)
    with monkeypatch.context() as plain:
        plain.setattr(importer, "suspend_triggers", lambda connection: None)
        expected_summary, expected = _in_one_transaction(db, log)
    monkeypatch.setattr(bulk_rows, "PRIVILEGED_BULK_LOAD", True)
    assert len(expected["search"]) == expected_summary.requests
    assert expected_summary.requests > 300
    assert expected_summary.handoffs > 0
    assert expected_summary.pauses > 0

    # The workers' way also reads the log in two parts at once (for files of any size here).
    monkeypatch.setattr(log_reader, "SPLIT_FROM_BYTES", 0)
    merged: list[int] = []
    merge = log_reader.Spill.merge

    def recorded(spill: log_reader.Spill, half: log_reader.CsvHalf, lines: int) -> None:
        merged.append(lines)
        merge(spill, half, lines)

    monkeypatch.setattr(log_reader.Spill, "merge", recorded)
    summary = import_history_file(db, log, NOW, mapping=MAPPING, workers=2)

    assert merged, "the log was not read in two parts"
    assert summary == expected_summary
    with db.unit_of_work(readonly=True) as session:
        assert _dump(session) == expected
    # The search triggers are back after the import: a request changed later keeps its document.
    with db.unit_of_work() as session:
        session.execute(
            text("UPDATE request SET title = 'Renamed after the import' WHERE source_case_id = :c"),
            {"c": expected["request"][0][0]},
        )
    with db.unit_of_work(readonly=True) as session:
        titles = {r[0]: r[1] for r in _search_documents(session)}
        assert titles[expected["request"][0][0]] == "Renamed after the import"


def test_the_replay_is_planned_again_when_the_organisation_changes_meanwhile(
    db: Database, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "incidents.csv"
    write_log(log, 600)
    expected_summary, expected = _in_one_transaction(db, log)
    plans: list[int] = []
    real_plan: Callable[..., importer.DirectoryPlan] = importer._plan_directory

    def plan_then_change(*args: Any) -> importer.DirectoryPlan:
        plan = real_plan(*args)
        plans.append(plan.revision)
        if len(plans) == 1:  # someone adds a person while the first replay runs
            with db.unit_of_work() as other:
                other.add(Person(handle="newcomer", name="New Comer", email="new@example.com"))
        return plan

    monkeypatch.setattr(importer, "_plan_directory", plan_then_change)

    summary = import_history_file(db, log, NOW, mapping=MAPPING, workers=1)

    assert len(plans) == 2
    assert plans[1] > plans[0]
    assert summary == expected_summary
    with db.unit_of_work(readonly=True) as session:
        assert _dump(session) == expected


def test_a_bad_row_is_named_before_any_worker_starts_and_nothing_is_written(
    db: Database, world: World, tmp_path: Path
) -> None:
    log = tmp_path / "bad.csv"
    log.write_text(
        "case_id,activity,timestamp,resource,group\n"
        "A-1,Create,2026-01-05T09:00:00Z,Ann Lee,Desk\n"
        "B-2,Create,2026-01-05T09:00:00Z,Ann Lee,Desk\n"
        "B-2,Resolve,9999-12-31T23:59:59Z,Ann Lee,Desk\n",
        encoding="utf-8",
    )
    with db.unit_of_work(readonly=True) as session:
        before = _dump(session)

    with pytest.raises(ImportRejected) as rejected:
        import_history_file(db, log, NOW, workers=2)

    problem = rejected.value.problems[0]
    assert (problem.file, problem.line, problem.field) == ("bad.csv", 4, "timestamp")
    with db.unit_of_work(readonly=True) as session:
        assert _dump(session) == before
