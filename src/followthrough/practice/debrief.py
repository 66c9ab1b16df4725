"""What the team pages, the console and the debrief show: figures by area, charts, decisions.

Plain functions over the service's `Board`; the pages and the downloadable report use the
same ones, so the report shows exactly what the console showed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from followthrough.practice.charts import Chart, Series, format_value
from followthrough.practice.game.decisions import Decisions, Prices, Targets, Theme, round_cost
from followthrough.practice.game.session import TeamRound
from followthrough.practice.service import Board, TeamView


@dataclass(frozen=True, slots=True)
class Metric:
    """One figure of a team's round: where it lives on `TeamRound` and how to read it."""

    name: str
    label: str
    unit: str
    higher_is_better: bool = True


AREAS: tuple[tuple[str, str, tuple[Metric, ...]], ...] = (
    (
        "internal",
        "Internal service",
        (
            Metric("mean_accept_hours", "Hours before a handoff is accepted", "h", False),
            Metric("bounce_rate", "Handoffs bounced back", "%", False),
            Metric("updates_kept", "Updates given on time", "%"),
            Metric("ola_attainment", "Internal targets (OLA) met", "%"),
        ),
    ),
    (
        "customers",
        "External customers",
        (
            Metric("mean_case_days", "Days to close a customer case (e.g. a claim)", "d", False),
            Metric("satisfaction", "Customer satisfaction", "%"),
            Metric("promises_kept", "Promised dates kept", "%"),
            Metric("churn_rate", "Customers lost this round", "%", False),
            Metric("complaints", "Complaints", "", False),
        ),
    ),
    (
        "people",
        "People",
        (
            Metric("engagement", "Staff engagement", "%"),
            Metric("turnover_rate", "Staff turnover (yearly rate)", "%", False),
        ),
    ),
    (
        "money",
        "Money",
        (
            Metric("revenue", "Revenue", "money"),
            Metric("cost", "Cost, with this round's spending", "money", False),
            Metric("profit", "Profit", "money"),
        ),
    ),
)
SCORE = Metric("score", "Balanced score (0-100)", "")
SPENT = Metric("spent", "Spent from the budget", "money", False)
# The charts on a team's page and in the debrief, in this order.
CHARTED = (
    SCORE,
    Metric("satisfaction", "Customer satisfaction", "%"),
    Metric("mean_case_days", "Days to close a customer case", "d", False),
    Metric("mean_accept_hours", "Hours before a handoff is accepted", "h", False),
    Metric("updates_kept", "Updates given on time", "%"),
    Metric("engagement", "Staff engagement", "%"),
    Metric("profit", "Profit", "money"),
    SPENT,
)


def value(result: TeamRound, metric: Metric) -> float:
    number: float = getattr(result, metric.name)
    return number


def shown(result: TeamRound, metric: Metric, currency: str) -> str:
    return format_value(value(result, metric), metric.unit, currency)


def change(
    result: TeamRound, before: TeamRound | None, metric: Metric, currency: str
) -> tuple[str, str]:
    """The change since the round before, and whether it is "better", "worse" or "same"."""
    if before is None:
        return "", "same"
    delta = value(result, metric) - value(before, metric)
    if abs(delta) < 1e-9:
        return "no change", "same"
    good = (delta > 0) == metric.higher_is_better
    sign = "+" if delta > 0 else "\u2212"
    if metric.unit == "%":
        text = f"{sign}{abs(delta) * 100:.1f} pts"
    else:
        text = sign + format_value(abs(delta), metric.unit, currency)
    return text, "better" if good else "worse"


def round_labels(rounds: int) -> tuple[str, ...]:
    return tuple(f"Round {n}" for n in range(1, rounds + 1))


def team_charts(team: TeamView, currency: str) -> list[Chart]:
    """One team's figures across the rounds it has played."""
    labels = round_labels(len(team.rounds))
    return [
        Chart(
            metric.label,
            labels,
            (Series(team.name, tuple(value(r, metric) for r in team.rounds)),),
            metric.unit,
            currency,
        )
        for metric in CHARTED
    ]


def board_charts(board: Board) -> list[Chart]:
    """Every team side by side across the rounds played, one chart per figure."""
    played = board.game.rounds_played
    labels = round_labels(played)
    currency = board.scenario.currency
    charts = []
    for metric in CHARTED:
        series = tuple(
            Series(
                team.name,
                tuple(
                    value(team.rounds[n], metric) if n < len(team.rounds) else None
                    for n in range(played)
                ),
            )
            for team in board.teams
        )
        charts.append(Chart(metric.label, labels, series, metric.unit, currency))
    return charts


THEME_LABELS = {
    Theme.WHY_SERVICE_EXCELLENCE: "Why service excellence matters",
    Theme.COMMUNICATION_SKILLS: "Communication skills",
    Theme.FEEDBACK_SKILLS: "Feedback skills",
    Theme.EMOTIONAL_INTELLIGENCE: "Emotional intelligence",
    Theme.SERVICE_EXCELLENCE_REVIEWS: "Service excellence reviews",
}


def decision_summary(decisions: Decisions, prices: Prices, currency: str) -> list[str]:
    """The decisions in a few words each, for the debrief's side-by-side table."""
    said = [
        f"{THEME_LABELS[theme]} {format_value(amount, 'money', currency)}"
        for theme, amount in decisions.training.items()
        if amount > 0
    ]
    if decisions.buddy_system:
        said.append("buddy system")
    if decisions.job_shadowing:
        said.append("job shadowing")
    if decisions.lunch_and_learn_sessions:
        said.append(f"{decisions.lunch_and_learn_sessions} lunch-and-learn sessions")
    if decisions.recognition:
        said.append(f"recognition {format_value(decisions.recognition, 'money', currency)}")
    policies = decisions.policies
    if policies.handoffs_must_be_accepted:
        said.append("handoffs must be accepted")
    if policies.promise_discipline:
        said.append("promise discipline")
    if policies.update_every_hours:
        said.append(f"update every {policies.update_every_hours:g} h")
    said.append(
        "balanced targets" if policies.targets is Targets.BALANCED else "numbers-only targets"
    )
    said.append(f"spent {format_value(round_cost(decisions, prices), 'money', currency)}")
    return said


def staffing_changes(decisions: Decisions, board: Board) -> list[str]:
    """Departments whose staffing the team changed from the scenario's."""
    return [
        f"{d.name} {decisions.staffing[d.id]} (from {d.staff})"
        for d in board.scenario.departments
        if decisions.staffing.get(d.id, d.staff) != d.staff
    ]


def best_and_worst(board: Board, metric: Metric) -> tuple[Sequence[str], Sequence[str]]:
    """The teams with the best and the worst latest value of a figure (ties included)."""
    latest = {t.name: value(t.rounds[-1], metric) for t in board.teams if t.rounds}
    if not latest:
        return (), ()
    top, bottom = max(latest.values()), min(latest.values())
    if not metric.higher_is_better:
        top, bottom = bottom, top
    return (
        [name for name, v in latest.items() if v == top],
        [name for name, v in latest.items() if v == bottom],
    )
