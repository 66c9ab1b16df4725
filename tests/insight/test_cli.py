"""`followthrough insight ...` over the hand-made story."""

from __future__ import annotations

import csv
from pathlib import Path

from typer.testing import CliRunner

from followthrough.cli import app
from followthrough.db import Database
from tests.factories import World
from tests.insight.conftest import Story

runner = CliRunner()
PERIOD = ["--start", "2026-03-01T00:00:00+00:00", "--end", "2026-03-08T00:00:00+00:00"]
NOW = ["--now", "2026-03-08T00:00:00+00:00"]


def run(db: Database, *args: str) -> str:
    result = runner.invoke(app, ["insight", *args, "--database-url", db.url])
    assert result.exit_code == 0, result.output
    return result.output


def test_reports_print_on_the_command_line(
    db: Database, world: World, story: Story, tmp_path: Path
) -> None:
    card = run(db, "scorecard", "--as", "cleo", "--level", "person", "--subject", "cleo", *PERIOD)
    assert "Cleo Clerk" in card
    assert "what: requests handled" in card
    ripple = run(db, "ripple", "--team", "Policy Admin", "--threshold-hours", "4", *PERIOD)
    assert "touched 1 customers; 1 waited more than 4 h" in ripple
    edges = tmp_path / "edges.csv"
    run(db, "silo", "--csv", str(edges), *PERIOD)
    assert len(list(csv.DictReader(edges.read_text().splitlines()))) == 3
    assert "Claims" in run(db, "health", *NOW)
    assert "Claims → Policy Admin" in run(
        db, "review", "--as", "carl", "Claims", "Policy Admin", *PERIOD
    )


def test_a_person_scorecard_refuses_someone_else(db: Database, world: World, story: Story) -> None:
    result = runner.invoke(
        app,
        [
            "insight",
            "scorecard",
            "--as",
            "asha",
            "--level",
            "person",
            "--subject",
            "cleo",
            *PERIOD,
            "--database-url",
            db.url,
        ],
    )
    assert result.exit_code == 2
    assert "does not exist" in result.output
