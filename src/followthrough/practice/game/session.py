"""A facilitated session: teams play rounds on one scenario and are compared side by side.

Every team's round runs on the same random numbers (common random numbers), and the engine
keeps a separate stream per department and kind of draw, so differences between teams come from
their decisions, not from luck, and a decision about one department leaves departments it never
touches exactly as they were.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from followthrough.errors import InvalidInput
from followthrough.practice.game.decisions import Decisions, Prices, check_decisions, round_cost
from followthrough.practice.game.effects import (
    Adjustment,
    Effects,
    TeamLevels,
    correlation_adjustment,
    next_levels,
    scenario_for_round,
    starting_levels,
)
from followthrough.practice.sim.engine import RunResult
from followthrough.practice.sim.replications import run_replications
from followthrough.practice.sim.scenario import Scenario

CODE_ALPHABET = "".join(c for c in string.ascii_uppercase + string.digits if c not in "O0I1")


@dataclass(frozen=True, slots=True)
class Team:
    """A team of participants, joining with a short code."""

    name: str
    code: str


@dataclass(frozen=True, slots=True)
class Session:
    """What the facilitator set up: the scenario, teams, rounds, budget and assumptions."""

    scenario: Scenario
    teams: tuple[Team, ...]
    rounds: int
    budget_per_round: float
    seed: int
    replications: int = 3
    effects: Effects = field(default_factory=Effects)
    prices: Prices = field(default_factory=Prices)

    @property
    def days_per_round(self) -> float:
        return self.scenario.days / self.rounds

    def team_by_code(self, code: str) -> Team:
        """The team a join code belongs to (codes are not case-sensitive)."""
        for team in self.teams:
            if team.code == code.strip().upper():
                return team
        raise InvalidInput("no team has this code", field="code")


def create_session(
    scenario: Scenario,
    team_names: Sequence[str],
    rng: np.random.Generator,
    *,
    rounds: int = 4,
    budget_per_round: float = 100_000.0,
    replications: int = 3,
    effects: Effects | None = None,
    prices: Prices | None = None,
) -> Session:
    """A new session with a distinct join code per team and a seed for its rounds."""
    if rounds < 1:
        raise InvalidInput("a session needs at least one round", field="rounds")
    names = [n.strip() for n in team_names]
    if not names or any(not n for n in names) or len(set(names)) != len(names):
        raise InvalidInput("teams need distinct, non-empty names", field="teams")
    codes: set[str] = set()
    while len(codes) < len(names):
        codes.add("".join(rng.choice(list(CODE_ALPHABET), size=5)))
    return Session(
        scenario=scenario,
        teams=tuple(Team(n, c) for n, c in zip(names, sorted(codes), strict=True)),
        rounds=rounds,
        budget_per_round=budget_per_round,
        seed=int(rng.integers(2**31)),
        replications=replications,
        effects=effects or Effects(),
        prices=prices or Prices(),
    )


@dataclass(frozen=True, slots=True)
class TeamState:
    """Where a team stands between rounds: its levels and what it has played so far."""

    team: str
    levels: Mapping[str, TeamLevels]
    rounds: tuple[TeamRound, ...] = ()


def starting_states(session: Session) -> dict[str, TeamState]:
    """Every team at the scenario's starting point, before round 1."""
    levels = starting_levels(session.scenario)
    return {team.name: TeamState(team.name, levels) for team in session.teams}


@dataclass(frozen=True, slots=True)
class TeamRound:
    """One team's results for one round, in the four areas the debrief compares."""

    round: int
    decisions: Decisions
    spent: float
    # Internal service
    mean_accept_hours: float
    bounce_rate: float
    updates_kept: float
    ola_attainment: float
    # External customers
    mean_case_days: float
    satisfaction: float
    promises_kept: float
    churn_rate: float
    complaints: float
    # People
    engagement: float
    turnover_rate: float
    # Money
    revenue: float
    cost: float
    profit: float
    published: Adjustment
    score: float
    events: tuple[str, ...] = field(default=())


