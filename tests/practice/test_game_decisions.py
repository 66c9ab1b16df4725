import pytest

from followthrough.errors import InvalidInput
from followthrough.practice.game.decisions import (
    Decisions,
    Policies,
    Prices,
    Theme,
    check_decisions,
    decision_problems,
    round_cost,
)
from followthrough.practice.sim.scenario import Scenario, load_scenario

PRICES = Prices(buddy_system=10_000, job_shadowing=20_000, lunch_and_learn_session=1_000)


@pytest.fixture(scope="module")
def insurance() -> Scenario:
    return load_scenario("insurance")


def test_round_cost_adds_training_programmes_sessions_and_recognition() -> None:
    decisions = Decisions(
        training={Theme.COMMUNICATION_SKILLS: 5_000, Theme.EMOTIONAL_INTELLIGENCE: 3_000},
        buddy_system=True,
        job_shadowing=True,
        lunch_and_learn_sessions=4,
        recognition=2_000,
    )
    assert round_cost(decisions, PRICES) == 5_000 + 3_000 + 10_000 + 20_000 + 4 * 1_000 + 2_000


def test_doing_nothing_costs_nothing() -> None:
    assert round_cost(Decisions(), PRICES) == 0


def test_decisions_within_budget_have_no_problems(insurance: Scenario) -> None:
    decisions = Decisions(buddy_system=True, staffing={"policy_admin": 9})
    assert decision_problems(decisions, insurance, 10_000, PRICES) == []


def test_spending_over_budget_is_refused(insurance: Scenario) -> None:
    decisions = Decisions(job_shadowing=True)
    problems = decision_problems(decisions, insurance, 19_999, PRICES)
    assert problems == ["the decisions cost 20,000, more than the budget of 19,999"]


def test_every_problem_is_listed(insurance: Scenario) -> None:
    decisions = Decisions(
        training={Theme.FEEDBACK_SKILLS: -1},
        recognition=-5,
        lunch_and_learn_sessions=99,
        staffing={"marketing": 3, "claims": 0},
        policies=Policies(update_every_hours=0),
    )
    problems = decision_problems(decisions, insurance, 1e9, PRICES)
    assert len(problems) == 6
    assert "there is no department 'marketing'" in problems
    assert "Claims needs at least one person" in problems


def test_check_decisions_raises_invalid_input_naming_the_problem(insurance: Scenario) -> None:
    with pytest.raises(InvalidInput, match="more than the budget"):
        check_decisions(Decisions(buddy_system=True), insurance, 0, PRICES)
