from dataclasses import replace

import pytest

from followthrough.practice.game.decisions import Decisions, Policies, Targets, Theme
from followthrough.practice.game.effects import (
    Effects,
    PublishedCorrelations,
    TeamLevels,
    correlation_adjustment,
    level_steps,
    next_levels,
    scenario_for_round,
    starting_levels,
)
from followthrough.practice.sim.scenario import Scenario, load_scenario

BALANCED = Policies(targets=Targets.BALANCED)
EFFECTS = Effects()


@pytest.fixture(scope="module")
def insurance() -> Scenario:
    return load_scenario("insurance")


def level_after(decisions: Decisions, level: str = "communication", start: float = 0.3) -> float:
    levels = {"team": TeamLevels(start, start, start, start)}
    return getattr(next_levels(levels, decisions, EFFECTS)["team"], level)


def test_communication_training_raises_communication_only() -> None:
    decisions = Decisions(training={Theme.COMMUNICATION_SKILLS: 40_000}, policies=BALANCED)
    steps = level_steps(decisions, EFFECTS)
    assert steps["communication"] > 0
    assert steps["emotional_intelligence"] == 0


def test_training_has_diminishing_returns() -> None:
    def gain(amount: float) -> float:
        decisions = Decisions(training={Theme.COMMUNICATION_SKILLS: amount}, policies=BALANCED)
        return level_after(decisions) - level_after(Decisions(policies=BALANCED))

    assert gain(40_000) - gain(20_000) < gain(20_000) - gain(0)


def test_no_amount_of_spending_makes_a_team_perfect() -> None:
    everything = Decisions(
        training=dict.fromkeys(Theme, 10_000_000.0),
        buddy_system=True,
        job_shadowing=True,
        lunch_and_learn_sessions=12,
        recognition=10_000_000,
        policies=Policies(
            handoffs_must_be_accepted=True, promise_discipline=True, targets=Targets.BALANCED
        ),
    )
    for level in ("ownership", "communication", "emotional_intelligence", "engagement"):
        assert 0.3 < level_after(everything, level) < 1.0


def test_pure_quantitative_targets_wear_engagement_down() -> None:
    assert level_after(Decisions(), "engagement") < 0.3
    assert level_after(Decisions(policies=BALANCED), "engagement") > 0.3


def test_requiring_acceptance_raises_ownership() -> None:
    strict = Decisions(policies=Policies(handoffs_must_be_accepted=True))
    assert level_after(strict, "ownership") > level_after(Decisions(), "ownership")


def test_round_scenario_carries_levels_staffing_and_cadence(insurance: Scenario) -> None:
    levels = starting_levels(insurance)
    levels["claims"] = TeamLevels(0.9, 0.8, 0.7, 0.6)
    decisions = Decisions(staffing={"claims": 12}, policies=Policies(update_every_hours=24))
    scenario = scenario_for_round(insurance, levels, decisions, EFFECTS)
    claims = scenario.department("claims")
    assert (claims.staff, claims.ownership, claims.emotional_intelligence) == (12, 0.9, 0.7)
    assert {j.update_every_hours for j in scenario.journeys if j.external} == {24}
    assert scenario.department("finance") == insurance.department("finance")


def test_facilitator_turnover_figure_reaches_the_engine(insurance: Scenario) -> None:
    effects = Effects(correlations=PublishedCorrelations(turnover_per_10_points_purpose=-0.2))
    scenario = scenario_for_round(insurance, starting_levels(insurance), Decisions(), effects)
    assert scenario.behaviour.turnover_change_per_10_points == -0.2


def test_default_correlations_are_the_published_figures() -> None:
    published = PublishedCorrelations()
    assert published.turnover_per_10_points_purpose == -0.081
    assert published.profitability_per_10_points_purpose == 0.044
    assert 0.02 <= published.revenue_per_10_points_satisfaction <= 0.07
    assert 0.01 <= published.profitability_per_10_points_satisfaction <= 0.02


def test_correlation_adjustment_follows_ten_point_gains() -> None:
    published = PublishedCorrelations()
    adjustment = correlation_adjustment(1_000_000, 200_000, 0.10, 0.20, published)
    assert adjustment.revenue == pytest.approx(1_000_000 * 0.045)
    assert adjustment.profit == pytest.approx(200_000 * (0.015 + 2 * 0.044))


def test_facilitator_can_switch_the_correlations_off() -> None:
    zero = replace(
        PublishedCorrelations(),
        revenue_per_10_points_satisfaction=0.0,
        profitability_per_10_points_satisfaction=0.0,
        profitability_per_10_points_purpose=0.0,
    )
    adjustment = correlation_adjustment(1_000_000, 200_000, 0.3, 0.3, zero)
    assert (adjustment.revenue, adjustment.profit) == (0.0, 0.0)