def check_round(
    session: Session, states: Mapping[str, TeamState], decisions: Mapping[str, Decisions]
) -> int:
    """The number of the round these decisions play; raises InvalidInput saying why they cannot
    be played (a team has not decided, an entry is over budget, no round is left)."""
    missing = [t.name for t in session.teams if t.name not in decisions]
    if missing:
        raise InvalidInput(f"still waiting for decisions from {', '.join(missing)}")
    for team in session.teams:
        check_decisions(
            decisions[team.name], session.scenario, session.budget_per_round, session.prices
        )
    played = {len(s.rounds) for s in states.values()}
    if len(played) != 1:
        raise InvalidInput("teams are on different rounds")
    number = played.pop() + 1
    if number > session.rounds:
        raise InvalidInput("the session has no rounds left")
    return number


# A round still "being played" after this long was lost with the process that played it (a
# restart, a crash): the facilitator may start it again. The longest round the setup allows (a
# year, ten replications, eight teams on the fitted company) takes a few minutes on a busy machine.
ROUND_GIVEN_UP_AFTER = timedelta(minutes=15)


def round_in_play(playing_round: int | None, since: datetime | None, now: datetime) -> int | None:
    """The round being simulated for the session now, or None: none started, or the one started
    was given up (ROUND_GIVEN_UP_AFTER) and may be started again."""
    if playing_round is None or since is None or now - since >= ROUND_GIVEN_UP_AFTER:
        return None
    return playing_round


def play_round(
    session: Session, states: Mapping[str, TeamState], decisions: Mapping[str, Decisions]
) -> dict[str, TeamState]:
    """Run the next round for every team and return their new states.

    Every team must have decided; decisions are checked against the budget first, so a bad
    entry stops the round before anything runs.
    """
    number = check_round(session, states, decisions)
    baseline = _baseline(session, number)
    new_states = {}
    for team in session.teams:
        state = states[team.name]
        choice = decisions[team.name]
        levels = next_levels(state.levels, choice, session.effects)
        scenario = scenario_for_round(session.scenario, levels, choice, session.effects)
        # Same seed for every team in a round: common random numbers.
        summary = run_replications(
            scenario,
            session.replications,
            seed=session.seed + number,
            days=session.days_per_round,
        )
        result = _team_round(number, choice, session, scenario, summary.runs, levels, baseline)
        new_states[team.name] = TeamState(team.name, levels, (*state.rounds, result))
    return new_states


@dataclass(frozen=True, slots=True)
class _Baseline:
    satisfaction: float
    engagement: float


def _baseline(session: Session, number: int) -> _Baseline:
    # The yardstick for the published correlations: the starting company as the game runs it,
    # on the round's own seed, so a team that changes nothing gains nothing (gains are
    # measured against where everyone began, with the same luck as the teams' round).
    start = starting_levels(session.scenario)
    scenario = scenario_for_round(session.scenario, start, Decisions(), session.effects)
    summary = run_replications(
        scenario, session.replications, seed=session.seed + number, days=session.days_per_round
    )
    return _Baseline(
        satisfaction=summary.estimates["mean_satisfaction"].mean,
        engagement=_mean_engagement(scenario, session.scenario),
    )


def _mean_engagement(scenario: Scenario, start: Scenario) -> float:
    # Weighted by the starting headcount, not the team's: hiring into a department changes
    # how many people it has, not how engaged they are.
    weights = {d.id: d.staff for d in start.departments}
    total = sum(weights.values())
    return sum(d.engagement * weights[d.id] for d in scenario.departments) / total


def _mean(runs: Sequence[RunResult], name: str) -> float:
    return sum(float(getattr(r, name)) for r in runs) / len(runs)


