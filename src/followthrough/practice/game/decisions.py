"""What a team decides each round, what it costs, and whether it fits the budget."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from followthrough.errors import InvalidInput
from followthrough.practice.sim.scenario import Scenario


class Theme(StrEnum):
    """The five training themes."""

    WHY_SERVICE_EXCELLENCE = "why_service_excellence"
    COMMUNICATION_SKILLS = "communication_skills"
    FEEDBACK_SKILLS = "feedback_skills"
    EMOTIONAL_INTELLIGENCE = "emotional_intelligence"
    SERVICE_EXCELLENCE_REVIEWS = "service_excellence_reviews"


class Targets(StrEnum):
    """How people are measured: what and how (balanced) or numbers only."""

    BALANCED = "balanced"
    QUANTITATIVE = "quantitative"


@dataclass(frozen=True, slots=True)
class Policies:
    """Rules a team sets for the whole company for the round."""

    handoffs_must_be_accepted: bool = False
    update_every_hours: float | None = None  # None keeps each journey's own cadence
    promise_discipline: bool = False
    targets: Targets = Targets.QUANTITATIVE


@dataclass(frozen=True, slots=True)
class Decisions:
    """One team's choices for one round. Money is in the scenario's currency."""

    training: Mapping[Theme, float] = field(default_factory=dict)
    buddy_system: bool = False
    job_shadowing: bool = False
    lunch_and_learn_sessions: int = 0
    recognition: float = 0.0
    staffing: Mapping[str, int] = field(default_factory=dict)  # department id -> staff
    policies: Policies = Policies()


@dataclass(frozen=True, slots=True)
class Prices:
    """What the non-training choices cost per round; the facilitator may change them."""

    buddy_system: float = 15_000.0
    job_shadowing: float = 20_000.0
    lunch_and_learn_session: float = 1_500.0
    max_lunch_and_learn_sessions: int = 12
    # The simulation's leaving and update events grow with the staff and with 1 / cadence: a
    # department of 10^9 people, or updates every 10^-300 hours, never finishes a round. A
    # department may grow to this many people, or to ten times its staff where that is more.
    max_staff: int = 1_000
    update_hours: tuple[float, float] = (1.0, 8760.0)


def round_cost(decisions: Decisions, prices: Prices) -> float:
    """Money the decisions take out of the round's budget (extra staff are paid as salaries)."""
    return (
        sum(decisions.training.values())
        + (prices.buddy_system if decisions.buddy_system else 0.0)
        + (prices.job_shadowing if decisions.job_shadowing else 0.0)
        + decisions.lunch_and_learn_sessions * prices.lunch_and_learn_session
        + decisions.recognition
    )


@dataclass(frozen=True, slots=True)
class DecisionProblem:
    """One reason a set of decisions cannot be played, and the field it is about.

    Fields are named as a form would name them: `training.communication_skills`,
    `staffing.claims`, `policies.update_every_hours`, `budget`.
    """

    field: str
    message: str


def decision_field_problems(
    decisions: Decisions, scenario: Scenario, budget: float, prices: Prices
) -> list[DecisionProblem]:
    """Every reason the decisions cannot be played, each with its field; empty when they can."""
    problems = [
        DecisionProblem(
            f"training.{theme.value}",
            f"training in {theme.value.replace('_', ' ')} cannot be negative",
        )
        for theme, amount in decisions.training.items()
        if not 0 <= amount < math.inf  # also NaN
    ]
    if not 0 <= decisions.recognition < math.inf:
        problems.append(DecisionProblem("recognition", "recognition cannot be negative"))
    if not 0 <= decisions.lunch_and_learn_sessions <= prices.max_lunch_and_learn_sessions:
        problems.append(
            DecisionProblem(
                "lunch_and_learn_sessions",
                f"lunch-and-learn sessions must be between 0 and "
                f"{prices.max_lunch_and_learn_sessions}",
            )
        )
    known = {d.id: d.name for d in scenario.departments}
    largest = {d.id: max(prices.max_staff, 10 * d.staff) for d in scenario.departments}
    for department, staff in decisions.staffing.items():
        if department not in known:
            problems.append(
                DecisionProblem(f"staffing.{department}", f"there is no department {department!r}")
            )
        elif staff < 1:
            problems.append(
                DecisionProblem(
                    f"staffing.{department}", f"{known[department]} needs at least one person"
                )
            )
        elif staff > largest[department]:
            problems.append(
                DecisionProblem(
                    f"staffing.{department}",
                    f"{known[department]} can have at most {largest[department]:,} people",
                )
            )
    cadence = decisions.policies.update_every_hours
    shortest, longest = prices.update_hours
    if cadence is not None and not shortest <= cadence <= longest:  # also NaN
        problems.append(
            DecisionProblem(
                "policies.update_every_hours",
                f"the update cadence must be between {shortest:g} and {longest:g} hours",
            )
        )
    cost = round_cost(decisions, prices)
    if cost > budget:
        problems.append(
            DecisionProblem(
                "budget", f"the decisions cost {cost:,.0f}, more than the budget of {budget:,.0f}"
            )
        )
    return problems


def decision_problems(
    decisions: Decisions, scenario: Scenario, budget: float, prices: Prices
) -> list[str]:
    """Every reason the decisions cannot be played, in plain words; empty when they can."""
    return [p.message for p in decision_field_problems(decisions, scenario, budget, prices)]


class InvalidDecisions(InvalidInput):
    """Decisions that cannot be played; `problems` names the field of each."""

    def __init__(self, problems: list[DecisionProblem]) -> None:
        super().__init__("; ".join(p.message for p in problems), field=problems[0].field)
        self.problems = tuple(problems)


def check_decisions(
    decisions: Decisions, scenario: Scenario, budget: float, prices: Prices
) -> None:
    """Raise `InvalidDecisions` listing every problem with the decisions."""
    problems = decision_field_problems(decisions, scenario, budget, prices)
    if problems:
        raise InvalidDecisions(problems)
