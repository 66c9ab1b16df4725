from pathlib import Path

import pytest

from followthrough.errors import InvalidInput
from followthrough.practice.sim.scenario import (
    InvalidScenario,
    key_lines,
    load_scenario,
    parse_scenario,
    shipped_scenario_path,
)

SMALL = """\
name = "Small firm"

[customers]
base = 100
revenue_per_year = 50.0

[[departments]]
id = "front"
name = "Front desk"
staff = 2

[[departments]]
id = "back"
name = "Back office"
staff = 1

[[services]]
id = "answer"
name = "Answer"
department = "front"
hours = 0.5

[[services]]
id = "process"
name = "Process"
department = "back"
hours = 1.0

[[journeys]]
id = "order"
name = "Order"
per_day = 4
owner = "front"

[[journeys.steps]]
service = "answer"

[[journeys.steps]]
service = "process"
"""


def line_of(text: str, fragment: str, occurrence: int = 1) -> int:
    numbers = [n for n, line in enumerate(text.splitlines(), start=1) if fragment in line]
    return numbers[occurrence - 1]


@pytest.mark.parametrize("name", ["insurance", "professional_services"])
def test_shipped_scenarios_load(name: str) -> None:
    scenario = load_scenario(name)
    assert scenario.departments
    assert shipped_scenario_path(name).is_file()


def test_insurance_has_the_departments_of_the_story() -> None:
    ids = {d.id for d in load_scenario("insurance").departments}
    assert ids == {"claims", "policy_admin", "underwriting", "customer_service", "finance", "it"}


def test_a_valid_scenario_parses() -> None:
    scenario = parse_scenario(SMALL)
    assert [d.id for d in scenario.departments] == ["front", "back"]
    assert scenario.journeys[0].steps[1].service == "process"


def test_a_bad_staff_number_names_file_line_and_field() -> None:
    text = SMALL.replace("staff = 1", "staff = 0")
    with pytest.raises(InvalidScenario) as caught:
        parse_scenario(text, source="small.toml")
    line = line_of(text, "staff = 0")
    assert str(caught.value) == f"small.toml line {line}: departments[1].staff: must be > 0"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("inf", "Input should be a finite number"),
        ("nan", "Input should be a finite number"),
        ("1e308", "must be <= 1000000000"),
        ("-1.0", "must be >= 0"),
    ],
)
def test_a_work_shape_value_that_is_not_a_finite_ratio_names_its_line(
    value: str, message: str
) -> None:
    # An infinite value made the engine's draws NaN (a traceback); two huge ones summed to inf.
    text = SMALL.replace("hours = 1.0", f"hours = 1.0\nshape = [{value}, 1.0]")
    with pytest.raises(InvalidScenario) as caught:
        parse_scenario(text, source="small.toml")
    line = line_of(text, "shape = [")
    assert str(caught.value) == f"small.toml line {line}: services[1].shape[0]: {message}"


def test_an_infinite_number_anywhere_is_refused() -> None:
    text = SMALL.replace("hours = 0.5", "hours = inf")
    with pytest.raises(InvalidScenario, match=r"services\[0\]\.hours: Input should be a finite"):
        parse_scenario(text, source="small.toml")


def test_an_unknown_field_is_reported_where_it_is() -> None:
    text = SMALL.replace("hours = 1.0", "hours = 1.0\nhuors = 2.0")
    with pytest.raises(InvalidScenario) as caught:
        parse_scenario(text, source="small.toml")
    problem = caught.value.problems[0]
    assert problem.field == "services[1].huors"
    assert problem.line == line_of(text, "huors")


def test_a_missing_field_points_at_its_table() -> None:
    text = SMALL.replace("per_day = 4\n", "")
    with pytest.raises(InvalidScenario) as caught:
        parse_scenario(text)
    problem = caught.value.problems[0]
    assert problem.field == "journeys[0].per_day"
    assert problem.message == "missing"
    assert problem.line == line_of(text, "[[journeys]]")


def test_a_step_naming_an_unknown_service_is_an_error() -> None:
    text = SMALL.replace('service = "process"', 'service = "procss"')
    with pytest.raises(InvalidScenario) as caught:
        parse_scenario(text, source="small.toml")
    problem = caught.value.problems[0]
    assert problem.field == "journeys[0].steps[1].service"
    assert problem.line == line_of(text, 'service = "procss"')
    assert "procss" in problem.message


def test_duplicate_ids_and_backwards_hours_are_all_reported() -> None:
    text = SMALL.replace('id = "back"', 'id = "front"').replace(
        "staff = 2", "staff = 2\nopens = 17.0\ncloses = 9.0"
    )
    with pytest.raises(InvalidScenario) as caught:
        parse_scenario(text)
    fields = {p.field for p in caught.value.problems}
    assert {"departments[1].id", "departments[0].closes"} <= fields


def test_broken_toml_reports_its_line() -> None:
    text = SMALL.replace("staff = 2", "staff = = 2")
    with pytest.raises(InvalidScenario) as caught:
        parse_scenario(text, source="small.toml")
    assert caught.value.problems[0].line == line_of(text, "staff = = 2")


def test_invalid_scenario_is_an_invalid_input_error() -> None:
    with pytest.raises(InvalidInput):
        parse_scenario(SMALL.replace("base = 100", "base = -1"))


def test_an_unknown_scenario_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="no scenario file"):
        load_scenario(tmp_path / "missing.toml")


def test_key_lines_follow_arrays_of_tables_and_skip_multiline_text() -> None:
    text = 'a = """\nfake = 1\n"""\n[[x]]\nk = 1\n[[x]]\nk = 2\n[[x.y]]\nz = [\n  1,\n]\nw = 3\n'
    lines = key_lines(text)
    assert ("fake",) not in lines
    assert lines[("x", 1, "k")] == 7
    assert lines[("x", 1, "y", 0, "w")] == 12