def _team_round(
    number: int,
    decisions: Decisions,
    session: Session,
    scenario: Scenario,
    runs: Sequence[RunResult],
    levels: Mapping[str, TeamLevels],
    baseline: _Baseline,
) -> TeamRound:
    spent = round_cost(decisions, session.prices)
    revenue = _mean(runs, "revenue")
    cost = _mean(runs, "cost") + spent
    satisfaction = _mean(runs, "mean_satisfaction")
    engagement = _mean_engagement(scenario, session.scenario)
    profit = revenue - cost
    published = correlation_adjustment(
        revenue,
        profit,
        satisfaction - baseline.satisfaction,
        engagement - baseline.engagement,
        session.effects.correlations,
    )
    values = {
        "mean_accept_hours": _mean(runs, "mean_accept_hours"),
        "bounce_rate": _mean(runs, "bounce_rate"),
        "updates_kept": _mean(runs, "updates_kept"),
        "ola_attainment": _mean(runs, "ola_attainment"),
        "mean_case_days": _mean(runs, "mean_case_days"),
        "satisfaction": satisfaction,
        "promises_kept": _mean(runs, "promises_kept"),
        "churn_rate": _mean(runs, "churn_rate"),
        "complaints": _mean(runs, "complaints"),
        "engagement": engagement,
        "turnover_rate": _mean(runs, "turnover_rate"),
    }
    score = balanced_score(
        internal=(values["ola_attainment"] + values["updates_kept"] + 1 - values["bounce_rate"])
        / 3,
        customers=(satisfaction + values["promises_kept"]) / 2,
        people=(engagement + 1 - min(1.0, values["turnover_rate"])) / 2,
        margin=profit / revenue if revenue > 0 else 0.0,
    )
    return TeamRound(
        round=number,
        decisions=decisions,
        spent=spent,
        revenue=revenue,
        cost=cost,
        profit=profit,
        published=published,
        score=score,
        events=round_events(scenario, runs),
        **values,
    )


def balanced_score(internal: float, customers: float, people: float, margin: float) -> float:
    """0-100: the four areas weigh the same, so no team wins on money alone.

    Each area is a share between 0 and 1; the profit margin counts from 0 (break-even) to
    0.5 (half of revenue kept), clipped, so a loss scores nothing for money.
    """
    money = min(1.0, max(0.0, margin / 0.5))
    parts = [min(1.0, max(0.0, x)) for x in (internal, customers, people)] + [money]
    return 100.0 * sum(parts) / 4


def round_events(scenario: Scenario, runs: Sequence[RunResult]) -> tuple[str, ...]:
    """What happened, in the users' words, from the first replication (one concrete story)."""
    run = runs[0]
    names = {d.id: d.name for d in scenario.departments}
    told: list[str] = []
    for result in run.departments:
        name = names[result.department].lower()
        if result.complaints:
            told.append(
                f"{_people(result.complaints, 'customer')} complained after a missed call-back "
                f"in {name}"
            )
        if result.errors_reaching_customers:
            told.append(
                f"{_people(result.errors_reaching_customers, 'customer')} received a wrong "
                f"answer that started in {name}"
            )
        if result.leavers:
            told.append(f"{_people(result.leavers, 'person', 'people')} left {name}")
    lost = round(run.customers_lost)
    if lost:
        told.append(f"{_people(lost, 'customer')} did not renew")
    return tuple(told)


def _people(count: int, one: str, many: str | None = None) -> str:
    return f"1 {one}" if count == 1 else f"{count} {many or one + 's'}"


@dataclass(frozen=True, slots=True)
class Standing:
    """One line of the leaderboard."""

    place: int
    team: str
    score: float
    profit: float


def leaderboard(states: Mapping[str, TeamState]) -> list[Standing]:
    """Teams by their mean balanced score over the rounds played; ties share a place."""
    scored = sorted(
        (
            (sum(r.score for r in s.rounds) / len(s.rounds), sum(r.profit for r in s.rounds), name)
            for name, s in states.items()
            if s.rounds
        ),
        key=lambda row: (-row[0], row[2]),
    )
    standings: list[Standing] = []
    for index, (score, profit, name) in enumerate(scored):
        tied = standings and abs(standings[-1].score - score) < 1e-9
        place = standings[-1].place if tied else index + 1
        standings.append(Standing(place, name, score, profit))
    return standings
