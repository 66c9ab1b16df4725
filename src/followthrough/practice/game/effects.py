"""How decisions change the company: team levels, staffing, cadence, and published figures.

Every number here is a default the facilitator can change (`Effects`). Investments move a
level part of the way to 1 with diminishing returns: spending `scale` closes about 63% of the
largest step the theme can make, so no amount of money makes a team perfect in one round.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from followthrough.practice.game.decisions import Decisions, Targets, Theme
from followthrough.practice.sim.scenario import Scenario

LEVELS = ("ownership", "communication", "emotional_intelligence", "engagement")

# For each theme, the largest step (share of the gap to 1) it can make on each level.
DEFAULT_THEME_STEPS: Mapping[Theme, Mapping[str, float]] = MappingProxyType(
    {
        Theme.WHY_SERVICE_EXCELLENCE: {"engagement": 0.25, "ownership": 0.10},
        Theme.COMMUNICATION_SKILLS: {"communication": 0.30},
        Theme.FEEDBACK_SKILLS: {"communication": 0.10, "ownership": 0.10, "engagement": 0.05},
        Theme.EMOTIONAL_INTELLIGENCE: {"emotional_intelligence": 0.30},
        Theme.SERVICE_EXCELLENCE_REVIEWS: {"ownership": 0.25},
    }
)


@dataclass(frozen=True, slots=True)
class PublishedCorrelations:
    """Figures from published studies, applied as correlations, not laws (docs/practice.md)."""

    # +10% connection to purpose (engagement +0.10): -8.1% turnover, +4.4% profitability.
    turnover_per_10_points_purpose: float = -0.081
    profitability_per_10_points_purpose: float = 0.044
    # Better customer experience (+0.10 satisfaction): +2-7% revenue, +1-2% profitability.
    revenue_per_10_points_satisfaction: float = 0.045
    profitability_per_10_points_satisfaction: float = 0.015


@dataclass(frozen=True, slots=True)
class Effects:
    """Everything the facilitator may tune about how decisions act."""

    theme_steps: Mapping[Theme, Mapping[str, float]] = field(
        default_factory=lambda: DEFAULT_THEME_STEPS
    )
    spend_scale: float = 40_000.0  # money per theme that closes ~63% of its largest step
    buddy_system: Mapping[str, float] = field(
        default_factory=lambda: {"communication": 0.10, "ownership": 0.05}
    )
    job_shadowing: Mapping[str, float] = field(
        default_factory=lambda: {"communication": 0.08, "ownership": 0.08}
    )
    lunch_and_learn_per_session: Mapping[str, float] = field(
        default_factory=lambda: {"communication": 0.01, "engagement": 0.01}
    )
    recognition_scale: float = 20_000.0
    recognition_step: float = 0.15  # largest step on engagement
    # Requiring acceptance cuts the time handoffs sit; balanced targets lift engagement and
    # ownership, pure numbers lower them (people game the numbers and stop helping).
    handoffs_must_be_accepted: Mapping[str, float] = field(
        default_factory=lambda: {"ownership": 0.15}
    )
    promise_discipline: Mapping[str, float] = field(
        default_factory=lambda: {"ownership": 0.10, "communication": 0.05}
    )
    balanced_targets: Mapping[str, float] = field(
        default_factory=lambda: {"engagement": 0.05, "ownership": 0.05}
    )
    quantitative_targets_drift: float = -0.02  # engagement change per round, absolute
    correlations: PublishedCorrelations = PublishedCorrelations()


@dataclass(frozen=True, slots=True)
class TeamLevels:
    """One department's people-side levels, as a team has shaped them so far."""

    ownership: float
    communication: float
    emotional_intelligence: float
    engagement: float


def starting_levels(scenario: Scenario) -> dict[str, TeamLevels]:
    """Each department's levels as the scenario describes them."""
    return {
        d.id: TeamLevels(d.ownership, d.communication, d.emotional_intelligence, d.engagement)
        for d in scenario.departments
    }


def _towards_one(level: float, step: float) -> float:
    # A step is a share of the remaining gap; negative steps move towards 0 the same way.
    moved = level + (1.0 - level) * step if step >= 0 else level * (1.0 + step)
    return min(1.0, max(0.0, moved))


