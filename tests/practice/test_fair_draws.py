"""Fair game draws: every department and kind of draw has its own random stream, so a decision
about one department leaves every department it never touches exactly as it was, and the
figures around the draws (the published yardstick, engagement, vacancies, open cases, warm-up,
one replication) say what they mean."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pytest
from typer.testing import CliRunner

from followthrough.practice.cli import sim_app
from followthrough.practice.game.decisions import Decisions
from followthrough.practice.game.effects import Adjustment, Effects
from followthrough.practice.game.session import (
    TeamState,
    create_session,
    play_round,
    starting_states,
)
from followthrough.practice.sim.draws import Streams
from followthrough.practice.sim.engine import RunResult, simulate
from followthrough.practice.sim.queueing import simulate_mmc
from followthrough.practice.sim.replications import run_replications
from followthrough.practice.sim.scenario import Scenario, load_scenario, parse_scenario

SEEDS = (3, 17)


def two_desks() -> Scenario:
    """A front line owning two kinds of case: refunds through finance, tickets through IT."""
    return parse_scenario(
        """
name = "Two desks"
days = 60
[customers]
base = 5000
revenue_per_year = 100.0
[[departments]]
id = "front"
name = "Front line"
staff = 3
[[departments]]
id = "finance"
name = "Finance"
staff = 2
ownership = 0.4
[[departments]]
id = "it"
name = "IT"
staff = 2
[[services]]
id = "pay"
name = "Pay"
department = "finance"
hours = 1.0
error_rate = 0.1
target_hours = 16
[[services]]
id = "check_payment"
name = "Check a payment"
department = "finance"
hours = 0.5
[[services]]
id = "diagnose"
name = "Diagnose"
department = "it"
hours = 1.0
error_rate = 0.1
target_hours = 16
[[services]]
id = "fix"
name = "Fix"
department = "it"
hours = 1.5
[[journeys]]
id = "refund"
name = "Refund"
per_day = 6
owner = "front"
update_every_hours = 16
[[journeys.steps]]
service = "pay"
[[journeys.steps]]
service = "check_payment"
[[journeys]]
id = "ticket"
name = "Ticket"
per_day = 5
owner = "front"
update_every_hours = 16
[[journeys.steps]]
service = "diagnose"
[[journeys.steps]]
service = "fix"
""",
        "two_desks.toml",
    )


def departments_of(scenario: Scenario, journey_id: str) -> set[str]:
    """The departments whose queues a journey's requests pass through."""
    service_department = {s.id: s.department for s in scenario.services}
    journey = next(j for j in scenario.journeys if j.id == journey_id)
    touched = {
        service_department[service]
        for step in journey.steps
        for service in (step.service, *step.sub_requests)
    }
    if journey.external and journey.update_every_hours and scenario.complaint_service:
        touched.add(service_department[scenario.complaint_service])
    return touched


def reach_of(scenario: Scenario, department: str) -> tuple[set[str], set[str]]:
    """The journeys and departments a staffing change in `department` can reach.

    Work queues link departments that serve the same journey; a journey owner only counts
    the missed updates and complaints of its journeys, so it is reached but links nothing.
    """
    linked = {department}
    changed = True
    while changed:
        changed = False
        for journey in scenario.journeys:
            touched = departments_of(scenario, journey.id)
            if touched & linked and not touched <= linked:
                linked |= touched
                changed = True
    journeys = {j.id for j in scenario.journeys if departments_of(scenario, j.id) & linked}
    owners = {j.owner for j in scenario.journeys if j.id in journeys}
    return journeys, linked | owners


def unrelated_figures(
    result: RunResult, journeys: Iterable[str], departments: Iterable[str]
) -> dict[str, float]:
    prefixes = tuple(f"journeys.{j}." for j in journeys) + tuple(
        f"departments.{d}." for d in departments
    )
    return {name: value for name, value in result.figures().items() if name.startswith(prefixes)}


def staffing_cases() -> list[tuple[str, str]]:
    return [
        (scenario, department.id)
        for scenario, loaded in (
            ("insurance", load_scenario("insurance")),
            ("two_desks", two_desks()),
        )
        for department in loaded.departments
    ]


def scenario_named(name: str) -> Scenario:
    if name == "two_desks":
        return two_desks()
    return load_scenario(name).model_copy(update={"days": 60})


@pytest.mark.parametrize(("scenario_name", "department"), staffing_cases())
def test_a_staffing_decision_leaves_every_unrelated_department_unchanged(
    scenario_name: str, department: str
) -> None:
    scenario = scenario_named(scenario_name)
    reached_journeys, reached_departments = reach_of(scenario, department)
    other_journeys = {j.id for j in scenario.journeys} - reached_journeys
    other_departments = {d.id for d in scenario.departments} - reached_departments
    staff = scenario.department(department).staff
    hired = scenario.with_department(department, staff=staff + 2)
    for seed in SEEDS:
        before = simulate(scenario, np.random.default_rng(seed))
        after = simulate(hired, np.random.default_rng(seed))
        assert unrelated_figures(after, other_journeys, other_departments) == unrelated_figures(
            before, other_journeys, other_departments
        )
        assert after != before  # the change did something (its staff cost at least)


def test_the_insurer_has_it_tickets_that_never_touch_finance() -> None:
    # The example of the issue: IT ticket times must not move when finance staff changes.
    insurance = load_scenario("insurance")
    journeys, departments = reach_of(insurance, "finance")
    assert "it_ticket" not in journeys
    assert "it" not in departments
    journeys, departments = reach_of(two_desks(), "finance")
    assert journeys == {"refund"}
    assert departments == {"finance", "front"}


