from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from followthrough.cli import app
from tests.practice.roleplay.test_scenario import SMALL

runner = CliRunner()


def test_validate_says_ok_for_a_good_file(tmp_path: Path) -> None:
    path = tmp_path / "good.yaml"
    path.write_text(SMALL)
    result = runner.invoke(app, ["roleplay", "validate", str(path)])
    assert result.exit_code == 0, result.output
    assert "OK (small version 3, 4 steps, 2 endings)" in result.output


def test_validate_exits_2_naming_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(SMALL.replace("start: first", "start: missing"))
    result = runner.invoke(app, ["roleplay", "validate", str(path)])
    assert result.exit_code == 2
    assert f"{path}:9: start: there is no node 'missing'" in result.output


def test_validate_exits_2_on_a_missing_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["roleplay", "validate", str(tmp_path / "none.yaml")])
    assert result.exit_code == 2
    assert "none.yaml:1: cannot read the file" in result.output


def test_the_shipped_scenarios_validate() -> None:
    folder = Path(__file__).parents[3] / "src/followthrough/practice/roleplay/scenarios"
    files = sorted(str(p) for p in folder.glob("*.yaml"))
    assert len(files) >= 4
    result = runner.invoke(app, ["roleplay", "validate", *files])
    assert result.exit_code == 0, result.output


def test_evaluate_reports_each_part_with_precision_and_recall(tmp_path: Path) -> None:
    labelled = tmp_path / "labelled.txt"
    labelled.write_text("D | Not my department.\n- | Fine.\n# @fresh\nD | Talk to finance.\n")
    fresh = tmp_path / "fresh.txt"
    fresh.write_text("O | Leave it with me.\nD | That's one for claims.\n- | OK then.\n")
    result = runner.invoke(
        app, ["roleplay", "evaluate", "--labelled", str(labelled), "--fresh", str(fresh)]
    )
    assert result.exit_code == 0, result.output
    for part in ("held out", "fresh 1, 1 replies", "fresh 2, 3 replies", "fitting"):
        assert part in result.output
    assert "Deflections caught (recall):" in result.output
    assert "fresh 2 100% of 1 (precision 1.00)" in result.output


def test_evaluate_names_the_fresh_file_and_line_of_a_bad_label(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh.txt"
    fresh.write_text("O | Leave it with me.\nQ | What?\n")
    result = runner.invoke(app, ["roleplay", "evaluate", "--fresh", str(fresh)])
    assert result.exit_code == 2
    assert f"{fresh}:2: unknown behaviour code 'Q'" in result.output
