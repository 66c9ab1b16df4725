"""Back-test: fit on the months up to a cut-off, simulate the months after it, and compare each
team's mean hours to accept and to resolve with what happened.

What happened is itself a sample: a team with few requests, or a few requests that waited
days, has a held-out mean that another two months could have put 20% elsewhere, and the fit
learnt from a sample of months too. So each comparison carries the 95% margin of both means
together, and a miss is told apart from a miss the months cannot tell from chance."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from statistics import NormalDist

from sqlalchemy.orm import Session

from followthrough.practice.fitted.fit import (
    Fit,
    build_scenario,
    fit,
    observed,
    simulated,
)
from followthrough.practice.fitted.history import History, TeamHistory, read_history
from followthrough.practice.sim.replications import run_replications

# The back-test's yardstick: simulated within this share of what happened.
TOLERANCE = 0.10
# Runs of the held-out months, and of the fit's months per calibration round, on a small
# history: enough that the simulation's own noise (a few percent a run for the teams with long
# tails on the default demo) is small beside the held-out months' (docs/fitted-simulation.md).
REPLICATIONS = 24
FIT_REPLICATIONS = 12
# A team's simulated mean is as steady as the number of requests it averages, whether they come
# from more runs or from busier ones: the runs above were chosen on the default demo, whose
# months hold about 12,900 requests (fit) and 6,100 (held out), so about this many simulated
# requests in all. A larger history needs fewer runs (a million requests: 3 instead of 24).
SIMULATED_REQUESTS = 160_000
MIN_RUNS = 3
_Z95 = NormalDist().inv_cdf(0.975)


class Verdict(StrEnum):
    WITHIN = "within"
    # Outside the tolerance, but by less than the margin chance allows: the months cannot tell.
    CANNOT_TELL = "cannot tell"
    OUTSIDE = "outside"


def margin(sd: float, count: int, mean: float) -> float:
    """The 95% margin of a mean of `count` values, as a share of the mean (inf: unknown)."""
    if count < 2 or not mean > 0:
        return float("inf")
    return _Z95 * sd / math.sqrt(count - 1) / mean


def verdict(error: float, margin: float, tolerance: float = TOLERANCE) -> Verdict:
    """Within the tolerance; outside it even if the error were off by its whole margin; or
    outside, but by less than that margin, so the months cannot tell."""
    if abs(error) <= tolerance:
        return Verdict.WITHIN
    if abs(error) - margin > tolerance:
        return Verdict.OUTSIDE
    return Verdict.CANNOT_TELL


def chance_within(margin: float, tolerance: float = TOLERANCE) -> float:
    """The chance an error is within the tolerance when the fit is exactly right and only
    chance moves it: the error normal about 0, its 95% half-width `margin`."""
    if not math.isfinite(margin):
        return 0.0
    if margin <= 0.0:
        return 1.0
    return 2.0 * NormalDist(0.0, margin / _Z95).cdf(tolerance) - 1.0


def runs_for(requests: int, most: int) -> int:
    """Runs of a period whose history holds `requests` requests: enough to simulate about
    SIMULATED_REQUESTS in all, at least MIN_RUNS (a spread needs a few) and at most `most`."""
    wanted = math.ceil(SIMULATED_REQUESTS / requests) if requests > 0 else most
    return max(min(MIN_RUNS, most), min(most, wanted))


def misses_by_chance(teams: Sequence[TeamCheck]) -> float:
    """How many of the teams an exactly right fit would still leave not within the tolerance
    on these months, on average: many comparisons with wide margins miss somewhere by chance.
    The two times' chances are multiplied: for errors normal together, however correlated,
    that is at most the chance both are within (Sidak's inequality), so this is at most an
    overestimate."""
    return sum(
        1.0 - chance_within(t.accept_margin) * chance_within(t.resolve_margin) for t in teams
    )


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
    # How far each error could be off by chance (95%): the margins of the held-out months'
    # mean and of the fit's months' mean together, as shares.
    accept_margin: float = float("inf")
    resolve_margin: float = float("inf")

    @property
    def accept_error(self) -> float:
        """Relative error, simulated / observed - 1."""
        return _relative(self.simulated_accept_hours, self.accept_hours)

    @property
    def resolve_error(self) -> float:
        return _relative(self.simulated_resolve_hours, self.resolve_hours)

    @property
    def accept_verdict(self) -> Verdict:
        return verdict(self.accept_error, self.accept_margin)

    @property
    def resolve_verdict(self) -> Verdict:
        return verdict(self.resolve_error, self.resolve_margin)

    @property
    def verdict(self) -> Verdict:
        """The worse of the two: within only if both are."""
        order = (Verdict.WITHIN, Verdict.CANNOT_TELL, Verdict.OUTSIDE)
        return max(self.accept_verdict, self.resolve_verdict, key=order.index)


def _relative(simulated: float, observed: float) -> float:
    return simulated / observed - 1.0 if observed > 0 else 0.0


@dataclass(frozen=True, slots=True)
class Backtest:
    since: datetime
    cut_off: datetime
    until: datetime
    fit: Fit
    teams: tuple[TeamCheck, ...]
    # Simulated runs of the held-out months, and of the fit's months per calibration round.
    runs: int = REPLICATIONS
    calibration_runs: int = FIT_REPLICATIONS


def backtest(
    session: Session,
    since: datetime,
    cut_off: datetime,
    until: datetime,
    *,
    replications: int | None = None,
    seed: int = 0,
    calibration_replications: int | None = None,
    changes: Mapping[int, datetime] | None = None,
) -> Backtest:
    """Fit on [since, cut_off), simulate [cut_off, until) and compare per team.

    The held-out months' arrivals are not told to the simulation: it runs the fitted rates.
    `changes` (per team, when the way it works changed) are known to the fit as they would be
    at the cut-off: a team that changed in the fit's months is fitted from its change on.
    Runs (held out, and per calibration round) default to `runs_for` the months' requests."""
    learnt_from = read_history(session, since, cut_off, changes, margins=True)
    calibration_replications = calibration_replications or runs_for(
        requests_in(learnt_from), FIT_REPLICATIONS
    )
    fitted = fit(learnt_from, seed=seed, replications=calibration_replications)
    held_out = read_history(session, cut_off, until, margins=True)
    replications = replications or runs_for(requests_in(held_out), REPLICATIONS)
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
    seen = {t.team_id: t for t in held_out.teams}
    learnt = {t.team_id: t for t in fitted.history.teams}
    checks = tuple(
        _check(
            seen[team_id],
            learnt[team_id],
            got.accept_hours[team_id],
            got.resolve_hours.get(team_id, 0.0),
        )
        for team_id in want.resolve_hours
        if team_id in got.accept_hours
    )
    return Backtest(since, cut_off, until, fitted, checks, replications, calibration_replications)


def requests_in(history: History) -> int:
    """Requests opened in the history's period between its teams."""
    return sum(pair.requests for pair in history.pairs)


def _check(
    team: TeamHistory, fitted_on: TeamHistory, accept_hours: float, resolve_hours: float
) -> TeamCheck:
    return TeamCheck(
        team_id=team.team_id,
        team=team.name,
        resolved=team.resolved,
        accept_hours=team.mean_accept_hours,
        simulated_accept_hours=accept_hours,
        resolve_hours=team.mean_resolve_hours,
        simulated_resolve_hours=resolve_hours,
        accept_margin=math.hypot(_accept_margin(team), _accept_margin(fitted_on)),
        resolve_margin=math.hypot(_resolve_margin(team), _resolve_margin(fitted_on)),
    )


# A mean's margin from its sample of times where it was read (skewed times widen it on the
# side they lean to), else from its standard deviation.
def _accept_margin(team: TeamHistory) -> float:
    if team.accept_mean_margin is not None:
        return team.accept_mean_margin
    return margin(team.sd_accept_hours, team.accepted, team.mean_accept_hours)


def _resolve_margin(team: TeamHistory) -> float:
    if team.resolve_mean_margin is not None:
        return team.resolve_mean_margin
    return margin(team.sd_resolve_hours, team.resolved, team.mean_resolve_hours)