def test_a_keyed_stream_gives_the_same_numbers_whatever_was_asked_for_first() -> None:
    root = np.random.SeedSequence(5)
    first = Streams(root)
    second = Streams(root)
    second.generator("finance", "accept").random(10)  # asked for another key first
    assert (
        first.generator("it", "work", "fix").random(5).tolist()
        == second.generator("it", "work", "fix").random(5).tolist()
    )
    assert (
        first.generator("it", "work").random(5).tolist()
        != first.generator("it", "accept").random(5).tolist()
    )


@pytest.fixture(scope="module")
def still_and_hiring() -> tuple[Scenario, dict[str, TeamState]]:
    scenario = load_scenario("insurance").model_copy(update={"days": 40})
    # Without the drift of number-only targets, Decisions() leaves the company as it began.
    still = Effects(quantitative_targets_drift=0.0)
    session = create_session(
        scenario,
        ["Still", "Hiring"],
        np.random.default_rng(8),
        rounds=2,
        replications=2,
        effects=still,
    )
    hiring = Decisions(staffing={"policy_admin": 12, "underwriting": 5})
    states = play_round(session, starting_states(session), {"Still": Decisions(), "Hiring": hiring})
    return scenario, states


def starting_engagement(scenario: Scenario) -> float:
    staff = sum(d.staff for d in scenario.departments)
    return sum(d.engagement * d.staff for d in scenario.departments) / staff


def test_a_team_that_changes_nothing_gets_no_published_adjustment(
    still_and_hiring: tuple[Scenario, dict[str, TeamState]],
) -> None:
    scenario, states = still_and_hiring
    unchanged = states["Still"].rounds[0]
    assert unchanged.published == Adjustment(revenue=0.0, profit=0.0)
    assert unchanged.engagement == pytest.approx(starting_engagement(scenario))


def test_hiring_alone_does_not_move_engagement(
    still_and_hiring: tuple[Scenario, dict[str, TeamState]],
) -> None:
    # Policy admin's engagement (0.45) is below the company's: more people there change the
    # headcount, not how engaged anyone is.
    scenario, states = still_and_hiring
    assert states["Hiring"].rounds[0].engagement == pytest.approx(starting_engagement(scenario))


def one_desk(
    staff: int, vacancy_days: float, internal: bool = False, hours: float = 0.5
) -> Scenario:
    return parse_scenario(
        f"""
name = "One desk"
days = 3650
[customers]
base = 100
revenue_per_year = 10.0
[behaviour]
turnover_per_year = 1.0
reference_engagement = 0.6
vacancy_days = {vacancy_days}
[[departments]]
id = "desk"
name = "Desk"
staff = {staff}
engagement = 0.6
[[services]]
id = "answer"
name = "Answer"
department = "desk"
hours = {hours}
[[journeys]]
id = "question"
name = "Question"
per_day = 0.2
owner = "desk"
external = {str(not internal).lower()}
[[journeys.steps]]
service = "answer"
""",
        "one_desk.toml",
    )


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_an_empty_place_cannot_leave_again(seed: int) -> None:
    # One person, who leaves about once a year, and a place never filled within ten years:
    # after they have gone nobody is left to leave.
    result = simulate(one_desk(staff=1, vacancy_days=10_000), np.random.default_rng(seed))
    assert result.leavers == 1


def test_leavers_come_at_the_turnover_rate_of_the_people_present() -> None:
    # Places filled again at once: two people, each leaving once a year on average, over ten
    # years, twenty replications: about 2 * 10 leavers a run (Poisson, sd about 4.5).
    summary = run_replications(one_desk(staff=2, vacancy_days=0.01), 20, seed=9)
    leavers = summary.estimates["leavers"]
    assert abs(leavers.mean - 20.0) < 3.0


def test_open_cases_at_the_end_count_only_external_customers() -> None:
    # Internal questions that take a year of work each: most are still open at the end.
    scenario = one_desk(staff=1, vacancy_days=10_000, internal=True, hours=2_000.0)
    result = simulate(scenario.model_copy(update={"days": 200}), np.random.default_rng(1))
    assert result.journeys[0].open_at_end > 0
    assert result.cases_closed == 0
    assert result.cases_open_at_end == 0


def test_open_cases_at_the_end_add_up_over_external_journeys() -> None:
    insurance = load_scenario("insurance")
    result = simulate(insurance, np.random.default_rng(4), days=30)
    external = {j.id for j in insurance.journeys if j.external}
    assert result.cases_open_at_end == sum(
        j.open_at_end for j in result.journeys if j.journey in external
    )
    assert any(j.open_at_end for j in result.journeys if j.journey not in external)


@pytest.mark.parametrize("warmup", [100, 101])
def test_a_warm_up_that_leaves_no_customer_to_measure_is_refused(warmup: int) -> None:
    with pytest.raises(ValueError, match="warm-up"):
        simulate_mmc(2, 1.0, 1.0, 100, np.random.default_rng(1), warmup_customers=warmup)


def test_one_replication_prints_no_infinite_interval() -> None:
    runner = CliRunner(env={"COLUMNS": "200"})
    result = runner.invoke(
        sim_app, ["run", "insurance", "--replications", "1", "--days", "5", "--seed", "2"]
    )
    assert result.exit_code == 0, result.output
    assert "inf" not in result.output
    assert "needs 2 or more replications" in result.output
    assert math.isinf(
        run_replications(load_scenario("insurance"), 1, days=1).estimates["profit"].half_width
    )
