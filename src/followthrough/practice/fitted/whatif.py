"""What-if: a lead tries a change on the fitted company before making it, and sees each team's
hours to accept and to resolve under the change beside the current state, with intervals from
independent replications. Both sides use the same seeds, so the difference is the change's."""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field

from followthrough.errors import InvalidInput
from followthrough.practice.fitted.fit import Fit, build_scenario, modelled_teams, team_of
from followthrough.practice.sim.engine import RunResult
from followthrough.practice.sim.replications import run_replications
from followthrough.practice.sim.scenario import Scenario
from followthrough.practice.sim.stats import Estimate, estimate


@dataclass(frozen=True, slots=True)
class Change:
    """What the lead wants to try. Empty means the current state."""

    # Extra people per team id (negative: fewer).
    extra_people: Mapping[int, int] = field(default_factory=dict)
    # A faster acceptance target per team id: the team's mean hours to accept, in working hours.
    accept_within_hours: Mapping[int, float] = field(default_factory=dict)
    # Bounces kept, as a share of today's (0.5: a programme halves them).
    bounces_kept: float = 1.0


@dataclass(frozen=True, slots=True)
class TeamOutcome:
    team_id: int
    team: str
    accept_now: Estimate
    accept_changed: Estimate
    resolve_now: Estimate
    resolve_changed: Estimate


@dataclass(frozen=True, slots=True)
class WhatIf:
    change: Change
    replications: int
    teams: tuple[TeamOutcome, ...]


def check_change(fitted: Fit, change: Change) -> None:
    """Refuse a change that names no modelled team or makes no sense, naming the field."""
    teams = {t.team_id: t for t in modelled_teams(fitted.history)}
    for team_id, extra in change.extra_people.items():
        if team_id not in teams:
            raise InvalidInput(f"extra_people: no team with requests has the id {team_id}")
        if teams[team_id].staff + extra < 1:
            raise InvalidInput(f"extra_people: team {team_id} would have nobody left")
    for team_id, hours in change.accept_within_hours.items():
        if team_id not in teams:
            raise InvalidInput(f"accept_within_hours: no team with requests has the id {team_id}")
        if not hours > 0:
            raise InvalidInput("accept_within_hours: must be more than 0 hours")
    if not 0.0 <= change.bounces_kept <= 1.0:
        raise InvalidInput("bounces_kept: must be between 0 and 1")


def changed_scenario(fitted: Fit, change: Change) -> Scenario:
    history = fitted.history
    staff = {
        t.team_id: t.staff + change.extra_people.get(t.team_id, 0) for t in modelled_teams(history)
    }
    accept = {
        team_id: min(hours, change.accept_within_hours.get(team_id, hours))
        for team_id, hours in fitted.accept_working_hours.items()
    }
    return build_scenario(
        history, accept, fitted.work_hours, staff=staff, bounce_factor=change.bounces_kept
    )


def per_team(run: RunResult) -> tuple[dict[int, float], dict[int, float]]:
    """One run's mean hours to accept and to resolve per team."""
    accept = {team_of(d.department): d.mean_accept_hours for d in run.departments}
    hours: dict[int, float] = {}
    closed: dict[int, int] = {}
    for journey in run.journeys:
        team = int(journey.journey.rsplit("_", 1)[1])
        hours[team] = hours.get(team, 0.0) + journey.mean_days * 24.0 * journey.cases_closed
        closed[team] = closed.get(team, 0) + journey.cases_closed
    resolve = {t: hours[t] / closed[t] for t in closed if closed[t]}
    return accept, resolve


def what_if(
    fitted: Fit,
    change: Change,
    *,
    replications: int = 10,
    seed: int = 0,
    executor: Executor | None = None,
) -> WhatIf:
    """Run the current state and the change on the same seeds and put them side by side."""
    check_change(fitted, change)
    if replications < 2:
        raise InvalidInput("replications: at least 2 are needed for an interval")
    now = run_replications(fitted.scenario, replications, seed, executor=executor)
    then = run_replications(changed_scenario(fitted, change), replications, seed, executor=executor)
    now_runs = [per_team(run) for run in now.runs]
    then_runs = [per_team(run) for run in then.runs]
    outcomes = []
    for team in modelled_teams(fitted.history):
        tid = team.team_id

        outcomes.append(
            TeamOutcome(
                team_id=tid,
                team=team.name,
                accept_now=_spread(now_runs, 0, tid),
                accept_changed=_spread(then_runs, 0, tid),
                resolve_now=_spread(now_runs, 1, tid),
                resolve_changed=_spread(then_runs, 1, tid),
            )
        )
    return WhatIf(change, replications, tuple(outcomes))


def _spread(
    runs: list[tuple[dict[int, float], dict[int, float]]], which: int, team: int
) -> Estimate:
    # which: 0 for hours to accept, 1 for hours to resolve.
    return estimate([run[which].get(team, 0.0) for run in runs])