def _spend_share(amount: float, scale: float) -> float:
    return 1.0 - math.exp(-max(0.0, amount) / scale)


def level_steps(decisions: Decisions, effects: Effects) -> dict[str, float]:
    """The step each level takes this round, summed over all decisions (company-wide)."""
    steps = dict.fromkeys(LEVELS, 0.0)

    def add(changes: Mapping[str, float], share: float = 1.0) -> None:
        for level, step in changes.items():
            steps[level] += step * share

    for theme, amount in decisions.training.items():
        add(effects.theme_steps.get(theme, {}), _spend_share(amount, effects.spend_scale))
    if decisions.buddy_system:
        add(effects.buddy_system)
    if decisions.job_shadowing:
        add(effects.job_shadowing)
    add(effects.lunch_and_learn_per_session, decisions.lunch_and_learn_sessions)
    steps["engagement"] += effects.recognition_step * _spend_share(
        decisions.recognition, effects.recognition_scale
    )
    policies = decisions.policies
    if policies.handoffs_must_be_accepted:
        add(effects.handoffs_must_be_accepted)
    if policies.promise_discipline:
        add(effects.promise_discipline)
    if policies.targets is Targets.BALANCED:
        add(effects.balanced_targets)
    return {level: min(step, 0.9) for level, step in steps.items()}


def next_levels(
    levels: Mapping[str, TeamLevels], decisions: Decisions, effects: Effects
) -> dict[str, TeamLevels]:
    """Every department's levels after this round's decisions."""
    steps = level_steps(decisions, effects)
    drift = (
        effects.quantitative_targets_drift
        if decisions.policies.targets is Targets.QUANTITATIVE
        else 0.0
    )
    moved = {}
    for department, current in levels.items():
        values = {name: _towards_one(getattr(current, name), steps[name]) for name in LEVELS}
        values["engagement"] = min(1.0, max(0.0, values["engagement"] + drift))
        moved[department] = TeamLevels(**values)
    return moved


def scenario_for_round(
    scenario: Scenario, levels: Mapping[str, TeamLevels], decisions: Decisions, effects: Effects
) -> Scenario:
    """The scenario the engine runs for a team: its levels, staffing, cadence and turnover."""
    departments = tuple(
        d.model_copy(
            update={
                "ownership": levels[d.id].ownership,
                "communication": levels[d.id].communication,
                "emotional_intelligence": levels[d.id].emotional_intelligence,
                "engagement": levels[d.id].engagement,
                "staff": decisions.staffing.get(d.id, d.staff),
            }
        )
        for d in scenario.departments
    )
    cadence = decisions.policies.update_every_hours
    journeys = scenario.journeys
    if cadence is not None:
        journeys = tuple(
            j.model_copy(update={"update_every_hours": cadence}) if j.external else j
            for j in journeys
        )
    behaviour = scenario.behaviour.model_copy(
        update={
            "turnover_change_per_10_points": effects.correlations.turnover_per_10_points_purpose
        }
    )
    return scenario.model_copy(
        update={"departments": departments, "journeys": journeys, "behaviour": behaviour}
    )


@dataclass(frozen=True, slots=True)
class Adjustment:
    """What the published correlations suggest on top of the simulated money."""

    revenue: float
    profit: float


def correlation_adjustment(
    revenue: float,
    profit: float,
    satisfaction_gain: float,
    engagement_gain: float,
    correlations: PublishedCorrelations,
) -> Adjustment:
    """Revenue and profit changes the published correlations suggest for gains in levels.

    Gains are in levels (0.10 = ten points) over the session's starting point. The revenue
    figure is shown, not added to profit: the studies report revenue and profitability as
    separate correlations, and adding both would count the same effect twice.
    """
    c = correlations
    satisfaction_steps = satisfaction_gain / 0.10
    engagement_steps = engagement_gain / 0.10
    return Adjustment(
        revenue=revenue * c.revenue_per_10_points_satisfaction * satisfaction_steps,
        profit=abs(profit)
        * (
            c.profitability_per_10_points_satisfaction * satisfaction_steps
            + c.profitability_per_10_points_purpose * engagement_steps
        ),
    )
