"""`followthrough insight eta-eval` and `eta-fit`: plain errors with exit 2, never a traceback."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import Result
from typer.testing import CliRunner

from followthrough.cli import app
from followthrough.db import Database

runner = CliRunner()


def _run(*args: str) -> tuple[Result, str]:
    result = runner.invoke(app, ["insight", *args])
    # Rich wraps long lines at the terminal's width; compare the words.
    return result, " ".join(result.output.split())


def _no_traceback(result: Result) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )


def test_a_log_with_a_bad_line_is_an_error_naming_the_file_and_line(tmp_path: Path) -> None:
    log = tmp_path / "incidents.csv"
    log.write_text(
        "case_id,activity,timestamp,resource\n"
        "IN-1,Open,2025-01-06T09:00:00+00:00,Ann\n"
        "IN-1,Resolve,yesterday-ish,Ann\n"
    )
    result, output = _run("eta-eval", "--log", str(log))
    _no_traceback(result)
    assert result.exit_code == 2
    assert "incidents.csv: line 3" in output
    assert "timestamp" in output


def test_a_log_too_short_to_evaluate_says_so(tmp_path: Path) -> None:
    log = tmp_path / "short.csv"
    start = datetime(2025, 1, 6, 9, tzinfo=UTC)
    lines = ["case_id,activity,timestamp,resource"]
    for i in range(12):
        opened = start + timedelta(hours=3 * i)
        lines.append(f"C-{i},Open,{opened.isoformat()},Ann")
        lines.append(f"C-{i},Resolve,{(opened + timedelta(hours=2)).isoformat()},Ann")
    log.write_text("\n".join(lines) + "\n")
    result, output = _run("eta-eval", "--log", str(log))
    _no_traceback(result)
    assert result.exit_code == 2
    assert "too little history" in output


def test_eta_fit_on_a_thin_history_warns_plainly(db: Database) -> None:
    result, output = _run("eta-fit", "--database-url", db.url)
    _no_traceback(result)
    assert result.exit_code == 0
    assert "no calibrated model" in output
    assert "history curves" in output


def test_a_real_looking_log_with_placeholder_resources_is_evaluated_with_its_rule(
    tmp_path: Path,
) -> None:
    """Resources recorded as "-" and cases handed between groups, as in public incident logs:
    the evaluation runs, prints both methods on the same requests and the counting rule."""
    rng = random.Random(3)
    log = tmp_path / "incidents.csv"
    start = datetime(2025, 1, 6, 8, tzinfo=UTC)
    rows = ["case_id,activity,timestamp,resource,group"]
    for i in range(360):
        opened = start + timedelta(hours=2 * i)
        group = "Desk" if i % 3 else "Network"
        who = "-" if i % 4 == 0 else f"agent{i % 9}"
        rows.append(f"IN-{i},Open,{opened.isoformat()},{who},{group}")
        if i % 5 == 0:
            rows.append(f"IN-{i},Reassign,{(opened + timedelta(hours=1)).isoformat()},-,Network")
        took = timedelta(hours=rng.lognormvariate(2.0, 0.7))
        if opened + took < start + timedelta(hours=2 * 340):
            rows.append(f"IN-{i},Resolve,{(opened + took).isoformat()},{who},{group}")
    log.write_text("\n".join(rows) + "\n")
    result, output = _run("eta-eval", "--log", str(log))
    _no_traceback(result)
    assert result.exit_code == 0, output
    assert "calibrated model" in output
    assert "history (Kaplan-Meier per service)" in output
    assert "Counted: every request opened from" in output
    assert "nan" not in output
