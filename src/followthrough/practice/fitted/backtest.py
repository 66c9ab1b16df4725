"""Back-test: fit on the months up to a cut-off, simulate the months after it, and compare each
team's mean hours to accept and to resolve with what happened."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from followthrough.practice.fitted.fit import (
    Fit,
    build_scenario,
    fit,
    history_name,
    observed,
    simulated,
)
from followthrough.practice.fitted.history import read_history
from followthrough.practice.sim.replications import run_replications


@dataclass(frozen=True, slots=True)
class TeamCheck:
    """One team's held-out months: what happened beside what the fitted simulation said."""

    team_id: int
    team: str
    resolved: int
    accept_hours: float
    simulated_accept_hours: float
    resolve_hours: float
    simulated_resolve_hours: float

    @property
    def accept_error(self) -> float:
        """Relative error, simulated / observed - 1."""
        return _relative(self.simulated_accept_hours, self.accept_hours)

    @property
    def resolve_error(self) -> float:
        return _relative(self.simulated_resolve_hours, self.resolve_hours)


def _relative(simulated: float, observed: float) -> float:
    return simulated / observed - 1.0 if observed > 0 else 0.0


@dataclass(frozen=True, slots=True)
class Backtest:
    since: datetime
    cut_off: datetime
    until: datetime
    fit: Fit
    teams: tuple[TeamCheck, ...]


def backtest(
    session: Session,
    since: datetime,
    cut_off: datetime,
    until: datetime,
    *,
    replications: int = 8,
    seed: int = 0,
) -> Backtest:
    """Fit on [since, cut_off), simulate [cut_off, until) and compare per team.

    The held-out months' arrivals are not told to the simulation: it runs the fitted rates."""
    fitted = fit(read_history(session, since, cut_off), seed=seed)
    held_out = read_history(session, cut_off, until)
    scenario = build_scenario(
        fitted.history,
        fitted.accept_working_hours,
        fitted.work_hours,
        days=max(1, round(held_out.days)),
        period=(cut_off, until),
    )
    summary = run_replications(scenario, replications, seed + 1)
    got = simulated(summary.estimates, scenario)
    want = observed(held_out)
    resolved = {t.team_id: t.resolved for t in held_out.teams}
    checks = tuple(
        TeamCheck(
            team_id=team_id,
            team=history_name(held_out, team_id),
            resolved=resolved.get(team_id, 0),
            accept_hours=want.accept_hours[team_id],
            simulated_accept_hours=got.accept_hours.get(team_id, 0.0),
            resolve_hours=want.resolve_hours[team_id],
            simulated_resolve_hours=got.resolve_hours.get(team_id, 0.0),
        )
        for team_id in want.resolve_hours
        if team_id in got.accept_hours
    )
    return Backtest(since, cut_off, until, fitted, checks)
