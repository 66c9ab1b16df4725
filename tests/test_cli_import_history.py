"""`followthrough import history` on a help desk's own log: the dry run, a mapping file, errors
that name the file and line with exit 2, and `insight eta-eval --log` on the same file."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from followthrough import cli
from followthrough.cli import app
from followthrough.db import Base, Database
from followthrough.org.models import Department, Team
from followthrough.requests.models import Request

# An incident log as a large IT department exports it: the status in lifecycle:transition, "-"
# where nobody is recorded, rows not grouped by case.
LOG = """\
case_id,activity,lifecycle:transition,timestamp,resource,group
I-1,Queued,Awaiting Assignment,2026-01-05T09:00:00Z,-,N1 Network
I-2,Accepted,In Progress,2026-01-05T09:30:00Z,Åse Berg,S1 Service Desk
I-1,Accepted,In Progress,2026-01-05T10:00:00Z,André Lund,N1 Network
I-1,Accepted,Wait - User,2026-01-05T11:00:00Z,André Lund,N1 Network
I-2,Completed,Resolved,2026-01-05T11:30:00Z,Åse Berg,S1 Service Desk
I-1,Accepted,In Progress,2026-01-05T14:00:00Z,André Lund,N1 Network
I-1,Completed,Resolved,2026-01-05T15:00:00Z,André Lund,N1 Network
I-1,Completed,Closed,2026-01-06T15:00:00Z,-,N1 Network
I-2,Completed,Closed,2026-01-06T15:00:00Z,-,S1 Service Desk
"""


@pytest.fixture(autouse=True)
def _wide_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    """Wide enough that the dry run's table rows are not wrapped. The console takes its width
    when the CLI is imported (COLUMNS set later is not read), so the width is set on it."""
    monkeypatch.setattr(cli.console, "width", 200)


def _run(db: Database, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [*args, "--database-url", db.url])
    return result.exit_code, result.stdout, result.stderr


def _counts(db: Database) -> dict[str, int]:
    with db.unit_of_work() as session:
        return {
            t.name: session.scalar(select(func.count()).select_from(t)) or 0
            for t in Base.metadata.sorted_tables
        }


def test_a_dry_run_shows_each_combination_with_counts_and_writes_nothing(
    db: Database, tmp_path: Path
) -> None:
    log = tmp_path / "incidents.csv"
    log.write_text(LOG, encoding="utf-8")
    before = _counts(db)
    code, out, err = _run(db, "import", "history", str(log), "--dry-run")
    assert code == 0, err
    lines = [" ".join(line.replace("│", " ").split()) for line in out.splitlines()]
    assert "Completed Closed 2 closed built-in: status closed" in lines
    assert (
        "Accepted Wait - User 1 paused (waiting on requester) built-in: status wait user" in lines
    )
    assert "Accepted In Progress 3 accepted built-in: status in progress" in lines
    assert any("9 rows in 2 cases" in line for line in lines)
    assert _counts(db) == before


def test_the_import_with_a_mapping_file_groups_teams_into_departments(
    db: Database, tmp_path: Path
) -> None:
    log = tmp_path / "incidents.csv"
    log.write_text(LOG, encoding="utf-8")
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(
        "departments:\n  N1 Network: Infrastructure\n  S1 Service Desk: Front office\n"
    )
    code, _, err = _run(db, "import", "history", str(log), "--mapping", str(mapping))
    assert code == 0, err
    assert "imported 2 requests" in err
    assert "from 9 log rows" in err
    assert "3 rows named no real resource: recorded as 'unknown'" in err
    with db.unit_of_work() as session:
        departments = dict(
            session.execute(
                select(Team.name, Department.name).join(
                    Department, Team.department_id == Department.id
                )
            ).all()
        )
        paused = session.scalar(
            select(Request.paused_business_seconds).where(Request.source_case_id == "I-1")
        )
    assert departments == {"N1 Network": "Infrastructure", "S1 Service Desk": "Front office"}
    assert paused == 3 * 3600  # 11:00 to 14:00 waiting on the user


def test_a_bad_mapping_file_or_row_names_the_file_and_exits_2(db: Database, tmp_path: Path) -> None:
    log = tmp_path / "incidents.csv"
    log.write_text(LOG.replace("2026-01-05T14:00:00Z", "soon"), encoding="utf-8")
    code, _, err = _run(db, "import", "history", str(log))
    assert (code, err.strip()) == (
        2,
        "error: incidents.csv: line 7: timestamp: 'soon' is not an ISO 8601 time",
    )
    mapping = tmp_path / "mapping.toml"
    mapping.write_text('[[rule]]\nactivity = "Queued"\nkind = "queued"\n')
    code, _, err = _run(db, "import", "history", str(log), "--mapping", str(mapping))
    assert (code, err.strip()) == (
        2,
        "error: mapping.toml: rule 1: kind must be an event kind or 'ignore', not 'queued'",
    )
    assert _counts(db)["request"] == 0


def test_eta_eval_reads_a_log_with_placeholder_resources_without_a_traceback(
    tmp_path: Path,
) -> None:
    log = tmp_path / "incidents.csv"
    log.write_text(LOG, encoding="utf-8")
    result = CliRunner().invoke(app, ["insight", "eta-eval", "--log", str(log)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert result.exit_code in (0, 2)
    bad = tmp_path / "bad.csv"
    bad.write_text(LOG.replace("2026-01-05T14:00:00Z", "soon"), encoding="utf-8")
    result = CliRunner().invoke(app, ["insight", "eta-eval", "--log", str(bad)])
    assert result.exit_code == 2
    assert "bad.csv: line 7: timestamp" in result.stderr
