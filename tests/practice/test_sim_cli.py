from pathlib import Path

from typer.testing import CliRunner

from followthrough.practice.cli import sim_app
from followthrough.practice.sim.scenario import shipped_scenario_path

runner = CliRunner(env={"COLUMNS": "200"})


def test_validate_says_ok_for_a_shipped_scenario() -> None:
    result = runner.invoke(sim_app, ["validate", "insurance"])
    assert result.exit_code == 0
    assert result.output.startswith("OK: Harbour Mutual")


def test_validate_lists_line_and_field_and_fails(tmp_path: Path) -> None:
    text = shipped_scenario_path("insurance").read_text().replace("staff = 7", "staff = 0", 1)
    broken = tmp_path / "broken.toml"
    broken.write_text(text)
    line = next(n for n, row in enumerate(text.splitlines(), 1) if row == "staff = 0")
    result = runner.invoke(sim_app, ["validate", str(broken)])
    assert result.exit_code == 2
    assert f"broken.toml line {line}: departments[2].staff: must be > 0" in result.output


def test_validate_fails_for_a_missing_file(tmp_path: Path) -> None:
    result = runner.invoke(sim_app, ["validate", str(tmp_path / "nowhere.toml")])
    assert result.exit_code == 2
    assert "no scenario file" in result.output


def test_run_prints_means_and_intervals() -> None:
    result = runner.invoke(
        sim_app, ["run", "insurance", "--replications", "3", "--days", "10", "--seed", "4"]
    )
    assert result.exit_code == 0, result.output
    assert "3 replications of 10 days, seed 4" in result.output
    assert "Days to close a case" in result.output
    assert "Policy administration" in result.output


def test_run_with_the_same_seed_prints_the_same_table() -> None:
    arguments = ["run", "professional_services", "--replications", "2", "--days", "10"]
    first = runner.invoke(sim_app, arguments)
    second = runner.invoke(sim_app, arguments)
    table = first.output[first.output.index("Area") :]
    assert table == second.output[second.output.index("Area") :]
